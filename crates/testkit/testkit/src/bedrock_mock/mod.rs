//! A mock of Amazon Bedrock (the `bedrock-runtime` data plane and the `bedrock` control plane's
//! model list) in one axum server on 127.0.0.1, built from AWS's published API reference and
//! checked against boto3 (`scripts/bedrock-mock-compat.sh`).
//!
//! - Every request must carry a valid SigV4 signature (`AWS4-HMAC-SHA256`, service `bedrock`,
//!   the mock's region) by one of the known keys, made within 5 minutes: the mock recomputes it
//!   over the headers the client signed. Unknown keys get `UnrecognizedClientException`, a wrong
//!   secret or an old date `InvalidSignatureException` (403), as AWS answers.
//! - `POST /model/{modelId}/converse` and `/converse-stream` (the Converse API; the stream in
//!   AWS's binary event-stream framing: `messageStart`, `contentBlockStart/Delta/Stop`,
//!   `messageStop`, `metadata`), `POST /model/{modelId}/invoke` for Amazon Titan
//!   (`inputText`) and Cohere (`texts`) embedding models, and `GET /foundation-models`.
//!
//! Answers come from the deterministic model (`lls_fake_model::responder`); failures are
//! injected by model name as `lls_fake_model::failure` spells them (`midstream-error` ends a
//! stream with a `modelStreamErrorException` event), and a prompt longer than a model's context
//! (in words) is refused as Bedrock refuses it. Errors carry AWS's `{"message": ...}` body and
//! `x-amzn-ErrorType` header.

mod converse;
mod handlers;
mod sigv4;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use parking_lot::Mutex;
use serde_json::{Value, json};

pub use sigv4::{amz_date, parse_amz_date};

/// The access key id the mock accepts unless told otherwise.
pub const ACCESS_KEY_ID: &str = "AKIDLLSMOCKBEDROCK01";
/// Its secret access key.
pub const SECRET_ACCESS_KEY: &str = "lls-mock-bedrock-secret-access-key";

/// What a model produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    Embedding,
}

/// A foundation model the mock serves and lists.
#[derive(Debug, Clone, PartialEq)]
pub struct BedrockModel {
    pub model_id: String,
    pub provider_name: String,
    pub output: Output,
    /// Prompts longer than this many words are refused (Bedrock counts tokens).
    pub context_words: u64,
    /// The vector size of an embedding model.
    pub dimension: Option<u64>,
}

impl BedrockModel {
    /// A text (chat) model with a large context.
    pub fn text(model_id: &str, provider_name: &str) -> Self {
        BedrockModel { model_id: model_id.to_owned(), provider_name: provider_name.to_owned(), output: Output::Text, context_words: 128_000, dimension: None }
    }

    /// An embedding model of `dimension` and a context of `context_words`.
    pub fn embedding(model_id: &str, provider_name: &str, dimension: u64, context_words: u64) -> Self {
        BedrockModel {
            model_id: model_id.to_owned(),
            provider_name: provider_name.to_owned(),
            output: Output::Embedding,
            context_words,
            dimension: Some(dimension),
        }
    }

    /// The same model with another context length.
    pub fn with_context_words(mut self, words: u64) -> Self {
        self.context_words = words;
        self
    }
}

/// The models a mock lists unless told otherwise.
pub fn default_models() -> Vec<BedrockModel> {
    vec![
        BedrockModel::text("meta.llama3-1-8b-instruct-v1:0", "Meta"),
        BedrockModel::text("anthropic.claude-3-haiku-20240307-v1:0", "Anthropic"),
        BedrockModel::text("mock.tiny-context-v1:0", "llama-stack-rs").with_context_words(16),
        BedrockModel::embedding("amazon.titan-embed-text-v2:0", "Amazon", 1024, 8192),
        BedrockModel::embedding("amazon.titan-embed-text-v1", "Amazon", 1536, 8192),
        BedrockModel::embedding("cohere.embed-english-v3", "Cohere", 1024, 512),
    ]
}

/// One request the mock received (signed or not).
#[derive(Debug, Clone)]
pub struct BedrockRequest {
    pub method: String,
    /// The path as sent (percent-encoded).
    pub path: String,
    pub query: String,
    /// The access key id of the `Authorization` header, if any.
    pub access_key_id: Option<String>,
    pub security_token: Option<String>,
    /// The JSON body; null when empty or unparseable.
    pub body: Value,
}

struct BrState {
    keys: Vec<(String, String)>,
    region: String,
    models: Vec<BedrockModel>,
    requests: Mutex<Vec<BedrockRequest>>,
}

impl BrState {
    fn model(&self, id: &str) -> Option<&BedrockModel> {
        self.models.iter().find(|m| m.model_id == id || id.ends_with(&format!("foundation-model/{}", m.model_id)))
    }
}

