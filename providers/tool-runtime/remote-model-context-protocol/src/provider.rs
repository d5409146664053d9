//! The `ToolRuntimeProvider` over MCP: a group's tools are its server's `tools/list`, each
//! tagged with `metadata.endpoint`; a tool is run with `tools/call` on that endpoint.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::{BuildContext, Error, OutboundPolicy, RequestContext, Result, Tasks};
use lls_api_tool_runtime::{
    ContentItem, ImageSource, InterleavedContent, McpEndpoint, ToolDef, ToolInvocationResult, ToolRuntimeProvider,
};
use rmcp::model::{CallToolResult, RawContent, Tool};
use serde_json::{Map, Value};

use crate::McpConfig;
use crate::client::{McpClient, McpTransport};
use crate::headers::{check_endpoint, headers_for};
use crate::outbound;

/// `remote::model-context-protocol`.
#[derive(Debug)]
pub struct McpProvider {
    provider_id: String,
    client: McpClient,
    list_timeout: Duration,
    /// Which endpoints clients may make this provider connect to (run.yaml `server.outbound`).
    outbound: Arc<OutboundPolicy>,
}

impl McpProvider {
    /// A provider whose background work (closing sessions) runs under `tasks`, under the
    /// default outbound policy (link-local addresses and metadata endpoints refused).
    pub fn new(provider_id: &str, config: &McpConfig, tasks: Tasks) -> Result<Self> {
        Self::with_outbound(provider_id, config, tasks, Arc::new(OutboundPolicy::default()))
    }

    /// A provider that connects only where `outbound` allows.
    pub fn with_outbound(provider_id: &str, config: &McpConfig, tasks: Tasks, outbound: Arc<OutboundPolicy>) -> Result<Self> {
        Ok(McpProvider {
            provider_id: provider_id.to_owned(),
            client: McpClient::new(Duration::from_secs(config.timeout_seconds), tasks, outbound.clone())?,
            list_timeout: Duration::from_secs(config.list_timeout_seconds),
            outbound,
        })
    }

    /// The registry's build function.
    pub async fn build(ctx: BuildContext, config: McpConfig) -> Result<Arc<dyn ToolRuntimeProvider>> {
        Ok(Arc::new(Self::with_outbound(&ctx.provider_id, &config, ctx.tasks.clone(), ctx.outbound.clone())?))
    }

    /// A valid HTTP(S) endpoint the outbound policy allows (see `outbound.rs`), checked before
    /// anything connects.
    async fn check(&self, endpoint: &str) -> Result<()> {
        check_endpoint(endpoint)?;
        outbound::check(&self.outbound, endpoint).await.map_err(|e| self.tag(e))
    }

    /// The transport that worked for `endpoint` within the last hour, if any.
    pub fn remembered_transport(&self, endpoint: &str) -> Option<McpTransport> {
        self.client.remembered(endpoint)
    }

    fn tag(&self, e: Error) -> Error {
        e.with_provider(self.provider_id.clone())
    }
}

/// An MCP tool as 0.3.5 lists it: schemas untouched, the endpoint in `metadata`.
fn tool_def(tool: Tool, tool_group_id: Option<&str>, endpoint: &str) -> ToolDef {
    let mut metadata = Map::new();
    metadata.insert("endpoint".into(), Value::String(endpoint.to_owned()));
    ToolDef {
        toolgroup_id: tool_group_id.map(str::to_owned),
        name: tool.name.into_owned(),
        description: tool.description.map(|d| d.into_owned()),
        input_schema: Some(Arc::unwrap_or_clone(tool.input_schema)),
        output_schema: tool.output_schema.map(Arc::unwrap_or_clone),
        metadata: Some(metadata),
    }
}

/// Text and images become content items; embedded resources, audio and resource links have
/// no 0.3.5 content type and are left out (upstream skips embedded resources too).
/// `error_code` is 1 when the tool reported an error, else 0, as upstream sets it.
fn invocation_result(result: CallToolResult, tool: &str) -> ToolInvocationResult {
    let mut items = Vec::new();
    for content in result.content {
        match content.raw {
            RawContent::Text(t) => items.push(ContentItem::Text { text: t.text }),
            RawContent::Image(i) => items.push(ContentItem::Image { image: ImageSource { url: None, data: Some(i.data) } }),
            other => tracing::warn!(tool, kind = content_kind(&other), "MCP content type not supported; left out"),
        }
    }
    ToolInvocationResult {
        content: Some(InterleavedContent::Items(items)),
        error_message: None,
        error_code: Some(if result.is_error == Some(true) { 1 } else { 0 }),
        metadata: None,
    }
}

