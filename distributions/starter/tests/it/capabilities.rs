//! Provider capabilities at the router, over HTTP in-process (`oneshot`): a request its
//! provider cannot serve (chat on the embeddings-only `inline::sentence-transformers`) is a 400
//! naming the model, the provider and what it lacks, before the provider is called.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{app_in_tempdir, post, storage_yaml};

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
{storage}server:
  port: 8321
"#,
        storage = storage_yaml(dir)
    )
}

#[tokio::test]
async fn requests_a_provider_cannot_serve_are_refused_before_it_is_called() {
    let (app, _dir) = app_in_tempdir(run_yaml).await;

    // A model registered as an llm on the embeddings-only provider, and one reached by the
    // `provider_id/model` fallback: both refused for chat and completions.
    let registered = json!({"model_id": "pretend-llm", "provider_id": "sentence-transformers", "model_type": "llm"});
    assert_eq!(post(&app, "/v1/models", registered).await.0, StatusCode::OK);
    for model in [
        "sentence-transformers/pretend-llm",
        "sentence-transformers/unregistered",
    ] {
        let chat = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
        let (status, body) = post(&app, "/v1/chat/completions", chat).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let expected = format!(
            "Model '{model}' is served by provider 'sentence-transformers', which does not support chat completions"
        );
        assert_eq!(body["detail"], expected.as_str());
        assert_eq!(body["error"]["message"], expected.as_str());
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], "model");
        let (status, body) = post(
            &app,
            "/v1/completions",
            json!({"model": model, "prompt": "p"}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .ends_with("which does not support completions"),
            "{body}"
        );
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
