//! A mock of IBM watsonx.ai and the IBM Cloud IAM token service in one axum server on
//! 127.0.0.1, built from IBM's published API reference and checked against the official
//! `ibm-watsonx-ai` Python SDK (`scripts/watsonx-mock-compat.sh`).
//!
//! - IAM: `POST /identity/token` (form `grant_type=urn:ibm:params:oauth:grant-type:apikey`,
//!   `apikey`) issues JWT-shaped bearer tokens (payload with `exp`, which the SDK reads) for the
//!   known API keys, valid for a configurable time (`expiration` in the answer); unknown keys get
//!   IAM's 400 `BXNIM0415E`.
//! - watsonx.ai (`version=YYYY-MM-DD` on every call; a valid, unexpired `Authorization: Bearer`
//!   token and the known `project_id` on every inference call): `POST /ml/v1/text/chat`,
//!   `/ml/v1/text/chat_stream` (SSE: `id:` / `event: message` / `data:`), `/ml/v1/text/generation`,
//!   `/ml/v1/text/generation_stream`, `/ml/v1/text/embeddings`, and the public
//!   `GET /ml/v1/foundation_model_specs` (paged with `start`/`limit`).
//!
//! Answers come from the deterministic model (`lls_fake_model::responder`); failures are
//! injected by model name as `lls_fake_model::failure` spells them, and a prompt longer than a
//! model's `max_sequence_length` (in words) is refused as watsonx refuses it. Errors carry
//! watsonx's body `{"errors": [{"code", "message", "more_info"}], "trace", "status_code"}`.

mod handlers;
mod wire;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::Mutex;
use serde_json::{Value, json};

/// The grant type IBM Cloud IAM exchanges API keys with.
pub const APIKEY_GRANT_TYPE: &str = "urn:ibm:params:oauth:grant-type:apikey";

/// A foundation model the mock serves and lists.
#[derive(Debug, Clone, PartialEq)]
pub struct WatsonxModel {
    pub model_id: String,
    /// `text_chat`, `text_generation`, `embedding`, ...
    pub functions: Vec<String>,
    /// Prompts longer than this many words are refused (watsonx counts tokens).
    pub max_sequence_length: u64,
    /// For embedding models.
    pub embedding_dimension: Option<u64>,
}

impl WatsonxModel {
    /// A chat and text generation model with an 8192-token context.
    pub fn chat(model_id: &str) -> Self {
        WatsonxModel {
            model_id: model_id.to_owned(),
            functions: vec!["text_chat".into(), "text_generation".into()],
            max_sequence_length: 8192,
            embedding_dimension: None,
        }
    }

    /// An embedding model of `dimension` with a 512-token context.
    pub fn embedding(model_id: &str, dimension: u64) -> Self {
        WatsonxModel {
            model_id: model_id.to_owned(),
            functions: vec!["embedding".into()],
            max_sequence_length: 512,
            embedding_dimension: Some(dimension),
        }
    }

    /// The same model with another context length.
    pub fn with_max_sequence_length(mut self, length: u64) -> Self {
        self.max_sequence_length = length;
        self
    }

    fn serves(&self, function: &str) -> bool {
        self.functions.iter().any(|f| f == function)
    }
}