fn content_kind(content: &RawContent) -> &'static str {
    match content {
        RawContent::Text(_) => "text",
        RawContent::Image(_) => "image",
        RawContent::Resource(_) => "resource",
        RawContent::Audio(_) => "audio",
        RawContent::ResourceLink(_) => "resource_link",
    }
}

#[async_trait]
impl ToolRuntimeProvider for McpProvider {
    async fn list_runtime_tools(
        &self,
        ctx: &RequestContext,
        tool_group_id: Option<&str>,
        mcp_endpoint: Option<&McpEndpoint>,
    ) -> Result<Vec<ToolDef>> {
        let endpoint = mcp_endpoint
            .map(|e| e.uri.as_str())
            .ok_or_else(|| Error::invalid("mcp_endpoint is required: a model-context-protocol tool group lists its MCP server's tools"))?;
        self.check(endpoint).await?;
        let headers = headers_for(ctx, endpoint)?;
        let tools = self.client.list_tools(endpoint, headers).await.map_err(|e| self.tag(e))?;
        Ok(tools.into_iter().map(|t| tool_def(t, tool_group_id, endpoint)).collect())
    }

    fn list_timeout(&self) -> Duration {
        self.list_timeout
    }

    fn serves_mcp(&self) -> bool {
        true
    }

    async fn check_mcp_endpoint(&self, endpoint: &McpEndpoint) -> Result<()> {
        self.check(&endpoint.uri).await
    }

    async fn invoke_tool(&self, ctx: &RequestContext, tool: &ToolDef, kwargs: Map<String, Value>) -> Result<ToolInvocationResult> {
        let endpoint = tool
            .endpoint()
            .ok_or_else(|| Error::invalid(format!("Tool {} does not have metadata: no MCP endpoint is known for it", tool.name)))?;
        self.check(endpoint).await?;
        let headers = headers_for(ctx, endpoint)?;
        let result = self.client.call_tool(endpoint, headers, &tool.name, kwargs).await.map_err(|e| self.tag(e))?;
        Ok(invocation_result(result, &tool.name))
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::Content;
    use serde_json::json;

    use super::*;

    #[test]
    fn tools_keep_their_schemas_and_name_their_endpoint() {
        let schema = json!({ "type": "object", "$defs": { "A": { "type": "string" } }, "properties": { "a": { "$ref": "#/$defs/A" } } });
        let mut tool = Tool::new("t", "does t", schema.as_object().cloned().unwrap());
        tool.output_schema = Some(Arc::new(json!({ "type": "object" }).as_object().cloned().unwrap()));
        let def = tool_def(tool, Some("mcp::g"), "http://h/sse");
        assert_eq!(
            serde_json::to_value(&def).unwrap(),
            json!({
                "toolgroup_id": "mcp::g", "name": "t", "description": "does t", "input_schema": schema,
                "output_schema": { "type": "object" }, "metadata": { "endpoint": "http://h/sse" },
            })
        );
    }

    #[test]
    fn results_carry_text_and_images_and_flag_errors() {
        let ok = CallToolResult::success(vec![Content::text("hi"), Content::image("aGk=", "image/png")]);
        let r = invocation_result(ok, "t");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({
                "content": [ { "type": "text", "text": "hi" }, { "type": "image", "image": { "url": null, "data": "aGk=" } } ],
                "error_message": null, "error_code": 0, "metadata": null,
            })
        );
        let failed = invocation_result(CallToolResult::error(vec![Content::text("no")]), "t");
        assert_eq!(failed.error_code, Some(1));
        assert!(failed.is_error());
    }

    #[tokio::test]
    async fn missing_or_bad_endpoints_are_client_errors() {
        let p = McpProvider::new("mcp", &McpConfig::default(), Tasks::new()).unwrap();
        let ctx = RequestContext::default();
        let e = p.list_runtime_tools(&ctx, Some("g"), None).await.unwrap_err();
        assert_eq!(e.kind(), lls_api_common::ErrorKind::InvalidRequest);
        let bad = McpEndpoint { uri: "ftp://h/sse".into() };
        assert_eq!(p.list_runtime_tools(&ctx, Some("g"), Some(&bad)).await.unwrap_err().kind(), lls_api_common::ErrorKind::InvalidRequest);
        let e = p.invoke_tool(&ctx, &ToolDef::named("t"), Map::new()).await.unwrap_err();
        assert_eq!(e.kind(), lls_api_common::ErrorKind::InvalidRequest);
        assert!(e.message().contains("does not have metadata"), "{e}");
    }
}
