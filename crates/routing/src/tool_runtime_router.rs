//! The tool runtime router: `ToolRuntime` over the tool groups table. A tool name is resolved
//! to its group's provider, which runs the definition it listed; listings go through the table.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{RequestContext, Result};
use lls_api_tool_runtime::{McpEndpoint, ToolDef, ToolInvocationResult, ToolRuntime};
use serde_json::{Map, Value};

use crate::ToolGroupsTable;

/// What the tool runtime routes and dependent APIs (agents) call.
pub struct ToolRuntimeRouter {
    table: Arc<ToolGroupsTable>,
}

impl ToolRuntimeRouter {
    pub fn new(table: Arc<ToolGroupsTable>) -> Self {
        ToolRuntimeRouter { table }
    }

    pub fn table(&self) -> &Arc<ToolGroupsTable> {
        &self.table
    }
}

#[async_trait]
impl ToolRuntime for ToolRuntimeRouter {
    /// As in 0.3.5, `mcp_endpoint` is not consulted: the registered group knows its endpoint.
    async fn list_runtime_tools(
        &self,
        ctx: &RequestContext,
        tool_group_id: Option<&str>,
        _mcp_endpoint: Option<&McpEndpoint>,
    ) -> Result<Vec<ToolDef>> {
        self.table.list_tools(ctx, tool_group_id).await
    }

    async fn invoke_tool(&self, ctx: &RequestContext, tool_name: &str, kwargs: Map<String, Value>) -> Result<ToolInvocationResult> {
        let (provider, tool) = self.table.resolve_tool(ctx, tool_name).await?;
        provider.invoke_tool(ctx, &tool, kwargs).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use lls_api_common::ErrorKind;
    use lls_api_common::store::{KvStoreRef, StoreResolver};
    use lls_api_tool_runtime::{RegisterToolGroupRequest, ToolRuntimeProvider};
    use lls_registry::ResourceRegistry;
    use lls_storage::Stores;
    use lls_test_support::FakeToolRuntime;
    use serde_json::json;

    use super::*;

    async fn router() -> ToolRuntimeRouter {
        let stores = Stores::in_memory();
        let kv = stores.kv(&KvStoreRef { backend: "kv_default".into(), namespace: "registry".into() }).await.unwrap();
        let registry = Arc::new(ResourceRegistry::open(kv).await.unwrap());
        // Two providers: the router sends each tool to the one serving its group.
        let a: Arc<dyn ToolRuntimeProvider> = Arc::new(FakeToolRuntime::new());
        let b: Arc<dyn ToolRuntimeProvider> = Arc::new(FakeToolRuntime::new());
        let table = ToolGroupsTable::new(registry, BTreeMap::from([("a".to_owned(), a), ("b".to_owned(), b)]));
        ToolRuntimeRouter::new(Arc::new(table))
    }

    #[tokio::test]
    async fn tools_run_by_name_through_their_groups_provider() {
        let r = router().await;
        let ctx = RequestContext::default();
        let register = RegisterToolGroupRequest { toolgroup_id: "builtin::b".into(), provider_id: "b".into(), mcp_endpoint: None, args: None };
        r.table().register(&ctx, register).await.unwrap();
        let tools = r.list_runtime_tools(&ctx, Some("builtin::b"), None).await.unwrap();
        assert!(tools.iter().any(|t| t.name == "echo"));
        let out = r.invoke_tool(&ctx, "echo", json!({ "text": "hi" }).as_object().cloned().unwrap()).await.unwrap();
        assert_eq!(out.content.unwrap().text(), "hi");
        let failed = r.invoke_tool(&ctx, "fail", Map::new()).await.unwrap();
        assert_eq!(failed.error_code, Some(1));
        assert_eq!(r.invoke_tool(&ctx, "missing", Map::new()).await.unwrap_err().kind(), ErrorKind::NotFound);
        // A bad argument is the provider's 400, passed through.
        assert_eq!(r.invoke_tool(&ctx, "echo", Map::new()).await.unwrap_err().kind(), ErrorKind::InvalidRequest);
    }
}
