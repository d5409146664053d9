//! The shared tool runtime conformance suite, run against the in-process MCP server of
//! `lls-testkit` over SSE with a bearer token, as upstream's tests register their servers.
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use lls_api_common::RequestContext;
use lls_api_tool_runtime::{McpEndpoint, ToolGroup};
use lls_testkit::mcp_server::tools::{GREETING, book_flight_schema};
use lls_testkit::tool_runtime_suite::{ToolCallCase, ToolHarness};
use lls_testkit::TestMcpServer;
use lls_tool_runtime_remote_model_context_protocol::{McpConfig, McpProvider, PROVIDER_TYPE};
use serde_json::json;

const TOKEN: &str = "conformance-token";

async fn harness() -> ToolHarness {
    let server = TestMcpServer::builder().token(TOKEN).start().await.expect("MCP server starts");
    let provider = McpProvider::new("model-context-protocol", &McpConfig::default(), lls_api_common::Tasks::new()).expect("provider builds");
    let uri = server.sse_url();
    let data = json!({ "mcp_headers": { &uri: { "Authorization": format!("Bearer {TOKEN}") } } });
    let ctx = RequestContext::new(data.as_object().cloned().unwrap_or_default());
    ToolHarness {
        provider: Arc::new(provider),
        group: ToolGroup::new("mcp::conformance", PROVIDER_TYPE, Some(McpEndpoint { uri }), None),
        ctx,
        call: ToolCallCase::new("greet_everyone", json!({ "url": "https://example.com" }), GREETING),
        schema: ("book_flight".into(), book_flight_schema()),
        failing_tool: Some("always_fails".into()),
        _guard: Box::new(server),
    }
}

lls_testkit::tool_runtime_conformance!(harness());
