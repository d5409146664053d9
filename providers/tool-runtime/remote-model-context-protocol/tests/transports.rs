//! The provider against real MCP servers: transport fallback and memory, credentials from
//! `mcp_headers`, and how unreachable servers, refused credentials and tool errors surface.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used)]

use lls_api_common::{ErrorKind, RequestContext};
use lls_api_tool_runtime::{ContentItem, InterleavedContent, McpEndpoint, ToolDef, ToolRuntimeProvider};
use lls_testkit::TestMcpServer;
use lls_testkit::mcp_server::tools::{self, GREETING, PIXEL_PNG};
use lls_tool_runtime_remote_model_context_protocol::{McpConfig, McpProvider, McpTransport};
use serde_json::{Map, Value, json};

fn provider() -> McpProvider {
    McpProvider::new("mcp", &McpConfig::default(), lls_api_common::Tasks::new()).unwrap()
}

fn with_token(uri: &str, token: &str) -> RequestContext {
    let data = json!({ "mcp_headers": { uri: { "Authorization": format!("Bearer {token}") } } });
    RequestContext::new(data.as_object().cloned().unwrap())
}

fn endpoint(uri: &str) -> McpEndpoint {
    McpEndpoint { uri: uri.into() }
}

async fn list(p: &McpProvider, ctx: &RequestContext, uri: &str) -> lls_api_common::Result<Vec<ToolDef>> {
    p.list_runtime_tools(ctx, Some("mcp::t"), Some(&endpoint(uri))).await
}

fn kwargs(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[tokio::test]
async fn sse_only_servers_are_reached_by_falling_back_and_then_directly() {
    let server = TestMcpServer::builder().sse_only().start().await.unwrap();
    let p = provider();
    let ctx = RequestContext::default();
    let uri = server.sse_url();
    let tools = list(&p, &ctx, &uri).await.unwrap();
    // Every page of the listing, in order.
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    let want: Vec<String> = tools::all().into_iter().map(|t| t.name.into_owned()).collect();
    assert_eq!(names, want);
    assert!(tools.iter().all(|t| t.endpoint() == Some(uri.as_str()) && t.toolgroup_id.as_deref() == Some("mcp::t")));
    // Streamable HTTP was tried first (POST /sse is refused with 405), then SSE worked ...
    assert_eq!(server.count("POST", "/sse"), 1);
    assert_eq!(p.remembered_transport(&uri), Some(McpTransport::Sse));
    // ... and is tried first from now on.
    server.clear_hits();
    let greet = tools.iter().find(|t| t.name == "greet_everyone").unwrap();
    let result = p.invoke_tool(&ctx, greet, kwargs(json!({ "url": "x" }))).await.unwrap();
    assert_eq!(result.content, Some(InterleavedContent::Items(vec![ContentItem::Text { text: GREETING.into() }])));
    assert_eq!((result.error_code, result.error_message), (Some(0), None));
    assert_eq!(server.count("POST", "/sse"), 0);
    assert_eq!(server.count("GET", "/sse"), 1);
}

#[tokio::test]
async fn streamable_http_servers_are_spoken_to_directly() {
    let server = TestMcpServer::builder().streamable_only().start().await.unwrap();
    let p = provider();
    let ctx = RequestContext::default();
    let uri = server.streamable_url();
    let tools = list(&p, &ctx, &uri).await.unwrap();
    assert_eq!(tools.len(), tools::all().len());
    assert_eq!(p.remembered_transport(&uri), Some(McpTransport::StreamableHttp));
    assert!(server.hits().iter().all(|h| h.path.starts_with("/mcp")), "{:?}", server.hits());
    let boiling = tools.iter().find(|t| t.name == "get_boiling_point").unwrap();
    let r = p.invoke_tool(&ctx, boiling, kwargs(json!({ "liquid_name": "myawesomeliquid", "celsius": false }))).await.unwrap();
    assert_eq!(r.content.unwrap().text(), "-212");
}

#[tokio::test]
async fn sessions_are_closed_under_the_providers_supervisor() {
    let server = TestMcpServer::builder().streamable_only().start().await.unwrap();
    let tasks = lls_api_common::Tasks::new();
    let p = McpProvider::new("mcp", &McpConfig::default(), tasks.clone()).unwrap();
    for _ in 0..3 {
        list(&p, &RequestContext::default(), &server.streamable_url()).await.unwrap();
    }
    // Each session is ended in the background by a task of the provider's supervisor, which
    // shutdown waits for (each close is bounded, well within the grace period).
    assert!(tasks.running() <= 3);
    let started = std::time::Instant::now();
    tasks.shutdown(std::time::Duration::from_secs(10)).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(6));
    assert_eq!(tasks.running(), 0);
}

