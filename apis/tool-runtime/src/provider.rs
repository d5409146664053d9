//! The traits: [`ToolRuntime`] is what clients and other APIs call (the router implements it and
//! resolves a tool name to its group's provider); [`ToolRuntimeProvider`] is what a provider
//! implements, given the group or the tool definition it listed.

use std::time::Duration;

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
    async fn invoke_tool(
        &self,
        ctx: &RequestContext,
        tool_name: &str,
        kwargs: Map<String, Value>,
    ) -> Result<ToolInvocationResult>;

    /// A tool of a registered group, by name (404 when no group the caller may read has it).
    async fn get_tool(&self, ctx: &RequestContext, tool_name: &str) -> Result<ToolDef>;

    /// The tools of the MCP server at `endpoint`, which no group names (the Responses API's
    /// `mcp` tools), through the provider that serves MCP; per-request headers come in
    /// `ctx`'s `mcp_headers` as for groups.
    async fn list_mcp_tools(
        &self,
        ctx: &RequestContext,
        endpoint: &McpEndpoint,
    ) -> Result<Vec<ToolDef>>;

    /// Runs `tool_name` on the MCP server at `endpoint` (see [`ToolRuntime::list_mcp_tools`]).
    async fn invoke_mcp_tool(
        &self,
        ctx: &RequestContext,
        endpoint: &McpEndpoint,
        tool_name: &str,
        kwargs: Map<String, Value>,
    ) -> Result<ToolInvocationResult>;
}

/// How long the router waits for one tool group's listing unless its provider says otherwise:
/// one slow server must not hold up every client's `GET /v1/tools`.
pub const DEFAULT_LIST_TIMEOUT: Duration = Duration::from_secs(10);

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

    /// Checks, without connecting, that a client may register a group at `endpoint` (an MCP
    /// provider asks the server's outbound policy, run.yaml `server.outbound`). The default
    /// accepts every endpoint.
    async fn check_mcp_endpoint(&self, endpoint: &McpEndpoint) -> Result<()> {
        let _ = endpoint;
        Ok(())
    }

    /// Whether this provider speaks MCP to any endpoint (`remote::model-context-protocol`):
    /// the router sends MCP servers that no group names to it.
    fn serves_mcp(&self) -> bool {
        false
    }

    /// The provider as the RAG tool (`rag-tool/insert` and `rag-tool/query`), if it is one.
    fn rag_tool(&self) -> Option<&dyn RagTool> {
        None
    }

    /// The longest the router waits for one group's listing before reporting the group as
    /// failed (504) rather than waiting on it.
    fn list_timeout(&self) -> Duration {
        DEFAULT_LIST_TIMEOUT
    }
}
