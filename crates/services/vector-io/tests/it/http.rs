//! The vector stores and vector-io routes over HTTP, in-process (`oneshot`), on a stack built
//! from a run.yaml with test providers (fake inference, in-memory vector_io and files that
//! outlive a stack, standing in for persistent ones): every route, bad input, and a restart on
//! the same SQLite directory.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic)]


use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use lls_api_common::{BuildContext, ProviderConfig, Result};
use lls_api_files::Files;
use lls_api_vector_io::VectorIo;
use lls_testkit::FakeVectorIo;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use crate::support::FakeFiles;
use tower::ServiceExt;

// ---- test providers ------------------------------------------------------------------------

// The stack this test builds: the services it needs and the fake inference provider.
extern crate lls_inference_inline_fake as _;
extern crate lls_service_files as _;
extern crate lls_service_inference as _;
extern crate lls_service_vector_io as _;

/// `name` picks the in-memory state, which survives a rebuilt stack (a "restart").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryConfig {
    name: String,
    #[serde(default = "yes")]
    keyword: bool,
}

fn yes() -> bool {
    true
}

impl ProviderConfig for MemoryConfig {}

fn indexes() -> &'static Mutex<HashMap<String, FakeVectorIo>> {
    static INDEXES: OnceLock<Mutex<HashMap<String, FakeVectorIo>>> = OnceLock::new();
    INDEXES.get_or_init(Mutex::default)
}

fn file_stores() -> &'static Mutex<HashMap<String, Arc<FakeFiles>>> {
    static FILES: OnceLock<Mutex<HashMap<String, Arc<FakeFiles>>>> = OnceLock::new();
    FILES.get_or_init(Mutex::default)
}

async fn build_vector_io(_ctx: BuildContext, config: MemoryConfig) -> Result<Arc<dyn VectorIo>> {
    let mut all = indexes().lock();
    let fake = all
        .entry(config.name.clone())
        .or_insert_with(|| if config.keyword { FakeVectorIo::new() } else { FakeVectorIo::vector_only() })
        .reopen();
    Ok(Arc::new(fake))
}

lls_api_vector_io::register_provider! {
    provider_type: "inline::memory",
    description: "in-memory vector index (tests)",
    sample_config: "name: x\n",
    config: MemoryConfig,
    build: build_vector_io,
}

async fn build_files(_ctx: BuildContext, config: MemoryConfig) -> Result<Arc<dyn Files>> {
    let files: Arc<dyn Files> = files_named(&config.name);
    Ok(files)
}

fn files_named(name: &str) -> Arc<FakeFiles> {
    file_stores().lock().entry(name.to_owned()).or_default().clone()
}

lls_api_files::register_provider! {
    provider_type: "inline::memory",
    description: "in-memory files (tests)",
    sample_config: "name: x\n",
    config: MemoryConfig,
    build: build_files,
}

// ---- harness -------------------------------------------------------------------------------

fn run_yaml(dir: &std::path::Path, name: &str) -> String {
    format!(
        r#"
version: 2
image_name: vector-stores-http
apis: [inference, vector_io, files]
providers:
  inference:
  - provider_id: fake
    provider_type: inline::fake
    config: {{}}
  vector_io:
  - provider_id: memory
    provider_type: inline::memory
    config: {{name: {name}-kw}}
  - provider_id: vec-only
    provider_type: inline::memory
    config: {{name: {name}-vec, keyword: false}}
  files:
  - provider_id: files
    provider_type: inline::memory
    config: {{name: {name}}}
storage:
  backends:
    kv_default: {{type: kv_sqlite, db_path: {dir}/kv.db}}
    sql_default: {{type: sql_sqlite, db_path: {dir}/sql.db}}
  stores:
    metadata: {{backend: kv_default, namespace: registry}}
    inference: {{backend: sql_default, table_name: inference_store}}
vector_stores:
  default_provider_id: memory
  default_embedding_model: {{provider_id: fake, model_id: fake-embed}}
server:
  port: 8321
"#,
        dir = dir.display()
    )
}

struct App {
    router: Router,
    files: Arc<FakeFiles>,
}

async fn app_on(dir: &std::path::Path, name: &str) -> App {
    let config = lls_config::RunConfig::from_yaml_str(&run_yaml(dir, name), &|_| None).unwrap();
    config.validate().unwrap();
    let stack = lls_registry::Stack::build(config).await.unwrap();
    App { router: lls_server::app(Arc::new(stack)).unwrap(), files: files_named(name) }
}

