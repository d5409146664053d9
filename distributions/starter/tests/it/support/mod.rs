//! Shared by the modules of this test binary: a stack and its app from a run.yaml, the run.yaml's
//! common `storage:` section, a run.yaml for RAG (fake embeddings, sqlite-vec, localfs,
//! rag-runtime), and requests to the app in process (`oneshot`). For the edge and
//! process tests: a tiny OpenAI-compatible backend that misbehaves on request (by model name), a
//! run.yaml around it, and raw-socket helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing;
use futures::StreamExt;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

// ---- a server process's log -----------------------------------------------------------------

/// The lines `pipe` (a child's stderr) writes, collected on a thread of their own as they come,
/// so the child never blocks on a full pipe and a test can read what it logged so far.
pub fn collect_lines(pipe: impl std::io::Read + Send + 'static) -> Arc<std::sync::Mutex<Vec<String>>> {
    use std::io::BufRead;
    let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

// ---- a stack from a run.yaml ---------------------------------------------------------------

/// The `storage:` section of a test run.yaml: SQLite `kv_default` and `sql_default` backends in
/// `dir`, and the registry's metadata store.
pub fn storage_yaml(dir: &Path) -> String {
    storage_with(dir, "")
}

/// [`storage_yaml`] with the inference store (chat completions are stored) as well.
pub fn storage_yaml_with_inference_store(dir: &Path) -> String {
    storage_with(
        dir,
        "    inference: {backend: sql_default, table_name: inference_store}\n",
    )
}

fn storage_with(dir: &Path, more_stores: &str) -> String {
    format!(
        "storage:
  backends:
    kv_default: {{type: kv_sqlite, db_path: {dir}/kv.db}}
    sql_default: {{type: sql_sqlite, db_path: {dir}/sql.db}}
  stores:
    metadata: {{backend: kv_default, namespace: registry}}
{more_stores}",
        dir = dir.display()
    )
}

/// A run.yaml named `image_name` with real providers for RAG in `dir`: the deterministic
/// `inline::fake` inference (`fake-embed`, the vector stores' default embedding model),
/// `inline::sqlite-vec` (their default provider), `inline::localfs` files and
/// `inline::rag-runtime`; `more` is added as top-level sections (each line ending in a newline).
pub fn rag_stack_yaml(dir: &Path, image_name: &str, more: &str) -> String {
    format!(
        r#"
version: 2
image_name: {image_name}
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
{storage}vector_stores:
  default_provider_id: sqlite-vec
  default_embedding_model: {{provider_id: fake, model_id: fake-embed}}
{more}server:
  port: 8321
"#,
        dir = dir.display(),
        storage = storage_yaml(dir)
    )
}

/// The stack of a run.yaml (read without environment variables, and valid), or why it did not build.
pub async fn stack_from_yaml(yaml: &str) -> lls_api_common::Result<lls_registry::Stack> {
    let config = lls_config::RunConfig::from_yaml_str(yaml, &|_| None).unwrap();
    config.validate().unwrap();
    lls_registry::Stack::build(config).await
}

/// The HTTP app over the stack of a run.yaml (which must build).
pub async fn app_from_yaml(yaml: &str) -> Router {
    lls_server::app(Arc::new(stack_from_yaml(yaml).await.unwrap())).unwrap()
}

/// [`app_from_yaml`] for the run.yaml `run_yaml` writes for a new temporary directory, which
/// comes back with the app (the stack's files live there until it is dropped).
pub async fn app_in_tempdir(run_yaml: impl FnOnce(&Path) -> String) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let app = app_from_yaml(&run_yaml(dir.path())).await;
    (app, dir)
}

// ---- requests in process -------------------------------------------------------------------

