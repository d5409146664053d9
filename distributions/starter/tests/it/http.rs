//! The starter's HTTP surface, tested in-process (`tower::ServiceExt::oneshot`) over a stack
//! built from a real run.yaml with the deterministic `inline::fake` inference provider.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::{app_in_tempdir, call, call_text, storage_yaml_with_inference_store};

fn run_yaml(dir: &std::path::Path) -> String {
    format!(
        r#"
version: 2
image_name: http-test
apis: [inference]
providers:
  inference:
  - provider_id: fake
    provider_type: inline::fake
    config:
      embedding_dimension: 8
      models: [my-embed]
{storage}registered_resources:
  models:
  - model_id: my-embed
    provider_id: fake
    model_type: embedding
    metadata: {{embedding_dimension: 8}}
server:
  port: 8321
"#,
        storage = storage_yaml_with_inference_store(dir)
    )
}

async fn app() -> (Router, tempfile::TempDir) {
    app_in_tempdir(run_yaml).await
}

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "What is the capital of France?"}], "stream": stream})
}

#[tokio::test]
async fn inspect_routes() {
    let (app, _dir) = app().await;
    let (s, v) = call(&app, Method::GET, "/v1/health", None).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"status": "OK"})));
    let (_, v) = call(&app, Method::GET, "/v1/version", None).await;
    assert_eq!(v["version"], "0.3.5");
    let (_, v) = call(&app, Method::GET, "/v1/inspect/routes", None).await;
    let routes = v["data"].as_array().unwrap();
    assert!(routes.iter().any(|r| r["route"] == "/v1/chat/completions"
        && r["method"] == "POST"
        && r["provider_types"] == json!(["inline::fake"])));
    assert!(
        routes
            .iter()
            .any(|r| r["route"] == "/v1/models/{model_id}" && r["method"] == "DELETE")
    );
    let (_, doc) = call(&app, Method::GET, "/openapi.json", None).await;
    assert!(doc["paths"]["/v1/chat/completions"]["post"].is_object());
    // The browser pages are pages, not operations.
    for page in ["/docs", "/playground"] {
        assert!(!routes.iter().any(|r| r["route"].as_str().is_some_and(|p| p.starts_with(page))), "{page} in {routes:?}");
        assert!(doc["paths"].as_object().unwrap().keys().all(|p| !p.starts_with(page)), "{page} in the OpenAPI document");
    }
}