async fn app() -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let name = uuid::Uuid::new_v4().simple().to_string();
    (app_on(dir.path(), &name).await, dir)
}

async fn call(app: &Router, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let raw = body.map(|b| b.to_string());
    call_raw(app, method, path, raw.as_deref()).await
}

async fn call_raw(app: &Router, method: Method, path: &str, body: Option<&str>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map(|b| Body::from(b.to_owned())).unwrap_or_else(Body::empty))
        .unwrap();
    let (status, text) = send(app, req).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// One request through the app; the status and the body as text.
pub(super) async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

pub(super) async fn ok(app: &Router, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, v) = call(app, method.clone(), path, body).await;
    assert_eq!(status, StatusCode::OK, "{method} {path}: {v}");
    v
}

/// A 4xx with OpenAI's error object and the `detail` string.
async fn client_error(app: &Router, method: Method, path: &str, body: Option<Value>) -> String {
    let (status, v) = call(app, method.clone(), path, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {v}");
    let message = v["error"]["message"].as_str().unwrap().to_owned();
    assert_eq!(v["detail"], message.as_str());
    assert_eq!(v["error"]["type"], "invalid_request_error");
    message
}

/// Reads `path` (a file batch, or a file in a store) until its status is no longer
/// `in_progress`; panics after 5 s.
pub(super) async fn wait_while_in_progress(app: &Router, path: &str) -> Value {
    for _ in 0..500 {
        let b = ok(app, Method::GET, path, None).await;
        if b["status"] != "in_progress" {
            return b;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{path} is still in_progress after 5 s");
}

const CHUNKS: &str = r#"[
  {"content": "Python is a high-level programming language.", "metadata": {"document_id": "doc1", "topic": "programming"}},
  {"content": "Neural networks are inspired by animal brains.", "metadata": {"document_id": "doc2", "topic": "ai"}}
]"#;

// ---- tests ---------------------------------------------------------------------------------

#[tokio::test]
async fn store_routes_and_their_aliases() {
    let (app, _dir) = app().await;
    let vs = ok(&app.router, Method::POST, "/v1/vector_stores", Some(json!({"name": "s1", "metadata": {"k": "v"}}))).await;
    let id = vs["id"].as_str().unwrap().to_owned();
    assert_eq!(vs["object"], "vector_store");
    assert_eq!(vs["metadata"]["provider_id"], "memory");
    assert_eq!(vs["file_counts"], json!({"completed": 0, "cancelled": 0, "failed": 0, "in_progress": 0, "total": 0}));
    let vs2 = ok(&app.router, Method::POST, "/v1/openai/v1/vector_stores", Some(json!({"name": "s2", "provider_id": "vec-only"}))).await;
    assert_eq!(vs2["metadata"]["provider_id"], "vec-only");

    let list = ok(&app.router, Method::GET, "/v1/vector_stores?limit=1&order=asc", None).await;
    assert_eq!((list["data"][0]["id"].as_str(), list["has_more"].as_bool()), (Some(id.as_str()), Some(true)));
    let list = ok(&app.router, Method::GET, "/v1/openai/v1/vector_stores", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert_eq!(list["object"], "list");

    assert_eq!(ok(&app.router, Method::GET, &format!("/v1/vector_stores/{id}"), None).await["name"], "s1");
    let updated = ok(&app.router, Method::POST, &format!("/v1/vector_stores/{id}"), Some(json!({"name": "renamed"}))).await;
    assert_eq!(updated["name"], "renamed");
    let deleted = ok(&app.router, Method::DELETE, &format!("/v1/openai/v1/vector_stores/{id}"), None).await;
    assert_eq!(deleted, json!({"id": id, "object": "vector_store.deleted", "deleted": true}));
    let message = client_error(&app.router, Method::GET, &format!("/v1/vector_stores/{id}"), None).await;
    assert!(message.starts_with(&format!("Vector_store `{id}` not served by any of the providers: memory, vec-only")), "{message}");

    let routes = ok(&app.router, Method::GET, "/v1/inspect/routes", None).await.to_string();
    for path in ["/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel", "/v1/openai/v1/vector_stores/{vector_store_id}/search", "/v1/vector-io/query"] {
        assert!(routes.contains(path), "{path} missing from /v1/inspect/routes");
    }
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_openai_error_json() {
    let (app, _dir) = app().await;
    let id = ok(&app.router, Method::POST, "/v1/vector_stores", Some(json!({}))).await["id"].as_str().unwrap().to_owned();
    let search = format!("/v1/vector_stores/{id}/search");
    let m = client_error(&app.router, Method::POST, &search, Some(json!({"query": "q", "search_mode": "fuzzy"}))).await;
    assert!(m.contains("search_mode must be one of"), "{m}");
    client_error(&app.router, Method::POST, &search, Some(json!({"query": "q", "max_num_results": 51}))).await;
    client_error(&app.router, Method::POST, &search, Some(json!({"query": "q", "filters": {"type": "near"}}))).await;
    client_error(&app.router, Method::POST, &search, Some(json!({"max_num_results": 2}))).await;
    let (status, _) = call_raw(&app.router, Method::POST, &search, Some("{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    client_error(&app.router, Method::POST, "/v1/vector_stores", Some(json!({"provider_id": "nope"}))).await;
    client_error(&app.router, Method::POST, "/v1/vector_stores", Some(json!({"embedding_dimension": "x"}))).await;
    client_error(&app.router, Method::POST, "/v1/vector_stores", Some(json!({"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 5000}}}))).await;
    let (status, v) = call(&app.router, Method::POST, "/v1/vector_stores", Some(json!({"embedding_model": "fake/nope"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    client_error(&app.router, Method::GET, &format!("/v1/vector_stores/{id}/files?limit=0"), None).await;
    client_error(&app.router, Method::GET, &format!("/v1/vector_stores/{id}/files?filter=done"), None).await;
    client_error(&app.router, Method::GET, "/v1/vector_stores/vs_nope/files", None).await;
    client_error(&app.router, Method::GET, &format!("/v1/vector_stores/{id}/files/file-nope"), None).await;
    client_error(&app.router, Method::GET, &format!("/v1/vector_stores/{id}/file_batches/batch_nope"), None).await;
    client_error(&app.router, Method::POST, "/v1/vector_stores/vs_nope/file_batches", Some(json!({"file_ids": ["f"]}))).await;
    client_error(&app.router, Method::POST, "/v1/vector-io/insert", Some(json!({"vector_db_id": id, "chunks": [{"content": "x", "embedding": [1.0]}]}))).await;
    client_error(&app.router, Method::POST, "/v1/vector-io/query", Some(json!({"vector_db_id": id, "query": "q", "params": {"mode": "nope"}}))).await;
    client_error(&app.router, Method::POST, "/v1/vector-io/query", Some(json!({"vector_db_id": "vs_nope", "query": "q"}))).await;
}

#[tokio::test]
async fn file_routes_ingest_search_and_detach() {
    let (app, _dir) = app().await;
    let file = app.files.add("notes.txt", b"The secret string is foobazbar.");
    let vs = ok(&app.router, Method::POST, "/v1/vector_stores", Some(json!({"file_ids": [file, "file-missing"]}))).await;
    let id = vs["id"].as_str().unwrap().to_owned();
    assert_eq!((vs["file_counts"]["completed"].as_u64(), vs["file_counts"]["failed"].as_u64()), (Some(1), Some(1)));

    let other = app.files.add("other.md", b"# Other\n\nSomething else entirely.");
    let attached = ok(&app.router, Method::POST, &format!("/v1/vector_stores/{id}/files"), Some(json!({"file_id": other, "attributes": {"a": 1}, "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}}}))).await;
    assert_eq!((attached["status"].as_str(), attached["last_error"].is_null()), (Some("completed"), true));
    assert_eq!(attached["chunking_strategy"]["static"]["max_chunk_size_tokens"], 200);

    let failed = ok(&app.router, Method::GET, &format!("/v1/vector_stores/{id}/files?filter=failed"), None).await;
    assert_eq!(failed["data"][0]["id"], "file-missing");
    assert_eq!(failed["data"][0]["last_error"]["code"], "invalid_file");
    let all = ok(&app.router, Method::GET, &format!("/v1/openai/v1/vector_stores/{id}/files?limit=2&order=desc"), None).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    assert_eq!(all["has_more"], true);

    let page = ok(&app.router, Method::POST, &format!("/v1/vector_stores/{id}/search"), Some(json!({"query": "secret string", "max_num_results": 1}))).await;
    assert_eq!(page["object"], "vector_store.search_results.page");
    assert_eq!(page["search_query"], "secret string");
    assert_eq!(page["data"][0]["file_id"], json!(file));
    assert_eq!(page["data"][0]["filename"], "notes.txt");
    assert_eq!(page["data"][0]["content"][0]["type"], "text");
    assert!(page["next_page"].is_null());

    let f = ok(&app.router, Method::GET, &format!("/v1/vector_stores/{id}/files/{other}"), None).await;
    assert_eq!(f["attributes"]["a"], 1);
    let f = ok(&app.router, Method::POST, &format!("/v1/vector_stores/{id}/files/{other}"), Some(json!({"attributes": {"a": 2}}))).await;
    assert_eq!(f["attributes"]["a"], 2);
    let contents = ok(&app.router, Method::GET, &format!("/v1/vector_stores/{id}/files/{file}/content"), None).await;
    assert_eq!(contents["content"], json!([{"type": "text", "text": "The secret string is foobazbar."}]));
    assert_eq!(contents["filename"], "notes.txt");
    // OpenAI's page of file content beside 0.3.5's fields.
    assert_eq!(contents["object"], "vector_store.file_content.page");
    assert_eq!(contents["data"], contents["content"]);
    assert_eq!((contents["has_more"].as_bool(), contents["next_page"].is_null()), (Some(false), true));

    let deleted = ok(&app.router, Method::DELETE, &format!("/v1/vector_stores/{id}/files/{file}"), None).await;
    assert_eq!(deleted["object"], "vector_store.file.deleted");
    let page = ok(&app.router, Method::POST, &format!("/v1/vector_stores/{id}/search"), Some(json!({"query": "foobazbar", "search_mode": "keyword"}))).await;
    assert_eq!(page["data"], json!([]));
    let vs = ok(&app.router, Method::GET, &format!("/v1/vector_stores/{id}"), None).await;
    assert_eq!(vs["file_counts"]["total"], 2);
}

#[tokio::test]
async fn an_attach_whose_client_gave_up_still_completes() {
    let (app, _dir) = app().await;
    let vs = ok(&app.router, Method::POST, "/v1/vector_stores", Some(json!({}))).await;
    let id = vs["id"].as_str().unwrap().to_owned();
    let file = app.files.add("notes.txt", b"The secret string is foobazbar.");
    *app.files.delay.lock() = std::time::Duration::from_millis(300);
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/vector_stores/{id}/files"))
        .header("content-type", "application/json")
        .body(Body::from(json!({"file_id": file}).to_string()))
        .unwrap();
    // The client disconnects midway: the request future is dropped.
    assert!(tokio::time::timeout(std::time::Duration::from_millis(50), app.router.clone().oneshot(request)).await.is_err());
    let path = format!("/v1/vector_stores/{id}/files/{file}");
    assert_eq!(ok(&app.router, Method::GET, &path, None).await["status"], "in_progress");
    let mut status = Value::Null;
    for _ in 0..300 {
        status = ok(&app.router, Method::GET, &path, None).await["status"].clone();
        if status != "in_progress" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(status, "completed");
    let page = ok(&app.router, Method::POST, &format!("/v1/vector_stores/{id}/search"), Some(json!({"query": "secret string"}))).await;
    assert_eq!(page["data"][0]["file_id"], json!(file));
}

#[tokio::test]
async fn file_batch_routes() {
    let (app, _dir) = app().await;
    let id = ok(&app.router, Method::POST, "/v1/vector_stores", Some(json!({}))).await["id"].as_str().unwrap().to_owned();
    let files: Vec<String> = (0..4).map(|i| app.files.add(&format!("b{i}.txt"), format!("batch file {i}").as_bytes())).collect();
    let batch = ok(&app.router, Method::POST, &format!("/v1/vector_stores/{id}/file_batches"), Some(json!({"file_ids": files, "attributes": {"x": "y"}}))).await;
    assert_eq!(batch["object"], "vector_store.file_batch");
    assert_eq!(batch["file_counts"]["total"], 4);
    let batch_id = batch["id"].as_str().unwrap().to_owned();
    let done = wait_while_in_progress(&app.router, &format!("/v1/openai/v1/vector_stores/{id}/file_batches/{batch_id}")).await;
    assert_eq!((done["status"].as_str(), done["file_counts"]["completed"].as_u64()), (Some("completed"), Some(4)));
    let listed = ok(&app.router, Method::GET, &format!("/v1/vector_stores/{id}/file_batches/{batch_id}/files?limit=3"), None).await;
    assert_eq!((listed["data"].as_array().unwrap().len(), listed["has_more"].as_bool()), (3, Some(true)));
    let m = client_error(&app.router, Method::POST, &format!("/v1/vector_stores/{id}/file_batches/{batch_id}/cancel"), None).await;
    assert!(m.contains("Cannot cancel batch"), "{m}");

    *app.files.delay.lock() = std::time::Duration::from_millis(300);
    let more: Vec<String> = (0..6).map(|i| app.files.add(&format!("c{i}.txt"), format!("cancel me {i}").as_bytes())).collect();
    let batch = ok(&app.router, Method::POST, &format!("/v1/vector_stores/{id}/file_batches"), Some(json!({"file_ids": more}))).await;
    let batch_id = batch["id"].as_str().unwrap();
    let cancelled = ok(&app.router, Method::POST, &format!("/v1/vector_stores/{id}/file_batches/{batch_id}/cancel"), None).await;
    assert_eq!(cancelled["status"], "cancelled");
}

#[tokio::test]
async fn native_insert_and_query_routes() {
    let (app, _dir) = app().await;
    for provider in ["memory", "vec-only"] {
        let id = ok(&app.router, Method::POST, "/v1/vector_stores", Some(json!({"provider_id": provider}))).await["id"].as_str().unwrap().to_owned();
        let chunks: Value = serde_json::from_str(CHUNKS).unwrap();
        let inserted = ok(&app.router, Method::POST, "/v1/vector-io/insert", Some(json!({"vector_db_id": id, "chunks": chunks}))).await;
        assert!(inserted.is_null());
        let r = ok(&app.router, Method::POST, "/v1/vector-io/query", Some(json!({"vector_db_id": id, "query": "What inspired neural networks?"}))).await;
        assert_eq!(r["chunks"][0]["metadata"]["document_id"], "doc2", "{provider}");
        assert_eq!(r["chunks"].as_array().unwrap().len(), r["scores"].as_array().unwrap().len());
        let params = json!({"mode": "hybrid", "max_chunks": 1, "ranker": {"strategy": "weighted", "params": {"weights": [0.3, 0.7]}}});
        let r = ok(&app.router, Method::POST, "/v1/vector-io/query", Some(json!({"vector_db_id": id, "query": "python", "params": params}))).await;
        assert_eq!(r["chunks"][0]["metadata"]["document_id"], "doc1", "{provider}");
        let search = ok(&app.router, Method::POST, &format!("/v1/vector_stores/{id}/search"), Some(json!({"query": "python", "search_mode": "keyword", "filters": {"type": "eq", "key": "topic", "value": "programming"}}))).await;
        assert_eq!(search["data"][0]["attributes"]["document_id"], "doc1", "{provider}");
    }
}

#[tokio::test]
async fn a_restart_on_the_same_directory_keeps_stores_files_and_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let name = uuid::Uuid::new_v4().simple().to_string();
    let (id, file) = {
        let app = app_on(dir.path(), &name).await;
        let file = app.files.add("kept.txt", b"The secret string is foobazbar.");
        let id = ok(&app.router, Method::POST, "/v1/vector_stores", Some(json!({"name": "kept", "file_ids": [file]}))).await["id"].as_str().unwrap().to_owned();
        let chunks: Value = serde_json::from_str(CHUNKS).unwrap();
        ok(&app.router, Method::POST, "/v1/vector-io/insert", Some(json!({"vector_db_id": id, "chunks": chunks}))).await;
        (id, file)
    };
    let app = app_on(dir.path(), &name).await;
    let vs = ok(&app.router, Method::GET, &format!("/v1/vector_stores/{id}"), None).await;
    assert_eq!((vs["name"].as_str(), vs["file_counts"]["completed"].as_u64()), (Some("kept"), Some(1)));
    let f = ok(&app.router, Method::GET, &format!("/v1/vector_stores/{id}/files/{file}"), None).await;
    assert_eq!(f["status"], "completed");
    let page = ok(&app.router, Method::POST, &format!("/v1/vector_stores/{id}/search"), Some(json!({"query": "secret string", "max_num_results": 1}))).await;
    assert!(page["data"][0]["content"][0]["text"].as_str().unwrap().contains("foobazbar"));
    let r = ok(&app.router, Method::POST, "/v1/vector-io/query", Some(json!({"vector_db_id": id, "query": "python", "params": {"mode": "keyword"}}))).await;
    assert_eq!(r["chunks"][0]["metadata"]["document_id"], "doc1");
    ok(&app.router, Method::DELETE, &format!("/v1/vector_stores/{id}/files/{file}"), None).await;
}
