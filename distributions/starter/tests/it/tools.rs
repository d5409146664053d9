//! Tool groups, tools and the tool runtime over HTTP, tested in-process (`oneshot`) with the
//! real `remote::model-context-protocol` provider against the in-process MCP server of
//! `lls-testkit` (SSE with a bearer token, as upstream's conformance tests run theirs).
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::http::{Method, StatusCode};
use lls_testkit::TestMcpServer;
use lls_testkit::mcp_server::tools::{GREETING, book_flight_schema};
use serde_json::{Value, json};

use crate::support::{app_in_tempdir, json_or_text, send_text, storage_yaml};

const TOKEN: &str = "test-token";

fn run_yaml(dir: &std::path::Path, apis: &str, tool_groups: &str) -> String {
    format!(
        r#"
version: 2
image_name: tools-test
apis: [{apis}]
providers:
  tool_runtime:
  - provider_id: model-context-protocol
    provider_type: remote::model-context-protocol
    config: {{}}
{storage}registered_resources:
  tool_groups: {tool_groups}
server:
  port: 8321
"#,
        storage = storage_yaml(dir)
    )
}

struct App {
    router: Router,
    mcp: TestMcpServer,
    _dir: tempfile::TempDir,
}

impl App {
    async fn start(apis: &str, groups: impl Fn(&TestMcpServer) -> String) -> App {
        let mcp = TestMcpServer::builder()
            .token(TOKEN)
            .sse_only()
            .start()
            .await
            .unwrap();
        let (router, dir) = app_in_tempdir(|dir| run_yaml(dir, apis, &groups(&mcp))).await;
        App {
            router,
            mcp,
            _dir: dir,
        }
    }

    /// The provider-data header that carries the MCP server's token.
    fn auth(&self) -> String {
        json!({ "mcp_headers": { self.mcp.sse_url(): { "Authorization": format!("Bearer {TOKEN}") } } }).to_string()
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        provider_data: Option<&str>,
    ) -> (StatusCode, Value) {
        let headers: Vec<(&str, &str)> = provider_data
            .map(|data| ("x-llamastack-provider-data", data))
            .into_iter()
            .collect();
        let body = body.map(|b| b.to_string());
        let (status, text) = send_text(&self.router, method, path, body.as_deref(), &headers).await;
        (status, json_or_text(text))
    }

    async fn register(&self, id: &str) -> (StatusCode, Value) {
        let body = json!({ "toolgroup_id": id, "provider_id": "model-context-protocol", "mcp_endpoint": { "uri": self.mcp.sse_url() } });
        self.call(Method::POST, "/v1/toolgroups", Some(body), None)
            .await
    }
}

