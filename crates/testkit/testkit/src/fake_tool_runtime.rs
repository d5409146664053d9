//! A deterministic [`ToolRuntimeProvider`] without network, for the tool groups table, the
//! router and the server's tests. Every group offers `echo`, `add` and `fail`; endpoints
//! say how listing behaves:
//!
//! - a host of `unreachable.invalid` fails as an MCP server that refuses connections (503);
//! - a host of `hang.invalid` never answers (the router's list timeout must end the wait);
//! - a path containing `secure` needs the provider data `fake_tools_token: "secret"` (else 401);
//! - a group id containing `broken` cannot be listed (503).
//!
//! [`FakeToolRuntime::listings`] counts the listings, so callers can check what is cached.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::{Error, ErrorKind, RequestContext, Result};
use lls_api_tool_runtime::{
    InterleavedContent, McpEndpoint, ToolDef, ToolInvocationResult, ToolRuntimeProvider,
};
use serde_json::{Map, Value, json};

/// The provider-data key and value a `secure` endpoint needs.
pub const FAKE_TOOLS_TOKEN: (&str, &str) = ("fake_tools_token", "secret");

/// See the module docs.
#[derive(Debug, Default)]
pub struct FakeToolRuntime {
    listings: AtomicUsize,
    list_timeout: Option<Duration>,
}

impl FakeToolRuntime {
    pub fn new() -> Self {
        Self::default()
    }

    /// A fake whose listings the router gives up on after `limit`.
    pub fn with_list_timeout(limit: Duration) -> Self {
        FakeToolRuntime {
            list_timeout: Some(limit),
            ..Self::default()
        }
    }

    /// How many times tools were listed.
    pub fn listings(&self) -> usize {
        self.listings.load(Ordering::SeqCst)
    }

    /// The tools every group offers, `endpoint` in their metadata when there is one.
    pub fn tools(tool_group_id: Option<&str>, endpoint: Option<&str>) -> Vec<ToolDef> {
        let schema = |v: Value| v.as_object().cloned();
        let metadata = endpoint.map(|e| {
            let mut m = Map::new();
            m.insert("endpoint".into(), e.into());
            m
        });
        let tool = |name: &str, description: &str, input: Value| ToolDef {
            toolgroup_id: tool_group_id.map(str::to_owned),
            name: name.into(),
            description: Some(description.into()),
            input_schema: schema(input),
            output_schema: None,
            metadata: metadata.clone(),
        };
        vec![
            tool(
                "echo",
                "Answers its text.",
                json!({ "type": "object", "properties": { "text": { "type": "string" } }, "required": ["text"] }),
            ),
            tool(
                "add",
                "Adds two numbers.",
                json!({
                    "type": "object",
                    "$defs": { "Number": { "type": "number" } },
                    "properties": { "a": { "$ref": "#/$defs/Number" }, "b": { "$ref": "#/$defs/Number" } },
                    "required": ["a", "b"],
                }),
            ),
            tool(
                "fail",
                "Reports a tool error.",
                json!({ "type": "object", "properties": {} }),
            ),
        ]
    }
}

fn text_result(text: String) -> ToolInvocationResult {
    ToolInvocationResult {
        content: Some(InterleavedContent::Text(text)),
        error_code: Some(0),
        ..Default::default()
    }
}

#[async_trait]
impl ToolRuntimeProvider for FakeToolRuntime {
    async fn list_runtime_tools(
        &self,
        ctx: &RequestContext,
        tool_group_id: Option<&str>,
        mcp_endpoint: Option<&McpEndpoint>,
    ) -> Result<Vec<ToolDef>> {
        self.listings.fetch_add(1, Ordering::SeqCst);
        if let Some(id) = tool_group_id.filter(|id| id.contains("broken")) {
            return Err(Error::new(
                ErrorKind::UpstreamUnavailable,
                format!("the fake group '{id}' is broken"),
            ));
        }
        if let Some(endpoint) = mcp_endpoint {
            let uri = endpoint.uri.as_str();
            if uri.contains("://hang.invalid") {
                std::future::pending::<()>().await;
            }
            if uri.contains("://unreachable.invalid") {
                return Err(Error::new(
                    ErrorKind::UpstreamUnavailable,
                    format!("Failed to connect to MCP server at {uri}: connection refused"),
                ));
            }
            if uri.contains("secure")
                && ctx.provider_data_str(FAKE_TOOLS_TOKEN.0) != Some(FAKE_TOOLS_TOKEN.1)
            {
                return Err(Error::new(
                    ErrorKind::Unauthenticated,
                    format!(
                        "Authentication required: MCP server at {uri} answered 401 Unauthorized"
                    ),
                ));
            }
        }
        Ok(Self::tools(
            tool_group_id,
            mcp_endpoint.map(|e| e.uri.as_str()),
        ))
    }

    fn list_timeout(&self) -> Duration {
        self.list_timeout
            .unwrap_or(lls_api_tool_runtime::DEFAULT_LIST_TIMEOUT)
    }

    async fn invoke_tool(
        &self,
        _ctx: &RequestContext,
        tool: &ToolDef,
        kwargs: Map<String, Value>,
    ) -> Result<ToolInvocationResult> {
        match tool.name.as_str() {
            "echo" => {
                let text = kwargs
                    .get("text")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::invalid("echo needs a string 'text'"))?;
                Ok(text_result(text.to_owned()))
            }
            "add" => match (
                kwargs.get("a").and_then(Value::as_f64),
                kwargs.get("b").and_then(Value::as_f64),
            ) {
                (Some(a), Some(b)) => Ok(text_result((a + b).to_string())),
                _ => Err(Error::invalid("add needs numbers 'a' and 'b'")),
            },
            "fail" => Ok(ToolInvocationResult {
                content: Some(InterleavedContent::Text("the fake tool failed".into())),
                error_code: Some(1),
                ..Default::default()
            }),
            other => Err(Error::not_found(format!("Tool '{other}' not found"))),
        }
    }
}