/// Settings of a [`BedrockMock`]; [`BedrockMock::builder`] fills the defaults.
#[derive(Debug, Clone)]
pub struct BedrockMockBuilder {
    keys: Vec<(String, String)>,
    region: String,
    models: Vec<BedrockModel>,
    port: u16,
}

impl BedrockMockBuilder {
    /// Replaces the accepted keys with this pair (add more with [`Self::also_key`]).
    pub fn key(mut self, access_key_id: &str, secret_access_key: &str) -> Self {
        self.keys = vec![(access_key_id.to_owned(), secret_access_key.to_owned())];
        self
    }

    pub fn also_key(mut self, access_key_id: &str, secret_access_key: &str) -> Self {
        self.keys.push((access_key_id.to_owned(), secret_access_key.to_owned()));
        self
    }

    /// The region signatures must be scoped to.
    pub fn region(mut self, region: &str) -> Self {
        self.region = region.to_owned();
        self
    }

    pub fn models(mut self, models: Vec<BedrockModel>) -> Self {
        self.models = models;
        self
    }

    /// Serves on this loopback port (0: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub async fn start(self) -> std::io::Result<BedrockMock> {
        let state = Arc::new(BrState { keys: self.keys, region: self.region, models: self.models, requests: Mutex::new(Vec::new()) });
        let router = Router::new()
            .route("/model/{model_id}/converse", post(handlers::converse))
            .route("/model/{model_id}/converse-stream", post(handlers::converse_stream))
            .route("/model/{model_id}/invoke", post(handlers::invoke))
            .route("/foundation-models", get(handlers::list_foundation_models))
            .with_state(state.clone());
        Ok(BedrockMock { server: crate::local_server::serve_on(router, self.port).await?, state })
    }
}

/// The running mock; stops when dropped.
pub struct BedrockMock {
    server: crate::local_server::LocalServer,
    state: Arc<BrState>,
}

impl std::fmt::Debug for BedrockMock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BedrockMock").field("addr", &self.server.addr).finish_non_exhaustive()
    }
}

impl BedrockMock {
    /// Keys [`ACCESS_KEY_ID`]/[`SECRET_ACCESS_KEY`], region `us-east-1`, [`default_models`].
    pub fn builder() -> BedrockMockBuilder {
        BedrockMockBuilder {
            keys: vec![(ACCESS_KEY_ID.to_owned(), SECRET_ACCESS_KEY.to_owned())],
            region: "us-east-1".into(),
            models: default_models(),
            port: 0,
        }
    }

    /// `http://127.0.0.1:PORT`: the endpoint of both `bedrock-runtime` and `bedrock`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn region(&self) -> &str {
        &self.state.region
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<BedrockRequest> {
        self.state.requests.lock().clone()
    }
}

/// A refusal as AWS writes it: the status, `x-amzn-ErrorType` and `{"message": ...}`.
#[derive(Debug)]
pub(crate) struct AwsError {
    status: StatusCode,
    error_type: &'static str,
    message: String,
}

impl AwsError {
    pub(crate) fn new(status: u16, error_type: &'static str, message: impl Into<String>) -> Self {
        AwsError { status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), error_type, message: message.into() }
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "ValidationException", message)
    }
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(json!({"message": self.message}))).into_response();
        let kind = format!("{}:http://internal.amazon.com/coral/com.amazon.bedrock/", self.error_type);
        if let Ok(v) = HeaderValue::from_str(&kind) {
            response.headers_mut().insert(HeaderName::from_static("x-amzn-errortype"), v);
        }
        if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
            response.headers_mut().insert(HeaderName::from_static("x-amzn-requestid"), v);
        }
        response
    }
}

/// The answer Bedrock gives for an injected `error-<status>`, with its usual error type.
pub(crate) fn injected(status: u16) -> AwsError {
    let (kind, message): (&'static str, &str) = match status {
        400 => ("ValidationException", "Malformed input request (injected failure)"),
        401 | 403 => ("AccessDeniedException", "You don't have access to the model with the specified model ID. (injected failure)"),
        404 => ("ResourceNotFoundException", "Model not found (injected failure)"),
        408 => ("ModelTimeoutException", "Model has timed out in processing the request. (injected failure)"),
        424 => ("ModelErrorException", "The model returned an error (injected failure)"),
        429 => ("ThrottlingException", "Too many requests, please wait before trying again. (injected failure)"),
        503 => ("ServiceUnavailableException", "Bedrock is unable to process your request. (injected failure)"),
        _ => ("InternalServerException", "The server encountered an internal error (injected failure)"),
    };
    AwsError::new(status, kind, message)
}

#[cfg(test)]
mod tests;
