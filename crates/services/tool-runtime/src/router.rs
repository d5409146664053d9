//! The tool runtime router: `ToolRuntime` over the tool groups table. A tool name is resolved
//! to its group's provider, which runs the definition it listed; listings go through the table.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{Error, RequestContext, Result};
use lls_api_tool_runtime::{
    INSERT_INTO_MEMORY, KNOWLEDGE_SEARCH, McpEndpoint, RagInsertRequest, RagQueryRequest,
    RagQueryResult, RagTool, ToolDef, ToolInvocationResult, ToolRuntime, ToolRuntimeProvider,
};
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

    async fn invoke_tool(
        &self,
        ctx: &RequestContext,
        tool_name: &str,
        kwargs: Map<String, Value>,
    ) -> Result<ToolInvocationResult> {
        let (provider, tool) = self.table.resolve_tool(ctx, tool_name).await?;
        provider.invoke_tool(ctx, &tool, kwargs).await
    }

    async fn get_tool(&self, ctx: &RequestContext, tool_name: &str) -> Result<ToolDef> {
        self.table
            .resolve_tool(ctx, tool_name)
            .await
            .map(|(_, tool)| tool)
    }

    async fn list_mcp_tools(
        &self,
        ctx: &RequestContext,
        endpoint: &McpEndpoint,
    ) -> Result<Vec<ToolDef>> {
        self.mcp_provider()?
            .list_runtime_tools(ctx, None, Some(endpoint))
            .await
    }

    async fn invoke_mcp_tool(
        &self,
        ctx: &RequestContext,
        endpoint: &McpEndpoint,
        tool_name: &str,
        kwargs: Map<String, Value>,
    ) -> Result<ToolInvocationResult> {
        let mut tool = ToolDef::named(tool_name);
        tool.metadata = Some(Map::from_iter([(
            "endpoint".to_owned(),
            Value::String(endpoint.uri.clone()),
        )]));
        self.mcp_provider()?.invoke_tool(ctx, &tool, kwargs).await
    }
}

impl ToolRuntimeRouter {
    /// The provider that speaks MCP to any endpoint.
    fn mcp_provider(&self) -> Result<&Arc<dyn ToolRuntimeProvider>> {
        self.table.providers().find(|p| p.serves_mcp()).ok_or_else(|| {
            Error::invalid("MCP tools need a remote::model-context-protocol tool_runtime provider in run.yaml")
        })
    }
}

/// The error when the provider serving a RAG tool name is not the RAG tool runtime.
fn not_a_rag_tool(tool: &str) -> Error {
    Error::invalid(format!(
        "the provider serving '{tool}' is not a RAG tool runtime"
    ))
}

/// `rag-tool/insert` and `rag-tool/query`: forwarded to the provider serving
/// `insert_into_memory` and `knowledge_search` (as upstream finds it, by tool name), so the
/// `builtin::rag` tool group must be registered.
#[async_trait]
impl RagTool for ToolRuntimeRouter {
    async fn insert(&self, ctx: &RequestContext, request: RagInsertRequest) -> Result<()> {
        let (provider, _) = self.table.resolve_tool(ctx, INSERT_INTO_MEMORY).await?;
        provider
            .rag_tool()
            .ok_or_else(|| not_a_rag_tool(INSERT_INTO_MEMORY))?
            .insert(ctx, request)
            .await
    }

    async fn query(
        &self,
        ctx: &RequestContext,
        request: RagQueryRequest,
    ) -> Result<RagQueryResult> {
        let (provider, _) = self.table.resolve_tool(ctx, KNOWLEDGE_SEARCH).await?;
        provider
            .rag_tool()
            .ok_or_else(|| not_a_rag_tool(KNOWLEDGE_SEARCH))?
            .query(ctx, request)
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use lls_api_common::ErrorKind;
    use lls_api_common::store::{KvStoreRef, StoreResolver};
    use lls_api_tool_runtime::{RegisterToolGroupRequest, ToolRuntimeProvider};
    use lls_registry::ResourceRegistry;
    use lls_storage::Stores;
    use lls_testkit::FakeToolRuntime;
    use serde_json::json;

    use super::*;

    async fn router() -> ToolRuntimeRouter {
        let stores = Stores::in_memory();
        let kv = stores
            .kv(&KvStoreRef {
                backend: "kv_default".into(),
                namespace: "registry".into(),
            })
            .await
            .unwrap();
        let registry = Arc::new(ResourceRegistry::open(kv).await.unwrap());
        // Two providers: the router sends each tool to the one serving its group.
        let a: Arc<dyn ToolRuntimeProvider> = Arc::new(FakeToolRuntime::new());
        let b: Arc<dyn ToolRuntimeProvider> = Arc::new(FakeToolRuntime::new());
        let table = ToolGroupsTable::new(
            registry,
            BTreeMap::from([("a".to_owned(), a), ("b".to_owned(), b)]),
        );
        ToolRuntimeRouter::new(Arc::new(table))
    }

    #[tokio::test]
    async fn tools_run_by_name_through_their_groups_provider() {
        let r = router().await;
        let ctx = RequestContext::default();
        let register = RegisterToolGroupRequest {
            toolgroup_id: "builtin::b".into(),
            provider_id: "b".into(),
            mcp_endpoint: None,
            args: None,
        };
        r.table().register(&ctx, register).await.unwrap();
        let tools = r
            .list_runtime_tools(&ctx, Some("builtin::b"), None)
            .await
            .unwrap();
        assert!(tools.iter().any(|t| t.name == "echo"));
        let out = r
            .invoke_tool(
                &ctx,
                "echo",
                json!({ "text": "hi" }).as_object().cloned().unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(out.content.unwrap().text(), "hi");
        let failed = r.invoke_tool(&ctx, "fail", Map::new()).await.unwrap();
        assert_eq!(failed.error_code, Some(1));
        assert_eq!(
            r.invoke_tool(&ctx, "missing", Map::new())
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        // A bad argument is the provider's 400, passed through.
        assert_eq!(
            r.invoke_tool(&ctx, "echo", Map::new())
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidRequest
        );
    }

    #[tokio::test]
    async fn rag_routes_need_the_provider_of_knowledge_search() {
        let r = router().await;
        let ctx = RequestContext::default();
        let register = RegisterToolGroupRequest {
            toolgroup_id: "builtin::b".into(),
            provider_id: "b".into(),
            mcp_endpoint: None,
            args: None,
        };
        r.table().register(&ctx, register).await.unwrap();
        let query: RagQueryRequest =
            serde_json::from_value(json!({ "content": "q", "vector_db_ids": ["vs"] })).unwrap();
        assert_eq!(
            RagTool::query(&r, &ctx, query).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        let insert: RagInsertRequest =
            serde_json::from_value(json!({ "documents": [], "vector_db_id": "vs" })).unwrap();
        assert_eq!(
            RagTool::insert(&r, &ctx, insert).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}
