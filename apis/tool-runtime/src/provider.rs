//! The traits: [`ToolRuntime`] is what clients and other APIs call (the router implements it and
//! resolves a tool name to its group's provider); [`ToolRuntimeProvider`] is what a provider
//! implements, given the group or the tool definition it listed.

use async_trait::async_trait;
use lls_api_common::{RequestContext, Result};
use serde_json::{Map, Value};

use crate::{McpEndpoint, RagTool, ToolDef, ToolInvocationResult};

/// The tool runtime API: list tools and run one by name.
#[async_trait]
pub trait ToolRuntime: Send + Sync {
    /// The tools of one tool group, or of every group. `mcp_endpoint` is accepted as 0.3.5's
    /// route accepts it; the router lists registered groups and does not need it.
    async fn list_runtime_tools(
        &self,
        ctx: &RequestContext,
        tool_group_id: Option<&str>,
        mcp_endpoint: Option<&McpEndpoint>,
    ) -> Result<Vec<ToolDef>>;

    /// Runs a tool with keyword arguments.
    async fn invoke_tool(&self, ctx: &RequestContext, tool_name: &str, kwargs: Map<String, Value>)
    -> Result<ToolInvocationResult>;
}

/// A tool runtime provider. The router owns the registry of groups and tools, so a provider is
/// told which group to list and handed back the definition it listed when a tool is run.
#[async_trait]
pub trait ToolRuntimeProvider: Send + Sync {
    /// The tools of the group `tool_group_id`; groups backed by an MCP server pass its endpoint.
    /// Per-request credentials come from `ctx` (e.g. `mcp_headers`).
    async fn list_runtime_tools(
        &self,
        ctx: &RequestContext,
        tool_group_id: Option<&str>,
        mcp_endpoint: Option<&McpEndpoint>,
    ) -> Result<Vec<ToolDef>>;

    /// Runs `tool`, a definition this provider listed (its `metadata` says where it lives).
    async fn invoke_tool(
        &self,
        ctx: &RequestContext,
        tool: &ToolDef,
        kwargs: Map<String, Value>,
    ) -> Result<ToolInvocationResult>;

    /// The provider as the RAG tool (`rag-tool/insert` and `rag-tool/query`), if it is one.
    fn rag_tool(&self) -> Option<&dyn RagTool> {
        None
    }
}
