//! The RAG tool over HTTP, in-process (`oneshot`), on a stack of real providers built from a
//! run.yaml: `inline::rag-runtime` as `builtin::rag`, `inline::sqlite-vec`, `inline::localfs` and
//! the deterministic `inline::fake` embeddings. Insert, query, `knowledge_search` through
//! `/v1/tool-runtime/invoke`, and bad input.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used)]

// The starter's services (and the providers its features select).
extern crate lls_distribution_starter as _;

extern crate lls_files_inline_localfs as _;
extern crate lls_inference_inline_fake as _;
extern crate lls_tool_runtime_inline_rag_runtime as _;
extern crate lls_vector_io_inline_sqlite_vec as _;

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
image_name: rag-tool-test
apis: [inference, files, vector_io, tool_runtime]
providers:
  inference:
  - provider_id: fake
    provider_type: inline::fake
    config: {{}}
  vector_io:
  - provider_id: sqlite-vec
    provider_type: inline::sqlite-vec
    config:
      db_path: {dir}/sqlite_vec.db
      persistence: {{namespace: vector_io::sqlite_vec, backend: kv_default}}
  files:
  - provider_id: localfs
    provider_type: inline::localfs
    config:
      storage_dir: {dir}/files
      metadata_store: {{backend: sql_default, table_name: files_metadata}}
  tool_runtime:
  - provider_id: rag-runtime
    provider_type: inline::rag-runtime
    config: {{}}
storage:
  backends:
    kv_default: {{type: kv_sqlite, db_path: {dir}/kv.db}}
    sql_default: {{type: sql_sqlite, db_path: {dir}/sql.db}}
  stores:
    metadata: {{backend: kv_default, namespace: registry}}
vector_stores:
  default_provider_id: sqlite-vec
  default_embedding_model: {{provider_id: fake, model_id: fake-embed}}
registered_resources:
  tool_groups:
  - toolgroup_id: builtin::rag
    provider_id: rag-runtime
server:
  port: 8321
"#,
        dir = dir.display()
    )
}

async fn app() -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = lls_config::RunConfig::from_yaml_str(&run_yaml(dir.path()), &|_| None).unwrap();
    config.validate().unwrap();
    let stack = lls_registry::Stack::build(config).await.unwrap();
    (lls_server::app(Arc::new(stack)), dir)
}

async fn call(app: &Router, path: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn texts(content: &Value) -> Vec<String> {
    content.as_array().unwrap().iter().map(|i| i["text"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn insert_then_query_and_knowledge_search() {
    let (app, _dir) = app().await;
    let (status, store) = call(&app, "/v1/vector_stores", json!({"name": "docs"})).await;
    assert_eq!(status, StatusCode::OK, "{store}");
    let vs = store["id"].as_str().unwrap().to_owned();

    let (status, body) = call(&app, "/v1/tool-runtime/rag-tool/insert", json!({
        "documents": [
            {"document_id": "rust", "content": "Rust guarantees memory safety through ownership and borrowing.", "metadata": {"lang": "rust"}},
            {"document_id": "py", "content": {"type": "text", "text": "Python uses reference counting and a garbage collector."}, "mime_type": "text/plain", "metadata": {}},
        ],
        "vector_db_id": vs,
        "chunk_size_in_tokens": 512,
    }))
    .await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null));

    let (status, r) = call(&app, "/v1/tool-runtime/rag-tool/query", json!({
        "content": "memory safety ownership borrowing",
        "vector_store_ids": [vs],
        "query_config": {"max_chunks": 1},
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let t = texts(&r["content"]);
    assert_eq!(t.len(), 4, "{t:?}");
    assert_eq!(t[0], "knowledge_search tool found 1 chunks:\nBEGIN of knowledge_search tool results.\n");
    assert!(t[1].starts_with("Result 1\nContent: Rust guarantees memory safety"), "{t:?}");
    assert!(t[1].contains("'lang': 'rust'") && !t[1].contains("token_count"), "{t:?}");
    assert_eq!(t[2], "END of knowledge_search tool results.\n");
    assert!(t[3].contains("\"memory safety ownership borrowing\""), "{t:?}");
    assert_eq!(r["metadata"]["vector_db_ids"], json!([vs]));
    assert!(r["metadata"]["document_ids"][0].as_str().unwrap().starts_with("file-"), "{r}");

    let (status, r) = call(&app, "/v1/tool-runtime/invoke", json!({
        "tool_name": "knowledge_search",
        "kwargs": {"query": "garbage collector", "vector_db_ids": [vs]},
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert!(texts(&r["content"])[0].starts_with("knowledge_search tool found 2 chunks:"), "{r}");
    assert_eq!(r["metadata"]["scores"].as_array().unwrap().len(), 2);
    assert_eq!(r["metadata"]["citation_files"], Value::Null);
}

#[tokio::test]
async fn bad_input_is_a_4xx() {
    let (app, _dir) = app().await;
    let (_, store) = call(&app, "/v1/vector_stores", json!({})).await;
    let vs = store["id"].as_str().unwrap().to_owned();
    let insert = "/v1/tool-runtime/rag-tool/insert";
    let query = "/v1/tool-runtime/rag-tool/query";
    for (path, body) in [
        (insert, json!({"documents": [{"document_id": "d", "content": {"uri": "https://example.com/x.pdf"}}], "vector_db_id": vs})),
        (insert, json!({"documents": [{"document_id": "d", "content": "x"}], "vector_db_id": "vs_missing"})),
        (insert, json!({"documents": [{"document_id": "d", "content": "x"}], "vector_db_id": vs, "chunk_size_in_tokens": 5})),
        (insert, json!({"documents": [{"content": "x"}], "vector_db_id": vs})),
        (query, json!({"content": "q", "vector_db_ids": []})),
        (query, json!({"content": "q", "vector_db_ids": ["vs_missing"]})),
        (query, json!({"content": "q", "vector_db_ids": [vs], "query_config": {"chunk_template": "{index}"}})),
        (query, json!({"content": "q", "vector_db_ids": [vs], "query_config": {"mode": "fuzzy"}})),
        (query, json!({"vector_db_ids": [vs]})),
    ] {
        let (status, v) = call(&app, path, body.clone()).await;
        assert!(status.is_client_error(), "{path} {body}: {status} {v}");
        assert!(v["detail"].is_string(), "{v}");
    }
}