fn names(v: &Value) -> Vec<&str> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn tool_group_lifecycle() {
    let app = App::start("tool_runtime", |_| "[]".into()).await;
    let (s, v) = app.register("mcp::team/docs").await;
    assert_eq!((s, v), (StatusCode::OK, Value::Null));
    let (s, v) = app.call(Method::GET, "/v1/toolgroups", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let group = json!({
        "identifier": "mcp::team/docs",
        "provider_resource_id": "mcp::team/docs",
        "provider_id": "model-context-protocol",
        "type": "tool_group",
        "mcp_endpoint": { "uri": app.mcp.sse_url() },
        "args": null,
    });
    assert_eq!(v, json!({ "data": [group.clone()] }));
    let (s, v) = app
        .call(Method::GET, "/v1/toolgroups/mcp::team/docs", None, None)
        .await;
    assert_eq!((s, v), (StatusCode::OK, group));
    // Registering the same group again is fine; another endpoint under the same id is not.
    assert_eq!(app.register("mcp::team/docs").await.0, StatusCode::OK);
    let other = json!({ "toolgroup_id": "mcp::team/docs", "provider_id": "model-context-protocol", "mcp_endpoint": { "uri": "http://other/sse" } });
    let (s, v) = app
        .call(Method::POST, "/v1/toolgroups", Some(other), None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["detail"].as_str().unwrap().contains("already exists"),
        "{v}"
    );
    let unknown = json!({ "toolgroup_id": "x", "provider_id": "nope" });
    assert_eq!(
        app.call(Method::POST, "/v1/toolgroups", Some(unknown), None)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.call(
            Method::POST,
            "/v1/toolgroups",
            Some(json!({ "provider_id": "p" })),
            None
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );

    let (s, _) = app
        .call(Method::DELETE, "/v1/toolgroups/mcp::team/docs", None, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app
        .call(Method::GET, "/v1/toolgroups/mcp::team/docs", None, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let message = "Tool Group 'mcp::team/docs' not found. Use 'client.toolgroups.list()' to list available Tool Groups.";
    assert_eq!(v["detail"], message);
    let (s, v) = app
        .call(
            Method::GET,
            "/v1/tools?toolgroup_id=mcp::team/docs",
            None,
            None,
        )
        .await;
    assert_eq!(
        (s, v["detail"].as_str()),
        (StatusCode::NOT_FOUND, Some(message))
    );
    assert_eq!(
        app.call(Method::DELETE, "/v1/toolgroups/mcp::team/docs", None, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn tools_are_listed_and_run_with_the_callers_credentials() {
    let app = App::start("tool_runtime", |_| "[]".into()).await;
    app.register("mcp::test").await;
    // Without the token the MCP server refuses: a 401 that says so.
    let (s, v) = app
        .call(Method::GET, "/v1/tools?toolgroup_id=mcp::test", None, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        v["detail"].as_str().unwrap().contains("Unauthorized"),
        "{v}"
    );

    let auth = app.auth();
    let (s, v) = app
        .call(
            Method::GET,
            "/v1/tools?toolgroup_id=mcp::test",
            None,
            Some(&auth),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        names(&v).contains(&"greet_everyone") && names(&v).contains(&"book_flight"),
        "{v}"
    );
    let (s, v) = app
        .call(
            Method::GET,
            "/v1/tool-runtime/list-tools?tool_group_id=mcp::test",
            None,
            Some(&auth),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let flight = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "book_flight")
        .unwrap();
    assert_eq!(
        flight["input_schema"],
        Value::Object(book_flight_schema()),
        "schemas pass through untouched"
    );
    assert_eq!(flight["toolgroup_id"], "mcp::test");
    assert_eq!(flight["metadata"], json!({ "endpoint": app.mcp.sse_url() }));
    // A listed tool can be looked up by name.
    let (s, v) = app
        .call(Method::GET, "/v1/tools/book_flight", None, None)
        .await;
    assert_eq!((s, &v["name"]), (StatusCode::OK, &json!("book_flight")));
    assert_eq!(
        app.call(Method::GET, "/v1/tools/nope", None, None).await.0,
        StatusCode::NOT_FOUND
    );

    let invoke = |tool: &str, kwargs: Value| json!({ "tool_name": tool, "kwargs": kwargs });
    let (s, v) = app
        .call(
            Method::POST,
            "/v1/tool-runtime/invoke",
            Some(invoke("greet_everyone", json!({ "url": "x" }))),
            Some(&auth),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({ "content": [{ "type": "text", "text": GREETING }], "error_message": null, "error_code": 0, "metadata": null })
    );
    // A tool that fails reports it in the result.
    let (s, v) = app
        .call(
            Method::POST,
            "/v1/tool-runtime/invoke",
            Some(invoke("always_fails", json!({}))),
            Some(&auth),
        )
        .await;
    assert_eq!((s, &v["error_code"]), (StatusCode::OK, &json!(1)));
    // Unknown tools, bad bodies and missing credentials are client errors.
    let (s, _) = app
        .call(
            Method::POST,
            "/v1/tool-runtime/invoke",
            Some(invoke("nope", json!({}))),
            Some(&auth),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call(
            Method::POST,
            "/v1/tool-runtime/invoke",
            Some(json!({ "tool_name": "greet_everyone" })),
            Some(&auth),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app
        .call(
            Method::POST,
            "/v1/tool-runtime/invoke",
            Some(invoke("greet_everyone", json!({ "url": "x" }))),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .call(
            Method::POST,
            "/v1/tool-runtime/invoke",
            Some(invoke("greet_everyone", json!({}))),
            Some("[1]"),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "provider data must be an object"
    );
}

#[tokio::test]
async fn run_yaml_groups_are_registered_and_unreachable_servers_are_503() {
    let app = App::start("tool_runtime", |mcp| {
        format!(
            r#"
  - toolgroup_id: mcp::configured
    provider_id: model-context-protocol
    mcp_endpoint: {{uri: "{}"}}
  - toolgroup_id: mcp::gone
    provider_id: model-context-protocol
    mcp_endpoint: {{uri: "http://127.0.0.1:9/sse"}}"#,
            mcp.sse_url()
        )
    })
    .await;
    let (_, v) = app.call(Method::GET, "/v1/toolgroups", None, None).await;
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mcp::configured", "mcp::gone"]);
    let auth = app.auth();
    let (s, v) = app
        .call(
            Method::GET,
            "/v1/tools?toolgroup_id=mcp::gone",
            None,
            Some(&auth),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("http://127.0.0.1:9/sse"),
        "{v}"
    );
    // Listing every group skips the unreachable one.
    let (s, v) = app
        .call(
            Method::GET,
            "/v1/tool-runtime/list-tools",
            None,
            Some(&auth),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["toolgroup_id"] == "mcp::configured")
    );
    // A tool can be run without listing first.
    let app2 = App::start("tool_runtime", |_| "[]".into()).await;
    app2.register("mcp::fresh").await;
    let body =
        json!({ "tool_name": "get_boiling_point", "kwargs": { "liquid_name": "myawesomeliquid" } });
    let (s, v) = app2
        .call(
            Method::POST,
            "/v1/tool-runtime/invoke",
            Some(body),
            Some(&app2.auth()),
        )
        .await;
    assert_eq!(
        (s, &v["content"][0]["text"]),
        (StatusCode::OK, &json!("-100")),
        "{v}"
    );
}

#[tokio::test]
async fn routes_are_absent_when_tool_runtime_is_not_served() {
    let app = App::start("inference", |_| "[]".into()).await;
    assert_eq!(
        app.call(Method::GET, "/v1/toolgroups", None, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(
            Method::POST,
            "/v1/tool-runtime/invoke",
            Some(json!({})),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let served = App::start("tool_runtime", |_| "[]".into()).await;
    let (_, v) = served
        .call(Method::GET, "/v1/inspect/routes", None, None)
        .await;
    let routes: Vec<(&str, &str)> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["method"].as_str().unwrap(), r["route"].as_str().unwrap()))
        .collect();
    for want in [
        ("POST", "/v1/toolgroups"),
        ("GET", "/v1/toolgroups"),
        ("GET", "/v1/toolgroups/{toolgroup_id}"),
        ("DELETE", "/v1/toolgroups/{toolgroup_id}"),
        ("GET", "/v1/tools"),
        ("GET", "/v1/tools/{tool_name}"),
        ("GET", "/v1/tool-runtime/list-tools"),
        ("POST", "/v1/tool-runtime/invoke"),
    ] {
        assert!(routes.contains(&want), "{want:?} missing from {routes:?}");
    }
}
