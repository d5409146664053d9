//! `builtin::websearch` over HTTP, in process: the starter's `remote::tavily-search` (and
//! `remote::brave-search`) against the test kit's web search mock, with keys from the config
//! and from `X-LlamaStack-Provider-Data`, and the statuses their failures get.
// Helpers here are not #[test] functions.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::http::{Method, StatusCode};
use lls_testkit::WebSearchMock;
use lls_testkit::websearch_mock::result_title;
use serde_json::{Value, json};

use crate::support::{app_in_tempdir, json_or_text, send_text, storage_yaml};

const KEY: &str = "search-key";

struct App {
    router: Router,
    mock: WebSearchMock,
    _dir: tempfile::TempDir,
}

impl App {
    /// Tavily (3 results) and Brave (2 results), both keyed `config_key`; `builtin::websearch`
    /// is served by `provider` (`tavily-search` in the starter).
    async fn start(config_key: &str) -> App {
        Self::with_group(config_key, "tavily-search").await
    }

    async fn with_group(config_key: &str, provider: &str) -> App {
        let mock = WebSearchMock::start(KEY).await.unwrap();
        let url = mock.url();
        let (router, dir) = app_in_tempdir(|dir| {
            format!(
                r#"
version: 2
image_name: websearch-test
apis: [tool_runtime]
providers:
  tool_runtime:
  - provider_id: tavily-search
    provider_type: remote::tavily-search
    config: {{ api_key: "{config_key}", max_results: 3, base_url: "{url}" }}
  - provider_id: brave-search
    provider_type: remote::brave-search
    config: {{ api_key: "{config_key}", max_results: 2, base_url: "{url}" }}
{storage}registered_resources:
  tool_groups:
  - toolgroup_id: builtin::websearch
    provider_id: {provider}
server:
  port: 8321
"#,
                storage = storage_yaml(dir)
            )
        })
        .await;
        App {
            router,
            mock,
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        provider_data: Option<Value>,
    ) -> (StatusCode, Value) {
        let data = provider_data.map(|d| d.to_string());
        let headers: Vec<(&str, &str)> = data
            .as_deref()
            .map(|d| ("x-llamastack-provider-data", d))
            .into_iter()
            .collect();
        let body = body.map(|b| b.to_string());
        let (status, text) = send_text(&self.router, method, path, body.as_deref(), &headers).await;
        (status, json_or_text(text))
    }

    async fn search(&self, query: &str, provider_data: Option<Value>) -> (StatusCode, Value) {
        let body = json!({ "tool_name": "web_search", "kwargs": { "query": query } });
        self.call(
            Method::POST,
            "/v1/tool-runtime/invoke",
            Some(body),
            provider_data,
        )
        .await
    }
}

#[tokio::test]
async fn web_search_is_listed_and_runs_with_the_config_key() {
    let app = App::start(KEY).await;
    let (s, v) = app
        .call(
            Method::GET,
            "/v1/tools?toolgroup_id=builtin::websearch",
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"][0]["name"], "web_search");
    assert_eq!(v["data"][0]["toolgroup_id"], "builtin::websearch");
    assert_eq!(v["data"][0]["input_schema"]["required"], json!(["query"]));

    let (s, v) = app.search("llama", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let content = v["content"].as_str().unwrap();
    assert!(
        content.starts_with(r#"{"query": "llama", "top_k": [{"title": "llama: result 1""#),
        "{content}"
    );
    let parsed: Value = serde_json::from_str(content).unwrap();
    assert_eq!(parsed["top_k"].as_array().unwrap().len(), 3);
    assert_eq!(v["error_code"], Value::Null);
}

#[tokio::test]
async fn the_callers_key_is_used_and_its_refusal_is_a_401() {
    let app = App::start("").await;
    let (s, v) = app.search("q", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("tavily_search_api_key"),
        "{v}"
    );

    let (s, v) = app
        .search("q", Some(json!({ "tavily_search_api_key": KEY })))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .search("q", Some(json!({ "tavily_search_api_key": "wrong" })))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("Unauthorized: missing or invalid API key."),
        "{v}"
    );
}

#[tokio::test]
async fn a_refused_config_key_and_backend_failures_are_gateway_errors() {
    let app = App::start("wrong-config-key").await;
    let (s, v) = app.search("q", None).await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("tavily-search"),
        "{v}"
    );

    let app = App::start(KEY).await;
    app.mock.fail_next(&[500]);
    assert_eq!(app.search("q", None).await.0, StatusCode::BAD_GATEWAY);
    app.mock.fail_next(&[503]);
    assert_eq!(
        app.search("q", None).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn brave_search_can_serve_builtin_websearch() {
    let app = App::with_group(KEY, "brave-search").await;
    let (s, v) = app
        .call(
            Method::GET,
            "/v1/tools?toolgroup_id=builtin::websearch",
            None,
            None,
        )
        .await;
    assert_eq!(
        (s, &v["data"][0]["name"]),
        (StatusCode::OK, &json!("web_search")),
        "{v}"
    );
    let (s, v) = app.search("q", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let content = v["content"].as_str().unwrap();
    assert_eq!(content.lines().count(), 2, "{content}");
    assert!(
        content.starts_with(&format!("{{'title': '{}'", result_title("q", 1))),
        "{content}"
    );
    let (s, v) = app
        .search("q", Some(json!({ "brave_search_api_key": "wrong" })))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
}
