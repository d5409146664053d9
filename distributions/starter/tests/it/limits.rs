//! Bounds on what one request may ask for, over HTTP in-process (`oneshot`): every request
//! past a limit is a 400 in the server's error shape naming the field, and nothing of it is
//! stored. Also: a registration never replaces a model a provider lists (0.3.5's 400).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{app_in_tempdir, call, post, rag_stack_yaml};

fn run_yaml(dir: &std::path::Path) -> String {
    rag_stack_yaml(dir, "limits-test", "")
}

async fn app() -> (Router, tempfile::TempDir) {
    app_in_tempdir(run_yaml).await
}

/// A 400 in the server's error shape, naming `param`; returns the message.
#[track_caller]
fn refused(answer: (StatusCode, Value), param: &str) -> String {
    let (status, body) = answer;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    assert_eq!(body["error"]["param"], param, "{body}");
    let message = body["detail"].as_str().unwrap().to_owned();
    assert_eq!(body["error"]["message"], message.as_str());
    assert!(
        message.len() < 300,
        "the message does not echo the input: {message}"
    );
    message
}

fn many<T: Clone>(n: usize, item: T) -> Vec<T> {
    vec![item; n]
}

#[tokio::test]
async fn a_registration_never_replaces_a_listed_model() {
    let (app, _dir) = app().await;
    let (status, listed) = call(&app, Method::GET, "/v1/models/fake/fake-llm", None).await;
    assert_eq!(status, StatusCode::OK);
    let message = refused(
        post(
            &app,
            "/v1/models",
            json!({"model_id": "alias", "provider_model_id": "fake-llm"}),
        )
        .await,
        "model_id",
    );
    assert_eq!(
        message,
        "Object of type 'model' and identifier 'fake/fake-llm' already exists. Unregister it first if you want to replace it."
    );
    let (status, after) = call(&app, Method::GET, "/v1/models/fake/fake-llm", None).await;
    assert_eq!((status, after), (StatusCode::OK, listed));
    // A new model registers (twice, idempotently) and unregisters without touching the listed ones.
    let (status, _) = post(
        &app,
        "/v1/models",
        json!({"model_id": "mine", "provider_id": "fake"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        post(
            &app,
            "/v1/models",
            json!({"model_id": "mine", "provider_id": "fake"})
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, Method::DELETE, "/v1/models/fake/mine", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&app, Method::GET, "/v1/models/fake/fake-llm", None)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn ids_must_be_present_and_short() {
    let (app, _dir) = app().await;
    let long = "x".repeat(10 * 1024 * 1024);
    refused(
        post(&app, "/v1/models", json!({"model_id": ""})).await,
        "model_id",
    );
    refused(
        post(&app, "/v1/models", json!({"model_id": long})).await,
        "model_id",
    );
    refused(
        post(
            &app,
            "/v1/models",
            json!({"model_id": "m", "provider_model_id": "y".repeat(257)}),
        )
        .await,
        "provider_model_id",
    );
    refused(
        post(
            &app,
            "/v1/toolgroups",
            json!({"toolgroup_id": "", "provider_id": "rag-runtime"}),
        )
        .await,
        "toolgroup_id",
    );
    refused(
        post(
            &app,
            "/v1/toolgroups",
            json!({"toolgroup_id": long, "provider_id": "rag-runtime"}),
        )
        .await,
        "toolgroup_id",
    );
    let (_, models) = call(&app, Method::GET, "/v1/models", None).await;
    assert!(
        models["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["identifier"].as_str().unwrap().len() < 100)
    );
    let (_, groups) = call(&app, Method::GET, "/v1/toolgroups", None).await;
    assert_eq!(groups["data"], json!([]));
    let path_id = "f".repeat(300);
    refused(
        call(&app, Method::GET, &format!("/v1/files/{path_id}"), None).await,
        "file_id",
    );
    refused(
        call(
            &app,
            Method::GET,
            &format!("/v1/vector_stores/{path_id}"),
            None,
        )
        .await,
        "vector_store_id",
    );
}

#[tokio::test]
async fn inference_work_is_bounded() {
    let (app, _dir) = app().await;
    let hi = json!({"role": "user", "content": "hi"});
    let chat = |extra: Value| {
        let mut body = json!({"model": "fake/fake-llm", "messages": [hi.clone()]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap());
        body
    };
    let message = refused(
        post(&app, "/v1/chat/completions", chat(json!({"n": 100000}))).await,
        "n",
    );
    assert_eq!(message, "'n' must be between 1 and 128 (got 100000)");
    assert_eq!(
        post(&app, "/v1/chat/completions", chat(json!({"n": 2})))
            .await
            .0,
        StatusCode::OK
    );
    refused(
        post(
            &app,
            "/v1/chat/completions",
            chat(json!({"messages": many(2049, hi.clone())})),
        )
        .await,
        "messages",
    );
    let tool = json!({"type": "function", "function": {"name": "f", "parameters": {}}});
    refused(
        post(
            &app,
            "/v1/chat/completions",
            chat(json!({"tools": many(129, tool)})),
        )
        .await,
        "tools",
    );
    refused(
        post(
            &app,
            "/v1/chat/completions",
            chat(json!({"stop": many(17, "s")})),
        )
        .await,
        "stop",
    );
    let completion = json!({"model": "fake/fake-llm", "prompt": "p", "n": 129});
    refused(post(&app, "/v1/completions", completion).await, "n");
    let embeddings = json!({"model": "fake/fake-embed", "input": many(2049, "x")});
    refused(post(&app, "/v1/embeddings", embeddings).await, "input");
    let (status, body) = post(
        &app,
        "/v1/embeddings",
        json!({"model": "fake/fake-embed", "input": many(2048, "x")}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"].as_array().unwrap().len(), 2048);
}

#[tokio::test]
async fn vector_store_requests_are_bounded() {
    let (app, _dir) = app().await;
    refused(
        post(
            &app,
            "/v1/vector_stores",
            json!({"file_ids": many(2001, "file-x")}),
        )
        .await,
        "file_ids",
    );
    refused(
        post(
            &app,
            "/v1/vector_stores",
            json!({"metadata": {"k": "v".repeat(513)}}),
        )
        .await,
        "metadata.k",
    );
    let too_many: serde_json::Map<String, Value> =
        (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
    refused(
        post(&app, "/v1/vector_stores", json!({"metadata": too_many})).await,
        "metadata",
    );
    let (status, list) = call(&app, Method::GET, "/v1/vector_stores", None).await;
    assert_eq!(
        (status, list["data"].clone()),
        (StatusCode::OK, json!([])),
        "nothing was created"
    );

    let (status, store) = post(&app, "/v1/vector_stores", json!({"name": "s"})).await;
    assert_eq!(status, StatusCode::OK, "{store}");
    let id = store["id"].as_str().unwrap();
    refused(
        post(
            &app,
            &format!("/v1/vector_stores/{id}"),
            json!({"metadata": {"k".repeat(65): "v"}}),
        )
        .await,
        "metadata",
    );
    let files = format!("/v1/vector_stores/{id}/files");
    refused(
        post(&app, &files, json!({"file_id": "x".repeat(10_000)})).await,
        "file_id",
    );
    refused(
        post(
            &app,
            &files,
            json!({"file_id": "file-1", "attributes": too_many}),
        )
        .await,
        "attributes",
    );
    refused(
        post(
            &app,
            &files,
            json!({"file_id": "file-1", "attributes": {"a": "v".repeat(513)}}),
        )
        .await,
        "attributes.a",
    );
    refused(
        post(
            &app,
            &files,
            json!({"file_id": "file-1", "attributes": {"a": {"nested": true}}}),
        )
        .await,
        "attributes",
    );
    let batches = format!("/v1/vector_stores/{id}/file_batches");
    refused(
        post(&app, &batches, json!({"file_ids": many(2001, "file-x")})).await,
        "file_ids",
    );
    let (_, listed) = call(&app, Method::GET, &files, None).await;
    assert_eq!(listed["data"], json!([]), "no file record was kept");

    let chunks = many(
        4097,
        json!({"content": "c", "metadata": {"document_id": "d"}}),
    );
    refused(
        post(
            &app,
            "/v1/vector-io/insert",
            json!({"vector_db_id": id, "chunks": chunks}),
        )
        .await,
        "chunks",
    );
}