#[tokio::test]
async fn providers_are_listed_with_config() {
    let (app, _dir) = app().await;
    let (s, v) = call(&app, Method::GET, "/v1/providers", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"][0]["provider_id"], "fake");
    assert_eq!(v["data"][0]["config"]["embedding_dimension"], 8);
    let (s, _) = call(&app, Method::GET, "/v1/providers/fake", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = call(&app, Method::GET, "/v1/providers/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["detail"].as_str().unwrap().contains("nope"));
}

#[tokio::test]
async fn models_lifecycle() {
    let (app, _dir) = app().await;
    let (_, v) = call(&app, Method::GET, "/v1/models", None).await;
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["identifier"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"fake/fake-llm"), "{ids:?}");
    assert!(ids.contains(&"fake/fake-embed"), "{ids:?}");
    // OpenAI's model fields beside 0.3.5's, so the openai SDK lists real ids.
    assert_eq!(v["object"], "list");
    for m in v["data"].as_array().unwrap() {
        assert_eq!((&m["id"], m["object"].as_str(), m["owned_by"].as_str()), (&m["identifier"], Some("model"), Some("llama_stack")), "{m}");
        assert!(m["created"].as_i64().is_some_and(|t| t > 1_700_000_000), "{m}");
    }
    let (s, mut m) = call(&app, Method::GET, "/v1/models/fake/fake-llm", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(m["created"].as_i64().is_some_and(|t| t > 1_700_000_000), "{m}");
    m.as_object_mut().unwrap().remove("created");
    assert_eq!(
        m,
        json!({"identifier": "fake/fake-llm", "provider_resource_id": "fake-llm", "provider_id": "fake", "type": "model", "metadata": {}, "model_type": "llm",
               "id": "fake/fake-llm", "object": "model", "owned_by": "llama_stack"})
    );
    let (s, m) = call(
        &app,
        Method::POST,
        "/v1/models",
        Some(json!({"model_id": "extra", "provider_id": "fake"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!((&m["identifier"], &m["id"]), (&json!("fake/extra"), &json!("fake/extra")));
    let (s, _) = call(
        &app,
        Method::POST,
        "/v1/models",
        Some(json!({"model_id": "e", "model_type": "embedding"})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "embedding models need a dimension"
    );
    let (s, _) = call(
        &app,
        Method::POST,
        "/v1/models",
        Some(json!({"model_id": "x", "provider_id": "nope"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call_text(&app, Method::DELETE, "/v1/models/fake/extra", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(&app, Method::GET, "/v1/models/fake/extra", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("client.models.list()")
    );
    let (_, v) = call(&app, Method::GET, "/v1/openai/v1/models", None).await;
    assert_eq!(v["data"][0]["object"], "model");
    assert_eq!(v["data"][0]["owned_by"], "llama_stack");
}

#[tokio::test]
async fn chat_completion_and_store() {
    let (app, _dir) = app().await;
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/chat/completions",
        Some(chat("fake/fake-llm", false)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["model"], "fake/fake-llm",
        "answers carry the client's model id"
    );
    assert_eq!(v["object"], "chat.completion");
    let content = v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(content.contains("capital of France"), "{content}");
    let id = v["id"].as_str().unwrap().to_owned();
    let (s, stored) = call(
        &app,
        Method::GET,
        &format!("/v1/chat/completions/{id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{stored}");
    assert_eq!(stored["choices"][0]["message"]["content"], content);
    assert_eq!(
        stored["input_messages"][0]["content"],
        "What is the capital of France?"
    );
    let (_, list) = call(&app, Method::GET, "/v1/chat/completions?limit=5", None).await;
    assert_eq!(list["object"], "list");
    assert_eq!(list["first_id"], id);
    let (s, _) = call(&app, Method::GET, "/v1/chat/completions/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        &app,
        Method::POST,
        "/v1/openai/v1/chat/completions",
        Some(chat("fake/fake-llm", false)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "deprecated alias is served");
}

#[tokio::test]
async fn chat_streams_as_upstream_does() {
    let (app, _dir) = app().await;
    let (s, body) = call_text(
        &app,
        Method::POST,
        "/v1/chat/completions",
        Some(&chat("fake/fake-llm", true).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains("[DONE]"), "0.3.5 sends no [DONE]");
    let events: Vec<Value> = body
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert!(events.len() >= 2);
    assert!(
        events
            .iter()
            .all(|e| e["model"] == "fake/fake-llm" && e["object"] == "chat.completion.chunk")
    );
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(text.contains("capital of France"));
    // The streamed completion is stored once the stream ends.
    let id = events[0]["id"].as_str().unwrap();
    let (s, stored) = call(
        &app,
        Method::GET,
        &format!("/v1/chat/completions/{id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{stored}");
    assert_eq!(stored["choices"][0]["message"]["content"], text);
}

#[tokio::test]
async fn stream_failing_midway_ends_with_an_error_event() {
    let (app, _dir) = app().await;
    let (s, body) = call_text(
        &app,
        Method::POST,
        "/v1/chat/completions",
        Some(&chat("fake/midstream-error", true).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let last = body.split("\n\n").filter(|e| !e.is_empty()).last().unwrap();
    let last: Value = serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert!(last["error"]["message"].is_string(), "{last}");
}

#[tokio::test]
async fn bad_requests_are_4xx_with_a_message() {
    let (app, _dir) = app().await;
    let cases: Vec<(Method, &str, Option<&str>, StatusCode)> = vec![
        (
            Method::POST,
            "/v1/chat/completions",
            Some("{not json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            Some(r#"{"model": "fake/fake-llm"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            Some(r#"{"model": "fake/fake-llm", "messages": []}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            Some(r#"{"model": "fake/fake-llm", "messages": "hi"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            Some(r#"{"model": "fake/fake-llm", "messages": [{"role": "wizard", "content": "x"}]}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            Some(
                r#"{"model": "fake/fake-llm", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}"#,
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            Some(
                r#"{"model": "fake/fake-llm", "messages": [{"role": "user", "content": "x"}], "tool_choice": "auto"}"#,
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            Some(r#"{"model": "nope/nope", "messages": [{"role": "user", "content": "x"}]}"#),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            "/v1/chat/completions",
            Some(r#"{"model": "fake/fake-embed", "messages": [{"role": "user", "content": "x"}]}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/embeddings",
            Some(r#"{"model": "fake/fake-llm", "input": "x"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/embeddings",
            Some(r#"{"model": "fake/fake-embed", "input": []}"#),
            StatusCode::BAD_REQUEST,
        ),
        (Method::GET, "/v1/nope", None, StatusCode::NOT_FOUND),
        (
            Method::DELETE,
            "/v1/health",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (method, path, body, expected) in cases {
        let (s, text) = call_text(&app, method.clone(), path, body).await;
        assert_eq!(s, expected, "{method} {path} {body:?}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(
            v["error"]["message"].is_string() && v["detail"].is_string(),
            "{text}"
        );
    }
}

#[tokio::test]
async fn backend_failures_are_5xx_naming_the_provider() {
    let (app, _dir) = app().await;
    for (model, status) in [
        ("fake/error-502", StatusCode::BAD_GATEWAY),
        ("fake/error-503", StatusCode::SERVICE_UNAVAILABLE),
        ("fake/error-504", StatusCode::GATEWAY_TIMEOUT),
        ("fake/error-429", StatusCode::TOO_MANY_REQUESTS),
    ] {
        for stream in [false, true] {
            let (s, v) = call(
                &app,
                Method::POST,
                "/v1/chat/completions",
                Some(chat(model, stream)),
            )
            .await;
            assert_eq!(s, status, "{model} stream={stream}: {v}");
            assert!(
                v["error"]["message"].as_str().unwrap().contains("fake"),
                "{v}"
            );
        }
    }
}

#[tokio::test]
async fn completions_and_embeddings() {
    let (app, _dir) = app().await;
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/completions",
        Some(json!({"model": "fake/fake-llm", "prompt": "Once upon a time", "logprobs": 2})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["model"], "fake/fake-llm");
    assert!(
        v["choices"][0]["logprobs"].is_object(),
        "integer logprobs are accepted: {v}"
    );
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/embeddings",
        Some(json!({"model": "fake/my-embed", "input": ["a b", "c"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["model"], "fake/my-embed");
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), 8);
    let (_, b) = call(
        &app,
        Method::POST,
        "/v1/embeddings",
        Some(json!({"model": "fake/my-embed", "input": "a b", "encoding_format": "base64"})),
    )
    .await;
    assert!(b["data"][0]["embedding"].is_string());
}

#[tokio::test]
async fn unregistered_provider_prefixed_ids_fall_back_to_that_provider() {
    let (app, _dir) = app().await;
    let (s, _) = call_text(&app, Method::DELETE, "/v1/models/fake/fake-llm", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/chat/completions",
        Some(chat("fake/fake-llm", false)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["model"], "fake/fake-llm");
    let (s, _) = call(
        &app,
        Method::POST,
        "/v1/chat/completions",
        Some(chat("nobody/fake-llm", false)),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no provider 'nobody'");
}

#[tokio::test]
async fn provider_data_header_must_be_a_json_object() {
    let (app, _dir) = app().await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/chat/completions")
        .header("x-llamastack-provider-data", "not json")
        .body(Body::from(chat("fake/fake-llm", false).to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/chat/completions")
        .header("x-llamastack-provider-data", r#"{"__test_id": "t"}"#)
        .header("content-type", "application/json")
        .body(Body::from(chat("fake/fake-llm", false).to_string()))
        .unwrap();
    assert_eq!(
        app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::OK
    );
}
