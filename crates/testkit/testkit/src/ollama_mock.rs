//! A mock of an Ollama server (axum, 127.0.0.1): its OpenAI-compatible API under `/v1` (the
//! test kit's OpenAI mock: chat, completions, embeddings, `/v1/models`, failure injection by
//! model name), and the native endpoints `remote::ollama` reads — `GET /api/tags` (the pulled
//! models, with Ollama's `details`), `GET /api/ps` (loaded models, its health check),
//! `GET /api/version` and `GET /` ("Ollama is running"). No authentication, as Ollama.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use axum::Json;
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::mock_openai::{self, MockConfig, RecordedRequest};

/// The running mock; stops when dropped.
pub struct OllamaMock {
    server: crate::local_server::LocalServer,
    records: Option<Arc<Mutex<Vec<RecordedRequest>>>>,
}

impl std::fmt::Debug for OllamaMock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OllamaMock").field("addr", &self.server.addr).finish_non_exhaustive()
    }
}

impl OllamaMock {
    /// Serves these pulled models (`name:tag`; names containing `embed` embed, with
    /// `embedding_dimension` floats) on a free port, recording the OpenAI-compatible requests.
    pub async fn start(models: &[&str], embedding_dimension: usize) -> std::io::Result<OllamaMock> {
        Self::start_on(models, embedding_dimension, 0).await
    }

    /// The same on 127.0.0.1:`port` (0: any free port).
    pub async fn start_on(models: &[&str], embedding_dimension: usize, port: u16) -> std::io::Result<OllamaMock> {
        let names: Vec<String> = models.iter().map(|m| (*m).to_owned()).collect();
        let config = MockConfig {
            models: names.clone(),
            strict_models: true,
            api_key: None,
            embedding_dimension,
            record_requests: true,
        };
        let (openai, records) = mock_openai::build_router(config);
        let native = Router::new()
            .route("/", get(|| async { "Ollama is running" }))
            .route("/api/version", get(|| async { Json(json!({"version": "0.12.6"})) }))
            .route("/api/tags", get(tags))
            .route("/api/ps", get(|| async { Json(json!({"models": []})) }))
            .with_state(Arc::new(names));
        let router = native.merge(openai);
        Ok(OllamaMock { server: crate::local_server::serve_on(router, port).await?, records })
    }

    /// `http://127.0.0.1:PORT`: what `remote::ollama` takes as `url` (the OpenAI API is under `/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The OpenAI-compatible requests received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.records.as_ref().map(|r| r.lock().clone()).unwrap_or_default()
    }
}

/// `GET /api/tags`: each model as Ollama describes a pulled one.
async fn tags(State(models): State<Arc<Vec<String>>>) -> Json<Value> {
    let listed: Vec<Value> = models
        .iter()
        .map(|name| {
            let family = if lls_fake_model::responder::is_embedding_model(name) { "nomic-bert" } else { "llama" };
            json!({"name": name, "model": name, "modified_at": "2025-10-01T12:00:00.000000000Z", "size": 274_302_450,
                "digest": format!("{:064x}", lls_fake_model::embedding::fnv1a(name.as_bytes())),
                "details": {"parent_model": "", "format": "gguf", "family": family, "families": [family], "parameter_size": "137M", "quantization_level": "F16"}})
        })
        .collect();
    Json(json!({ "models": listed }))
}
