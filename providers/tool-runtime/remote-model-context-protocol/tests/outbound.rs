//! The server's outbound policy (run.yaml `server.outbound`): refused endpoints answer 400 before
//! anything connects, at registration, listing and invocation; allowed ones work as before.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lls_api_common::{ErrorKind, OutboundPolicy, RequestContext, Result, Tasks};
use lls_api_tool_runtime::{McpEndpoint, ToolDef, ToolRuntimeProvider};
use lls_testkit::TestMcpServer;
use lls_tool_runtime_remote_model_context_protocol::{McpConfig, McpProvider};
use serde_json::{Map, Value};

fn provider(outbound: OutboundPolicy) -> McpProvider {
    McpProvider::with_outbound("mcp", &McpConfig::default(), Tasks::new(), Arc::new(outbound)).unwrap()
}

fn tool_at(uri: &str) -> ToolDef {
    let mut tool = ToolDef::named("greet_everyone");
    tool.metadata = Some(Map::from_iter([("endpoint".to_owned(), Value::String(uri.to_owned()))]));
    tool
}

/// Registration, listing and invocation at `uri` are all refused with a 400 naming `needle`,
/// at once (nothing waits on a connection).
async fn assert_refused(p: &McpProvider, uri: &str, needles: &[&str]) {
    let started = Instant::now();
    let ctx = RequestContext::default();
    let endpoint = McpEndpoint { uri: uri.into() };
    let results: Vec<Result<()>> = vec![
        p.check_mcp_endpoint(&endpoint).await,
        p.list_runtime_tools(&ctx, Some("mcp::x"), Some(&endpoint)).await.map(drop),
        p.invoke_tool(&ctx, &tool_at(uri), Map::new()).await.map(drop),
    ];
    for result in results {
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
        for needle in needles {
            assert!(e.message().contains(needle), "{needle} not in {e}");
        }
    }
    assert!(started.elapsed() < Duration::from_secs(5), "refusals must not wait on connections");
}

#[tokio::test]
async fn metadata_endpoints_are_refused_by_default_without_connecting() {
    let p = McpProvider::new("mcp", &McpConfig::default(), Tasks::new()).unwrap();
    assert_refused(&p, "http://169.254.169.254/sse", &["169.254.169.254", "server.outbound.allow_link_local"]).await;
    assert_refused(&p, "http://[fe80::1]:8080/sse", &["fe80::1", "server.outbound.allow_link_local"]).await;
    assert_refused(&p, "http://metadata.google.internal/sse", &["metadata.google.internal", "server.outbound.allow_link_local"]).await;
}

#[tokio::test]
async fn names_resolving_to_denied_addresses_are_refused_and_localhost_works_by_default() {
    let server = TestMcpServer::start().await.unwrap();
    let uri = format!("http://localhost:{}/sse", server.addr().port());
    let deny = ["127.0.0.0/8".to_owned(), "::1".to_owned()];
    let strict = provider(OutboundPolicy::new(&[], &deny, false).unwrap());
    assert_refused(&strict, &uri, &["`localhost` (it resolves to", "server.outbound.deny_hosts"]).await;
    // An allow list that does not name the host refuses it too.
    let only = provider(OutboundPolicy::new(&["mcp.example.com".to_owned()], &[], false).unwrap());
    assert_refused(&only, &uri, &["`localhost`", "server.outbound.allow_hosts"]).await;
    assert!(server.hits().is_empty(), "a refused endpoint was contacted: {:?}", server.hits());

    // The default policy, and one allowing localhost by name, reach the same server.
    let ctx = RequestContext::default();
    let endpoint = McpEndpoint { uri: uri.clone() };
    for p in [provider(OutboundPolicy::default()), provider(OutboundPolicy::new(&["localhost".to_owned()], &[], false).unwrap())] {
        p.check_mcp_endpoint(&endpoint).await.unwrap();
        let tools = p.list_runtime_tools(&ctx, Some("mcp::x"), Some(&endpoint)).await.unwrap();
        let greet = tools.iter().find(|t| t.name == "greet_everyone").unwrap();
        let result = p.invoke_tool(&ctx, greet, serde_json::json!({ "url": "x" }).as_object().cloned().unwrap()).await.unwrap();
        assert_eq!(result.error_code, Some(0));
    }
    assert!(!server.hits().is_empty());
}
