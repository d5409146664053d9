//! One slow MCP server must not stall everyone: over HTTP in-process (`oneshot`), with the real
//! `remote::model-context-protocol` provider, a tool group whose endpoint accepts connections
//! and never answers is left out of `GET /v1/tools` after the provider's `list_timeout_seconds`
//! (the other groups are the answer), and is a 504 naming it when asked for by id.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use lls_testkit::TestMcpServer;
use tokio::net::TcpListener;

use crate::support::{app_in_tempdir, get, storage_yaml};

/// A TCP server that accepts every connection and never answers (nor closes).
async fn black_hole() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (format!("http://{addr}/sse"), task)
}

fn run_yaml(dir: &std::path::Path, good: &str, silent: &str) -> String {
    format!(
        r#"
version: 2
image_name: slow-tools-test
apis: [tool_runtime]
providers:
  tool_runtime:
  - provider_id: model-context-protocol
    provider_type: remote::model-context-protocol
    config: {{list_timeout_seconds: 1}}
{storage}registered_resources:
  tool_groups:
  - toolgroup_id: mcp::silent
    provider_id: model-context-protocol
    mcp_endpoint: {{uri: "{silent}"}}
  - toolgroup_id: mcp::good
    provider_id: model-context-protocol
    mcp_endpoint: {{uri: "{good}"}}
server:
  port: 8321
"#,
        storage = storage_yaml(dir)
    )
}

#[tokio::test]
async fn a_server_that_never_answers_costs_one_timeout_and_its_own_group() {
    let mcp = TestMcpServer::builder().sse_only().start().await.unwrap();
    let (silent, hole) = black_hole().await;
    let (app, _dir) = app_in_tempdir(|dir| run_yaml(dir, &mcp.sse_url(), &silent)).await;

    // Several clients at once: each answered after about one list timeout, with the good group.
    let started = Instant::now();
    let (a, b, c) = tokio::join!(
        get(&app, "/v1/tools"),
        get(&app, "/v1/tools"),
        get(&app, "/v1/tools")
    );
    let answers = [a, b, c];
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    for (status, body) in answers {
        assert_eq!(status, StatusCode::OK, "{body}");
        let groups: Vec<&str> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["toolgroup_id"].as_str().unwrap())
            .collect();
        assert!(
            !groups.is_empty() && groups.iter().all(|g| *g == "mcp::good"),
            "{groups:?}"
        );
    }

    // Asked for by id, the silent group is a 504 that names it, in the error shape.
    let started = Instant::now();
    let (status, body) = get(&app, "/v1/tools?toolgroup_id=mcp::silent").await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    let message = body["detail"].as_str().unwrap();
    assert!(
        message.contains("tool group 'mcp::silent' could not be listed within 1s"),
        "{message}"
    );
    assert_eq!(body["error"]["message"], message);
    // The good group alone is unaffected.
    assert_eq!(
        get(&app, "/v1/tools?toolgroup_id=mcp::good").await.0,
        StatusCode::OK
    );
    hole.abort();
}
