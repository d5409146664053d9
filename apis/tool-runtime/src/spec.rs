//! [`ToolRuntimeApi`]: the tool runtime's marker for typed registration and dependencies, its
//! `register_provider!`, and the wrapper that sends provider calls through the call layers.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::call::CallStack;
use lls_api_common::{Api, ApiSpec, RequestContext, Result};
use serde_json::{Map, Value};

use crate::{
    McpEndpoint, RagTool, ToolDef, ToolInvocationResult, ToolRuntime, ToolRuntimeProvider,
};

/// The tool runtime API: providers build `dyn ToolRuntimeProvider`; dependents get the
/// router as `dyn ToolRuntime`.
#[derive(Debug)]
pub struct ToolRuntimeApi;

impl ApiSpec for ToolRuntimeApi {
    const API: Api = Api::ToolRuntime;
    type Provider = dyn ToolRuntimeProvider;
    type Service = dyn ToolRuntime;

    fn layer(
        provider: Arc<dyn ToolRuntimeProvider>,
        calls: &CallStack,
    ) -> Arc<dyn ToolRuntimeProvider> {
        Arc::new(Layered {
            inner: provider,
            calls: calls.clone(),
        })
    }
}

/// Registers a tool runtime provider; `build` must return `Arc<dyn ToolRuntimeProvider>`.
#[macro_export]
macro_rules! register_provider {
    ($($body:tt)*) => {
        $crate::__common::__register_provider! { spec: $crate::ToolRuntimeApi, $($body)* }
    };
}

struct Layered {
    inner: Arc<dyn ToolRuntimeProvider>,
    calls: CallStack,
}

#[async_trait]
impl ToolRuntimeProvider for Layered {
    async fn list_runtime_tools(
        &self,
        ctx: &RequestContext,
        tool_group_id: Option<&str>,
        mcp_endpoint: Option<&McpEndpoint>,
    ) -> Result<Vec<ToolDef>> {
        let (group, endpoint) = (tool_group_id.map(str::to_owned), mcp_endpoint.cloned());
        self.calls
            .repeatable("list_runtime_tools", None, || {
                let (inner, ctx, group, endpoint) = (
                    self.inner.clone(),
                    ctx.clone(),
                    group.clone(),
                    endpoint.clone(),
                );
                async move {
                    inner
                        .list_runtime_tools(&ctx, group.as_deref(), endpoint.as_ref())
                        .await
                }
            })
            .await
    }

    async fn invoke_tool(
        &self,
        ctx: &RequestContext,
        tool: &ToolDef,
        kwargs: Map<String, Value>,
    ) -> Result<ToolInvocationResult> {
        let (inner, ctx, tool) = (self.inner.clone(), ctx.clone(), tool.clone());
        self.calls
            .once("invoke_tool", None, async move {
                inner.invoke_tool(&ctx, &tool, kwargs).await
            })
            .await
    }

    async fn check_mcp_endpoint(&self, endpoint: &McpEndpoint) -> Result<()> {
        self.inner.check_mcp_endpoint(endpoint).await
    }

    fn rag_tool(&self) -> Option<&dyn RagTool> {
        self.inner.rag_tool()
    }

    fn serves_mcp(&self) -> bool {
        self.inner.serves_mcp()
    }

    fn list_timeout(&self) -> std::time::Duration {
        self.inner.list_timeout()
    }
}
