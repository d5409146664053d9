//! An in-process, deterministic OpenAI-compatible server (axum) for testing the OpenAI-like
//! providers over real HTTP: SSE framing, auth, strict model lists and injected failures.
//!
//! ```ignore
//! let mock = MockOpenAi::builder().api_key("k").models(["mock-llm", "mock-embed"]).start().await?;
//! let provider = OpenAiProvider::new(&mock.base_url(), "k");
//! // ... call it, then:
//! assert_eq!(mock.requests()[0].header("authorization"), Some("Bearer k"));
//! ```
//!
//! What it answers is decided by [`lls_fake_model::responder`]; model names such as `error-429`, `garbage`,
//! `slow-50`, `midstream-error` and `empty-stream` inject failures ([`lls_fake_model::failure`]).
//! `fixed-llm` and `fixed-embed` get answers built once ([`fixed`]), for benchmarks.

pub mod fixed;
mod handlers;
pub(crate) mod wire;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use lls_fake_model::embedding::DEFAULT_DIMENSION;

/// How the mock behaves. [`MockConfig::default`] serves `mock-llm` and `mock-embed`, answers any
/// model name, needs no API key and records nothing.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// What `GET /v1/models` lists.
    pub models: Vec<String>,
    /// Answer 404 `model_not_found` for models not in `models` (failure-injection names pass).
    pub strict_models: bool,
    /// When set, every request needs `Authorization: Bearer <key>`.
    pub api_key: Option<String>,
    /// The embedding length when a request names no `dimensions`.
    pub embedding_dimension: usize,
    /// Keep every request for [`MockOpenAi::requests`]; off for benchmarks.
    pub record_requests: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            models: vec!["mock-llm".into(), "mock-embed".into()],
            strict_models: false,
            api_key: None,
            embedding_dimension: DEFAULT_DIMENSION,
            record_requests: false,
        }
    }
}

/// A request as the mock received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Lower-cased names: `authorization`, `content-type`, `accept`, `user-agent`, W3C
    /// `traceparent`/`tracestate`, `openai-*` and `x-*` headers.
    pub headers: BTreeMap<String, String>,
    /// The parsed JSON body; `None` for GET requests and bodies that are not JSON.
    pub body: Option<Value>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    fn new(method: &str, path: &str, headers: &HeaderMap, body: Option<Value>) -> Self {
        let kept = headers.iter().filter_map(|(name, value)| {
            let n = name.as_str();
            let keep = matches!(
                n,
                "authorization" | "content-type" | "accept" | "user-agent" | "traceparent" | "tracestate"
            ) || n.starts_with("x-")
                || n.starts_with("openai-");
            keep.then(|| {
                (
                    n.to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
        });
        RecordedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: kept.collect(),
            body,
        }
    }
}

/// Shared by the handlers of one server.
pub(crate) struct MockState {
    config: MockConfig,
    records: Option<Arc<Mutex<Vec<RecordedRequest>>>>,
    next_id: AtomicU64,
}

/// The mock's routes, for serving it elsewhere or testing it with `oneshot`.
pub fn router(config: MockConfig) -> Router {
    build_router(config).0
}

pub(crate) fn build_router(config: MockConfig) -> (Router, Option<Arc<Mutex<Vec<RecordedRequest>>>>) {
    let records = config
        .record_requests
        .then(|| Arc::new(Mutex::new(Vec::new())));
    let state = Arc::new(MockState {
        config,
        records: records.clone(),
        next_id: AtomicU64::new(1),
    });
    let router = Router::new()
        .route("/v1/models", get(handlers::list_models))
        .route("/v1/chat/completions", post(handlers::chat_completions))
        .route("/v1/completions", post(handlers::completions))
        .route("/v1/embeddings", post(handlers::embeddings))
        .fallback(handlers::not_found)
        .with_state(state);
    (router, records)
}

/// Serves the mock on `listener` until the process ends (the standalone binary's loop).
pub async fn serve(listener: TcpListener, config: MockConfig) -> std::io::Result<()> {
    axum::serve(nodelay(listener), router(config)).await
}

/// Small SSE frames must not wait for Nagle's algorithm.
fn nodelay(listener: TcpListener) -> impl axum::serve::Listener<Addr = SocketAddr> {
    listener.tap_io(|tcp| {
        // Only latency suffers if this fails, so there is nothing to report.
        let _ = tcp.set_nodelay(true);
    })
}

/// A running mock on `127.0.0.1:<ephemeral port>`; stops on [`MockOpenAi::shutdown`] or drop.
pub struct MockOpenAi {
    addr: SocketAddr,
    records: Option<Arc<Mutex<Vec<RecordedRequest>>>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for MockOpenAi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockOpenAi")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockOpenAi {
    /// Starts a mock with the default config, recording requests.
    pub async fn start() -> std::io::Result<MockOpenAi> {
        Self::builder().start().await
    }

    pub fn builder() -> MockOpenAiBuilder {
        MockOpenAiBuilder {
            config: MockConfig {
                record_requests: true,
                ..MockConfig::default()
            },
        }
    }

    /// Starts a mock with exactly this config.
    pub async fn start_with(config: MockConfig) -> std::io::Result<MockOpenAi> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (router, records) = build_router(config);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(nodelay(listener), router)
                .with_graceful_shutdown(async move {
                    // A dropped sender stops the server as well.
                    let _ = stopped.await;
                })
                .await
        });
        Ok(MockOpenAi {
            addr,
            records,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT/v1`, what OpenAI clients take as their base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, oldest first (empty when recording is off).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.records
            .as_ref()
            .map(|r| r.lock().clone())
            .unwrap_or_default()
    }

    pub fn clear_requests(&self) {
        if let Some(r) = &self.records {
            r.lock().clear();
        }
    }

    /// Stops accepting connections and waits for open ones to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // The server's own result does not matter once it is asked to stop.
            let _ = task.await;
        }
    }
}

impl Drop for MockOpenAi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Configures a [`MockOpenAi`] before starting it; requests are recorded unless turned off.
#[derive(Debug, Clone)]
pub struct MockOpenAiBuilder {
    config: MockConfig,
}

impl MockOpenAiBuilder {
    /// Requires `Authorization: Bearer <key>` on every request.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.config.api_key = Some(key.into());
        self
    }

    /// The models to list; giving a list also makes the mock strict about model names.
    pub fn models<I, S>(mut self, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.models = models.into_iter().map(Into::into).collect();
        self.config.strict_models = true;
        self
    }

    /// Whether unknown model names get 404 `model_not_found`.
    pub fn strict_models(mut self, strict: bool) -> Self {
        self.config.strict_models = strict;
        self
    }

    pub fn embedding_dimension(mut self, dimension: usize) -> Self {
        self.config.embedding_dimension = dimension;
        self
    }

    pub fn record_requests(mut self, record: bool) -> Self {
        self.config.record_requests = record;
        self
    }

    pub fn config(&self) -> &MockConfig {
        &self.config
    }

    pub async fn start(self) -> std::io::Result<MockOpenAi> {
        MockOpenAi::start_with(self.config).await
    }
}