/// Sends `method path` to `app` in process (`oneshot`) with `content-type: application/json`,
/// the extra `headers` and `body` (none: empty); the status and the body as text.
pub async fn send_text(
    app: &Router,
    method: Method,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let body = body
        .map(|b| Body::from(b.to_owned()))
        .unwrap_or_else(Body::empty);
    let res = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// [`send_text`] without extra headers.
pub async fn call_text(
    app: &Router,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, String) {
    send_text(app, method, path, body, &[]).await
}

/// The body as JSON, or as a JSON string when it is not JSON (an empty body is `""`).
pub fn json_or_text(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// [`call_text`] with a JSON body; the answer's body as JSON (see [`json_or_text`]).
pub async fn call(
    app: &Router,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let body = body.map(|b| b.to_string());
    let (status, text) = call_text(app, method, path, body.as_deref()).await;
    (status, json_or_text(text))
}

/// `GET path` (see [`call`]).
pub async fn get(app: &Router, path: &str) -> (StatusCode, Value) {
    call(app, Method::GET, path, None).await
}

/// `POST path` with a JSON body (see [`call`]).
pub async fn post(app: &Router, path: &str, body: Value) -> (StatusCode, Value) {
    call(app, Method::POST, path, Some(body)).await
}

/// `DELETE path` (see [`call`]).
pub async fn delete(app: &Router, path: &str) -> (StatusCode, Value) {
    call(app, Method::DELETE, path, None).await
}

// ---- a misbehaving backend -----------------------------------------------------------------

/// What the backend answers, by model name (all with 200 unless said):
/// `bad-empty` an empty event stream, `bad-html` an HTML page, `bad-text` plain text,
/// `bad-half` one chunk then a broken one, `bad-cut` one chunk then a cut connection,
/// `forever` a chunk every 100 ms for a minute, anything else two chunks and `[DONE]`.
pub const MODELS: [&str; 6] = [
    "bad-empty",
    "bad-html",
    "bad-text",
    "bad-half",
    "bad-cut",
    "forever",
];

pub async fn backend() -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/v1/models", routing::get(models))
        .route(
            "/v1/chat/completions",
            routing::post(|body: Bytes| answer(body, true)),
        )
        .route(
            "/v1/completions",
            routing::post(|body: Bytes| answer(body, false)),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn models() -> Response {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|m| json!({"id": m, "object": "model", "owned_by": "test", "created": 1}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

fn chunk(chat: bool, text: &str) -> Bytes {
    let value = if chat {
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
    } else {
        json!({"id": "c1", "object": "text_completion", "created": 1, "model": "m",
               "choices": [{"index": 0, "text": text, "finish_reason": null, "logprobs": null}]})
    };
    Bytes::from(format!("data: {value}\n\n"))
}

async fn answer(body: Bytes, chat: bool) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let model = request["model"].as_str().unwrap_or_default().to_owned();
    let sse = |body: Body| ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response();
    match model.as_str() {
        "bad-empty" => sse(Body::empty()),
        "bad-html" => (
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        "bad-text" => (
            [(header::CONTENT_TYPE, "text/plain")],
            "upstream connect error or disconnect",
        )
            .into_response(),
        "bad-half" => sse(Body::from(
            [
                chunk(chat, "one"),
                Bytes::from_static(b"data: {not json\n\n"),
            ]
            .concat(),
        )),
        "bad-cut" => {
            let first = futures::stream::iter([Ok::<_, std::io::Error>(chunk(chat, "one"))]);
            let cut = futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(std::io::Error::other("cut"))
            });
            sse(Body::from_stream(first.chain(cut)))
        }
        "forever" => {
            let ticks = futures::stream::iter(0..600).then(move |i| async move {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok::<_, std::io::Error>(chunk(chat, "tick"))
            });
            sse(Body::from_stream(ticks))
        }
        _ => sse(Body::from(
            [
                chunk(chat, "hello"),
                chunk(chat, " world"),
                Bytes::from_static(b"data: [DONE]\n\n"),
            ]
            .concat(),
        )),
    }
}

/// A run.yaml with the fake provider and a `remote::vllm` provider `bad` on the backend;
/// `server` is the YAML body of the `server:` section (indented by two spaces).
pub fn run_yaml(dir: &std::path::Path, backend: SocketAddr, server: &str) -> String {
    format!(
        r#"
version: 2
image_name: edge-test
apis: [inference]
providers:
  inference:
  - provider_id: fake
    provider_type: inline::fake
    config:
      embedding_dimension: 8
  - provider_id: bad
    provider_type: remote::vllm
    config:
      url: http://{backend}/v1
{storage}server:
  port: 8321
{server}
"#,
        storage = storage_yaml_with_inference_store(dir)
    )
}

/// Sends `request` on a new connection and reads until the server closes it (or `wait` passes).
pub async fn raw(addr: SocketAddr, request: &[u8], wait: Duration) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    read_to_close(&mut tcp, wait).await
}

/// Everything the server sends until it closes the connection or `wait` passes.
pub async fn read_to_close(tcp: &mut TcpStream, wait: Duration) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 8192];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the server closed `tcp` within `wait` (a read returns end of file or an error).
pub async fn closed_within(tcp: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(wait, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    read.await.is_ok()
}

/// The status and JSON body of a raw HTTP/1.1 answer.
pub fn parse_answer(text: &str) -> (u16, Value) {
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())),
    )
}

/// SSE `data:` payloads of a body, parsed.
pub fn events(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            serde_json::from_str(e.trim().strip_prefix("data: ").unwrap_or(e))
                .unwrap_or(Value::String(e.to_owned()))
        })
        .collect()
}

pub fn is_openai_error(v: &Value) -> bool {
    v["error"]["message"].is_string() && v["error"]["type"].is_string() && v["detail"].is_string()
}

pub const OK: StatusCode = StatusCode::OK;

/// Serves `stack` on a real socket (127.0.0.1, a free port) with its run.yaml's limits; the
/// server stops when the returned shutdown begins.
pub async fn serve_stack(
    stack: std::sync::Arc<lls_registry::Stack>,
) -> (
    SocketAddr,
    lls_server::Shutdown,
    tokio::task::JoinHandle<()>,
) {
    let mut options = lls_server::ServeOptions::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    options.limits = stack.config.server.limits();
    let server = lls_server::Server::bind(options).await.unwrap();
    let addr = server.local_addr();
    let shutdown = server.shutdown();
    let app = lls_server::app_with(stack, &shutdown).unwrap();
    let task = tokio::spawn(async move { server.run(app).await.unwrap() });
    (addr, shutdown, task)
}
