//! The RAG tool over HTTP, in-process (`oneshot`), on a stack of real providers built from a
//! run.yaml: `inline::rag-runtime` as `builtin::rag`, `inline::sqlite-vec`, `inline::localfs` and
//! the deterministic `inline::fake` embeddings. Insert, query, `knowledge_search` through
//! `/v1/tool-runtime/invoke`, and bad input.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{app_in_tempdir, post, rag_stack_yaml};

/// The RAG stack with `builtin::rag` registered.
fn run_yaml(dir: &std::path::Path) -> String {
    rag_stack_yaml(
        dir,
        "rag-tool-test",
        "registered_resources:\n  tool_groups:\n  - toolgroup_id: builtin::rag\n    provider_id: rag-runtime\n",
    )
}

async fn app() -> (Router, tempfile::TempDir) {
    app_in_tempdir(run_yaml).await
}

fn texts(content: &Value) -> Vec<String> {
    content
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn insert_then_query_and_knowledge_search() {
    let (app, _dir) = app().await;
    let (status, store) = post(&app, "/v1/vector_stores", json!({"name": "docs"})).await;
    assert_eq!(status, StatusCode::OK, "{store}");
    let vs = store["id"].as_str().unwrap().to_owned();

    let (status, body) = post(&app, "/v1/tool-runtime/rag-tool/insert", json!({
        "documents": [
            {"document_id": "rust", "content": "Rust guarantees memory safety through ownership and borrowing.", "metadata": {"lang": "rust"}},
            {"document_id": "py", "content": {"type": "text", "text": "Python uses reference counting and a garbage collector."}, "mime_type": "text/plain", "metadata": {}},
        ],
        "vector_db_id": vs,
        "chunk_size_in_tokens": 512,
    }))
    .await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null));

    let (status, r) = post(
        &app,
        "/v1/tool-runtime/rag-tool/query",
        json!({
            "content": "memory safety ownership borrowing",
            "vector_store_ids": [vs],
            "query_config": {"max_chunks": 1},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let t = texts(&r["content"]);
    assert_eq!(t.len(), 4, "{t:?}");
    assert_eq!(
        t[0],
        "knowledge_search tool found 1 chunks:\nBEGIN of knowledge_search tool results.\n"
    );
    assert!(
        t[1].starts_with("Result 1\nContent: Rust guarantees memory safety"),
        "{t:?}"
    );
    assert!(
        t[1].contains("'lang': 'rust'") && !t[1].contains("token_count"),
        "{t:?}"
    );
    assert_eq!(t[2], "END of knowledge_search tool results.\n");
    assert!(
        t[3].contains("\"memory safety ownership borrowing\""),
        "{t:?}"
    );
    assert_eq!(r["metadata"]["vector_db_ids"], json!([vs]));
    assert!(
        r["metadata"]["document_ids"][0]
            .as_str()
            .unwrap()
            .starts_with("file-"),
        "{r}"
    );

    let (status, r) = post(
        &app,
        "/v1/tool-runtime/invoke",
        json!({
            "tool_name": "knowledge_search",
            "kwargs": {"query": "garbage collector", "vector_db_ids": [vs]},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert!(
        texts(&r["content"])[0].starts_with("knowledge_search tool found 2 chunks:"),
        "{r}"
    );
    assert_eq!(r["metadata"]["scores"].as_array().unwrap().len(), 2);
    assert_eq!(r["metadata"]["citation_files"], Value::Null);
}

#[tokio::test]
async fn bad_input_is_a_4xx() {
    let (app, _dir) = app().await;
    let (_, store) = post(&app, "/v1/vector_stores", json!({})).await;
    let vs = store["id"].as_str().unwrap().to_owned();
    let insert = "/v1/tool-runtime/rag-tool/insert";
    let query = "/v1/tool-runtime/rag-tool/query";
    for (path, body) in [
        (
            insert,
            json!({"documents": [{"document_id": "d", "content": {"uri": "https://example.com/x.pdf"}}], "vector_db_id": vs}),
        ),
        (
            insert,
            json!({"documents": [{"document_id": "d", "content": "x"}], "vector_db_id": "vs_missing"}),
        ),
        (
            insert,
            json!({"documents": [{"document_id": "d", "content": "x"}], "vector_db_id": vs, "chunk_size_in_tokens": 5}),
        ),
        (
            insert,
            json!({"documents": [{"content": "x"}], "vector_db_id": vs}),
        ),
        (query, json!({"content": "q", "vector_db_ids": []})),
        (
            query,
            json!({"content": "q", "vector_db_ids": ["vs_missing"]}),
        ),
        (
            query,
            json!({"content": "q", "vector_db_ids": [vs], "query_config": {"chunk_template": "{index}"}}),
        ),
        (
            query,
            json!({"content": "q", "vector_db_ids": [vs], "query_config": {"mode": "fuzzy"}}),
        ),
        (query, json!({"vector_db_ids": [vs]})),
    ] {
        let (status, v) = post(&app, path, body.clone()).await;
        assert!(status.is_client_error(), "{path} {body}: {status} {v}");
        assert!(v["detail"].is_string(), "{v}");
    }
}
