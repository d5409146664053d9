//! Provider capabilities at the router, over HTTP in-process (`oneshot`): a request its
//! provider cannot serve (chat on the embeddings-only `inline::sentence-transformers`) is a 400
//! naming the model, the provider and what it lacks, before the provider is called.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The starter's services (and the providers its features select).
extern crate lls_distribution_starter as _;

extern crate lls_inference_inline_fake as _;
extern crate lls_inference_inline_sentence_transformers as _;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

fn run_yaml(dir: &std::path::Path) -> String {
    format!(
        r#"
version: 2
image_name: capabilities-test
apis: [inference]
providers:
  inference:
  - provider_id: fake
    provider_type: inline::fake
    config: {{}}
  - provider_id: sentence-transformers
    provider_type: inline::sentence-transformers
    config: {{}}
storage:
  backends:
    kv_default: {{type: kv_sqlite, db_path: {dir}/kv.db}}
    sql_default: {{type: sql_sqlite, db_path: {dir}/sql.db}}
  stores:
    metadata: {{backend: kv_default, namespace: registry}}
server:
  port: 8321
"#,
        dir = dir.display()
    )
}

async fn post(app: &Router, path: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn requests_a_provider_cannot_serve_are_refused_before_it_is_called() {
    let dir = tempfile::tempdir().unwrap();
    let config = lls_config::RunConfig::from_yaml_str(&run_yaml(dir.path()), &|_| None).unwrap();
    config.validate().unwrap();
    let app = lls_server::app(Arc::new(lls_registry::Stack::build(config).await.unwrap()));

    // A model registered as an llm on the embeddings-only provider, and one reached by the
    // `provider_id/model` fallback: both refused for chat and completions.
    let registered = json!({"model_id": "pretend-llm", "provider_id": "sentence-transformers", "model_type": "llm"});
    assert_eq!(post(&app, "/v1/models", registered).await.0, StatusCode::OK);
    for model in ["sentence-transformers/pretend-llm", "sentence-transformers/unregistered"] {
        let chat = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
        let (status, body) = post(&app, "/v1/chat/completions", chat).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let expected =
            format!("Model '{model}' is served by provider 'sentence-transformers', which does not support chat completions");
        assert_eq!(body["detail"], expected.as_str());
        assert_eq!(body["error"]["message"], expected.as_str());
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], "model");
        let (status, body) = post(&app, "/v1/completions", json!({"model": model, "prompt": "p"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["detail"].as_str().unwrap().ends_with("which does not support completions"), "{body}");
    }
    // The provider that can chat still does, with every feature.
    let chat = json!({
        "model": "fake/fake-llm", "stream": false, "logprobs": true,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    });
    let (status, body) = post(&app, "/v1/chat/completions", chat).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
