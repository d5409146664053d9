//! run.yaml `server.outbound` over HTTP: MCP tool groups at refused hosts (cloud metadata by
//! default, `deny_hosts` by configuration) answer 400 at registration and are not stored, while
//! a localhost MCP server still works.
#![allow(clippy::unwrap_used)]

use axum::http::StatusCode;
use lls_testkit::TestMcpServer;
use serde_json::json;

use crate::support::{app_in_tempdir, get, post, storage_yaml};

fn run_yaml(dir: &std::path::Path, server: &str) -> String {
    format!(
        r#"
version: 2
image_name: outbound-test
apis: [tool_runtime]
providers:
  tool_runtime:
  - provider_id: model-context-protocol
    provider_type: remote::model-context-protocol
    config: {{}}
{storage}server:
  port: 8321
{server}"#,
        storage = storage_yaml(dir)
    )
}

fn group(id: &str, uri: &str) -> serde_json::Value {
    json!({ "toolgroup_id": id, "provider_id": "model-context-protocol", "mcp_endpoint": { "uri": uri } })
}

#[tokio::test]
async fn metadata_endpoints_are_refused_at_registration_by_default() {
    let (app, _dir) = app_in_tempdir(|dir| run_yaml(dir, "")).await;
    for uri in [
        "http://169.254.169.254/sse",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[fd00:ec2::254]/sse",
    ] {
        let (status, body) = post(&app, "/v1/toolgroups", group("mcp::meta", uri)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let text = body.to_string();
        assert!(text.contains("server.outbound.allow_link_local"), "{text}");
    }
    let (status, groups) = get(&app, "/v1/toolgroups").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!groups.to_string().contains("mcp::meta"), "{groups}");

    // A localhost MCP server is allowed.
    let mcp = TestMcpServer::start().await.unwrap();
    let uri = format!("http://localhost:{}/sse", mcp.addr().port());
    let (status, body) = post(&app, "/v1/toolgroups", group("mcp::local", &uri)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, tools) = get(&app, "/v1/tools?toolgroup_id=mcp::local").await;
    assert_eq!(status, StatusCode::OK, "{tools}");
    assert!(tools.to_string().contains("greet_everyone"), "{tools}");
}

#[tokio::test]
async fn deny_hosts_refuses_names_by_the_addresses_they_resolve_to() {
    let server = "  outbound:\n    deny_hosts: [\"127.0.0.0/8\", \"::1\"]\n";
    let (app, _dir) = app_in_tempdir(|dir| run_yaml(dir, server)).await;
    let mcp = TestMcpServer::start().await.unwrap();
    let uri = format!("http://localhost:{}/sse", mcp.addr().port());
    let (status, body) = post(&app, "/v1/toolgroups", group("mcp::local", &uri)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let text = body.to_string();
    assert!(
        text.contains("localhost") && text.contains("server.outbound.deny_hosts"),
        "{text}"
    );
    assert!(mcp.hits().is_empty(), "{:?}", mcp.hits());
}