#[tokio::test]
async fn schemas_come_back_untouched() {
    let server = TestMcpServer::builder().page_size(100).start().await.unwrap();
    let tools = list(&provider(), &RequestContext::default(), &server.sse_url()).await.unwrap();
    for want in tools::all() {
        let got = tools.iter().find(|t| t.name == want.name).unwrap();
        assert_eq!(got.input_schema.as_ref(), Some(&*want.input_schema), "{}", want.name);
        assert_eq!(got.output_schema.as_ref(), want.output_schema.as_deref(), "{}", want.name);
        assert_eq!(got.description.as_deref(), want.description.as_deref());
    }
    let weather = tools.iter().find(|t| t.name == "get_weather").unwrap();
    assert!(weather.output_schema.is_some());
}

#[tokio::test]
async fn credentials_come_from_mcp_headers_for_that_endpoint_only() {
    let server = TestMcpServer::builder().token("s3cret").sse_only().start().await.unwrap();
    let p = provider();
    let uri = server.sse_url();
    // No credentials: a 401 naming the endpoint, as soon as the first transport is refused.
    let e = list(&p, &RequestContext::default(), &uri).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert!(e.message().contains("Unauthorized") && e.message().contains(&uri), "{e}");
    assert_eq!(server.hits().len(), 1, "no fallback after a 401: {:?}", server.hits());
    // Credentials for another endpoint do not apply.
    let other = with_token("http://127.0.0.1:1/sse", "s3cret");
    assert_eq!(list(&p, &other, &uri).await.unwrap_err().kind(), ErrorKind::Unauthenticated);
    // The right ones do, on every request of the session.
    server.clear_hits();
    let ctx = with_token(&uri, "s3cret");
    let tools = list(&p, &ctx, &uri).await.unwrap();
    assert!(!tools.is_empty());
    assert!(server.hits().iter().all(|h| h.authorization.as_deref() == Some("Bearer s3cret")), "{:?}", server.hits());
    let pixel = tools.iter().find(|t| t.name == "pixel").unwrap();
    let r = p.invoke_tool(&ctx, pixel, Map::new()).await.unwrap();
    let image = ContentItem::Image { image: lls_api_tool_runtime::ImageSource { url: None, data: Some(PIXEL_PNG.into()) } };
    assert_eq!(r.content, Some(InterleavedContent::Items(vec![image])));
    // A wrong token is refused when calling, too.
    let wrong = with_token(&uri, "nope");
    assert_eq!(p.invoke_tool(&wrong, pixel, Map::new()).await.unwrap_err().kind(), ErrorKind::Unauthenticated);
}

#[tokio::test]
async fn unreachable_servers_are_503_naming_the_endpoint() {
    // Bind and drop a listener so the port is (very likely) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let uri = format!("http://127.0.0.1:{port}/sse");
    let e = list(&provider(), &RequestContext::default(), &uri).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "{e}");
    assert!(e.message().contains(&uri), "{e}");
    assert_eq!(e.provider(), Some("mcp"));
}

#[tokio::test]
async fn tool_errors_and_bad_calls_are_told_apart() {
    let server = TestMcpServer::start().await.unwrap();
    let p = provider();
    let ctx = RequestContext::default();
    let tools = list(&p, &ctx, &server.sse_url()).await.unwrap();
    let fails = tools.iter().find(|t| t.name == "always_fails").unwrap();
    let r = p.invoke_tool(&ctx, fails, Map::new()).await.unwrap();
    assert_eq!(r.error_code, Some(1));
    assert_eq!(r.content.unwrap().text(), tools::FAILURE_TEXT);
    // The server refuses a call with missing arguments: a client error.
    let flexible = tools.iter().find(|t| t.name == "flexible_contact").unwrap();
    let e = p.invoke_tool(&ctx, flexible, Map::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    let r = p.invoke_tool(&ctx, flexible, kwargs(json!({ "contact_info": "a@b.c" }))).await.unwrap();
    assert!(r.content.unwrap().text().contains("email"));
}

#[tokio::test]
async fn a_server_that_is_not_mcp_is_a_bad_gateway() {
    let server = TestMcpServer::start().await.unwrap();
    // A path neither transport serves: both attempts get 404.
    let uri = format!("http://{}/nothing-here", server.addr());
    let e = list(&provider(), &RequestContext::default(), &uri).await.unwrap_err();
    assert_eq!((e.kind(), e.upstream_status()), (ErrorKind::UpstreamError, Some(404)), "{e}");
}