/// The models a mock lists unless told otherwise.
pub fn default_models() -> Vec<WatsonxModel> {
    vec![
        WatsonxModel::chat("ibm/granite-3-3-8b-instruct"),
        WatsonxModel::chat("meta-llama/llama-3-3-70b-instruct"),
        WatsonxModel::chat("ibm/granite-tiny-context").with_max_sequence_length(16),
        WatsonxModel::embedding("ibm/granite-embedding-278m-multilingual", 768),
        WatsonxModel::embedding("ibm/slate-30m-english-rtrvr", 384),
    ]
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct WatsonxRequest {
    pub method: String,
    pub path: String,
    /// The query string, undecoded.
    pub query: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The JSON body (IAM's form body as an object of its fields); null when unparseable.
    pub body: Value,
}

struct Issued {
    expiration: u64,
}

struct WxState {
    api_keys: Vec<String>,
    project_id: String,
    models: Vec<WatsonxModel>,
    ttl_secs: Mutex<u64>,
    tokens: Mutex<HashMap<String, Issued>>,
    grants: AtomicU64,
    counter: AtomicU64,
    requests: Mutex<Vec<WatsonxRequest>>,
}

/// Settings of a [`WatsonxMock`]; [`WatsonxMock::builder`] fills the defaults.
#[derive(Debug, Clone)]
pub struct WatsonxMockBuilder {
    api_keys: Vec<String>,
    project_id: String,
    token_ttl: Duration,
    models: Vec<WatsonxModel>,
    port: u16,
}

impl WatsonxMockBuilder {
    /// Replaces the accepted API keys with this one (repeat with [`Self::also_api_key`]).
    pub fn api_key(mut self, key: &str) -> Self {
        self.api_keys = vec![key.to_owned()];
        self
    }

    pub fn also_api_key(mut self, key: &str) -> Self {
        self.api_keys.push(key.to_owned());
        self
    }

    pub fn project_id(mut self, project_id: &str) -> Self {
        self.project_id = project_id.to_owned();
        self
    }

    /// How long issued tokens live, in whole seconds (at least one).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    pub fn models(mut self, models: Vec<WatsonxModel>) -> Self {
        self.models = models;
        self
    }

    /// Serves on this loopback port (0: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub async fn start(self) -> std::io::Result<WatsonxMock> {
        let state = Arc::new(WxState {
            api_keys: self.api_keys,
            project_id: self.project_id,
            models: self.models,
            ttl_secs: Mutex::new(self.token_ttl.as_secs().max(1)),
            tokens: Mutex::new(HashMap::new()),
            grants: AtomicU64::new(0),
            counter: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/identity/token", post(iam_token))
            .route("/ml/v1/text/chat", post(handlers::chat))
            .route("/ml/v1/text/chat_stream", post(handlers::chat_stream))
            .route("/ml/v1/text/generation", post(handlers::generation))
            .route("/ml/v1/text/generation_stream", post(handlers::generation_stream))
            .route("/ml/v1/text/embeddings", post(handlers::embeddings))
            .route("/ml/v1/foundation_model_specs", get(handlers::model_specs))
            .with_state(state.clone());
        Ok(WatsonxMock { server: crate::local_server::serve_on(router, self.port).await?, state })
    }
}

/// The running mock; stops when dropped.
pub struct WatsonxMock {
    server: crate::local_server::LocalServer,
    state: Arc<WxState>,
}

impl std::fmt::Debug for WatsonxMock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatsonxMock").field("addr", &self.server.addr).finish_non_exhaustive()
    }
}

impl WatsonxMock {
    /// Key `wx-test-key`, project `wx-test-project`, hour-long tokens, [`default_models`].
    pub fn builder() -> WatsonxMockBuilder {
        WatsonxMockBuilder {
            api_keys: vec!["wx-test-key".into()],
            project_id: "wx-test-project".into(),
            token_ttl: Duration::from_secs(3600),
            models: default_models(),
            port: 0,
        }
    }

    /// `http://127.0.0.1:PORT`: the watsonx.ai base URL, and the IAM base URL too (the token
    /// endpoint is `{url}/identity/token`).
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn project_id(&self) -> &str {
        &self.state.project_id
    }

    /// How many tokens IAM has issued.
    pub fn token_grants(&self) -> u64 {
        self.state.grants.load(Ordering::SeqCst)
    }

    /// Invalidates every token issued so far (as a revocation would); new ones can be had.
    pub fn revoke_tokens(&self) {
        self.state.tokens.lock().clear();
    }

    /// Tokens issued from now on live this long (whole seconds, at least one).
    pub fn set_token_ttl(&self, ttl: Duration) {
        *self.state.ttl_secs.lock() = ttl.as_secs().max(1);
    }

    /// The requests received so far, IAM's included.
    pub fn requests(&self) -> Vec<WatsonxRequest> {
        self.state.requests.lock().clone()
    }

    /// The requests to `path` received so far.
    pub fn requests_to(&self, path: &str) -> Vec<WatsonxRequest> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }
}

/// A refusal in watsonx's error shape.
pub(crate) struct WxError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl WxError {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        WxError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn body(&self) -> Value {
        json!({
            "errors": [{
                "code": self.code,
                "message": self.message,
                "more_info": "https://cloud.ibm.com/apidocs/watsonx-ai"
            }],
            "trace": format!("{:032x}", lls_fake_model::embedding::fnv1a(self.message.as_bytes())),
            "status_code": self.status.as_u16()
        })
    }
}

impl IntoResponse for WxError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = header::HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// The answer watsonx gives for an injected `error-<status>`, with its usual code.
pub(crate) fn injected(status: u16) -> WxError {
    let (code, message) = match status {
        400 => ("invalid_input_argument", "Invalid input argument (injected failure)".to_owned()),
        401 => ("authentication_token_not_valid", "Failed to authenticate the request (injected failure)".to_owned()),
        403 => ("authorization_rejected", "The request was not authorized (injected failure)".to_owned()),
        404 => ("model_not_supported", "The model is not supported (injected failure)".to_owned()),
        429 => ("too_many_requests", "Too many requests, please try again later (injected failure)".to_owned()),
        503 => ("service_unavailable", "The service is unavailable (injected failure)".to_owned()),
        500..=599 => ("internal_server_error", format!("Internal server error {status} (injected failure)")),
        _ => ("request_failed", format!("The request failed with status {status} (injected failure)")),
    };
    let mut e = WxError::new(status, code, message);
    if status == 429 {
        e.retry_after = Some(2);
    }
    e
}

fn now_secs() -> u64 {
    u64::try_from(lls_api_common::unix_now()).unwrap_or(0)
}

impl WxState {
    fn record(&self, method: &str, path: &str, query: Option<&str>, headers: &HeaderMap, body: Value) {
        let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        self.requests.lock().push(WatsonxRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.unwrap_or_default().to_owned(),
            authorization: text(header::AUTHORIZATION),
            content_type: text(header::CONTENT_TYPE),
            body,
        });
    }

    /// A JWT-shaped token for `key` whose payload carries `exp` (the SDK reads it to refresh).
    fn mint(&self, key_index: usize, expiration: u64) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let header = URL_SAFE_NO_PAD.encode(br#"{"kid":"mock","alg":"RS256"}"#);
        // The SDK decodes the payload as standard base64 first: keep it free of `-` and `_`.
        let payload = (0..64u32)
            .map(|pad| {
                let claims = json!({"iam_id": format!("IBMid-mock{key_index}"), "sub": "mock@example.com",
                    "iat": now_secs(), "exp": expiration, "jti": n, "pad": "x".repeat(pad as usize)});
                URL_SAFE_NO_PAD.encode(claims.to_string())
            })
            .find(|p| !p.contains(['-', '_']))
            .unwrap_or_default();
        let signature = URL_SAFE_NO_PAD.encode(lls_fake_model::embedding::fnv1a(payload.as_bytes()).to_be_bytes());
        format!("{header}.{payload}.{signature}")
    }

    /// Checks `Authorization: Bearer <token>` against the issued, unexpired tokens.
    pub(crate) fn authorize(&self, headers: &HeaderMap) -> Result<(), WxError> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let Some(token) = bearer else {
            return Err(WxError::new(401, "authorization_rejected", "Failed to authenticate the request due to missing or malformed authorization token"));
        };
        match self.tokens.lock().get(token) {
            None => Err(WxError::new(401, "authentication_token_not_valid", "Failed to authenticate the request due to an invalid token")),
            Some(t) if t.expiration <= now_secs() => {
                Err(WxError::new(401, "authentication_token_expired", "Failed to authenticate the request due to an expired token"))
            }
            Some(_) => Ok(()),
        }
    }

    pub(crate) fn model(&self, id: &str) -> Option<&WatsonxModel> {
        self.models.iter().find(|m| m.model_id == id)
    }
}

/// `POST /identity/token`: IBM Cloud IAM's API key exchange.
async fn iam_token(State(s): State<Arc<WxState>>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    s.record("POST", "/identity/token", None, &headers, json!(form));
    let iam_error = |status: StatusCode, code: &str, message: &str| {
        (status, axum::Json(json!({"errorCode": code, "errorMessage": message,
            "context": {"requestId": format!("mock-{}", s.counter.load(Ordering::SeqCst))}})))
            .into_response()
    };
    let form_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !form_type.starts_with("application/x-www-form-urlencoded") {
        return iam_error(StatusCode::BAD_REQUEST, "BXNIM0109E", "Property missing or empty. Property name(s): 'grant_type'.");
    }
    match form.get("grant_type").map(String::as_str) {
        Some(APIKEY_GRANT_TYPE) => {}
        Some(_) => return iam_error(StatusCode::BAD_REQUEST, "BXNIM0103E", "Unsupported grant type."),
        None => return iam_error(StatusCode::BAD_REQUEST, "BXNIM0109E", "Property missing or empty. Property name(s): 'grant_type'."),
    }
    let Some(key) = form.get("apikey").filter(|k| !k.is_empty()) else {
        return iam_error(StatusCode::BAD_REQUEST, "BXNIM0109E", "Property missing or empty. Property name(s): 'apikey'.");
    };
    let Some(index) = s.api_keys.iter().position(|k| k == key) else {
        return iam_error(StatusCode::BAD_REQUEST, "BXNIM0415E", "Provided API key could not be found.");
    };
    let ttl = *s.ttl_secs.lock();
    let expiration = now_secs() + ttl;
    let token = s.mint(index, expiration);
    s.tokens.lock().insert(token.clone(), Issued { expiration });
    s.grants.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({
        "access_token": token,
        "refresh_token": "not_supported",
        "ims_user_id": 1000 + index,
        "token_type": "Bearer",
        "expires_in": ttl,
        "expiration": expiration,
        "scope": "ibm openid"
    }))
    .into_response()
}

#[cfg(test)]
mod tests;
