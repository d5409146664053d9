//! A mock of Google Vertex AI and the Google OAuth 2.0 token service in one axum server on
//! 127.0.0.1, built from Google's published references and checked against Google's own
//! `google-auth` library and the `openai` client (`scripts/vertex-mock-compat.sh`):
//!
//! - `POST /token` (a service account's `token_uri`): the JWT bearer grant
//!   (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, `assertion`) whose RS256
//!   signature is checked against the test service account's public key (a 2048-bit key made
//!   when the mock starts), with `iss` = its `client_email`, `aud` = Google's token endpoint
//!   (`https://oauth2.googleapis.com/token`, whatever URL the assertion is posted to), the
//!   `cloud-platform` scope and an `iat`/`exp` at most an hour apart and not expired; and the
//!   refresh-token grant of an authorized-user file. Answers `access_token`/`expires_in` with a
//!   configurable lifetime; refusals are OAuth's `{"error", "error_description"}`.
//! - `GET /computeMetadata/v1/instance/service-accounts/default/token` (and the account's
//!   description at `.../default/`): the metadata server (only with `Metadata-Flavor: Google`).
//! - `POST /v1/projects/{project}/locations/{location}/endpoints/openapi/chat/completions`:
//!   Vertex AI's OpenAI-compatible chat, for a valid unexpired token, the mock's project and
//!   location, and its models (`google/gemini-...`), answered by [`lls_fake_model::responder`]
//!   (streams as OpenAI SSE). Errors carry Google's body `{"error": {"code", "message",
//!   "status"}}`: 401 `UNAUTHENTICATED`, 403 `PERMISSION_DENIED` (another project), 404
//!   `NOT_FOUND` (unknown model or path), 400 `INVALID_ARGUMENT` (over [`CONTEXT_CHARS`]: the
//!   token count message), and the model names of [`lls_fake_model::failure`] (`error-429` is
//!   `RESOURCE_EXHAUSTED` with `Retry-After`).

// The token endpoint's checks return Google's refusal as their `Err`; a test mock's answers
// are not worth boxing.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lls_api_common::unix_now;
use lls_api_inference::ChatCompletionRequest;
use lls_fake_model::failure::Failure;
use lls_fake_model::responder;
use parking_lot::Mutex;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

use crate::mock_openai::wire;

/// The grant type of a service account's signed assertion.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The `aud` Google's token endpoint accepts in an assertion, wherever it is reached: its
/// canonical URL (what Google documents and `google-auth` sends), and the older one.
pub const GOOGLE_TOKEN_AUDIENCES: [&str; 2] = ["https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v4/token"];
/// The scope Vertex AI needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The metadata server's token path.
pub const METADATA_TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";
/// The metadata server's description of the attached service account (`?recursive=true`).
pub const METADATA_ACCOUNT_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/";
/// Messages longer than this many characters exceed a model's input token limit.
pub const CONTEXT_CHARS: usize = 16_384;
/// The `Retry-After` of an injected 429, in seconds.
pub const RETRY_AFTER_SECONDS: u64 = 5;
/// The authorized user the refresh-token grant accepts.
pub const USER_CLIENT_ID: &str = "mock-client-id.apps.googleusercontent.com";
pub const USER_CLIENT_SECRET: &str = "mock-client-secret";
pub const USER_REFRESH_TOKEN: &str = "mock-refresh-token";
/// What the mock says a model's input limit is, in the overflow message.
const MAX_INPUT_TOKENS: usize = 4096;

/// The models a mock serves unless told otherwise (0.3.5's list).
pub const DEFAULT_MODELS: [&str; 3] = ["google/gemini-2.0-flash", "google/gemini-2.5-flash", "google/gemini-2.5-pro"];

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct VertexRequest {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
}

struct VxState {
    project: String,
    locations: Vec<String>,
    models: Vec<String>,
    client_email: String,
    key_id: String,
    decoding: DecodingKey,
    /// `{endpoint}/token`, known once the server is bound.
    token_uri: Mutex<String>,
    ttl: Mutex<Duration>,
    tokens: Mutex<HashMap<String, Instant>>,
    grants: AtomicU64,
    counter: AtomicU64,
    requests: Mutex<Vec<VertexRequest>>,
}

/// Settings of a [`VertexMock`]; [`VertexMock::builder`] fills the defaults.
#[derive(Debug, Clone)]
pub struct VertexMockBuilder {
    project: String,
    location: String,
    models: Vec<String>,
    token_ttl: Duration,
    port: u16,
}

impl VertexMockBuilder {
    pub fn project(mut self, project: &str) -> Self {
        project.clone_into(&mut self.project);
        self
    }

    /// The location served (besides `global`).
    pub fn location(mut self, location: &str) -> Self {
        location.clone_into(&mut self.location);
        self
    }

    pub fn models(mut self, models: &[&str]) -> Self {
        self.models = models.iter().map(|m| (*m).to_owned()).collect();
        self
    }

    /// How long issued tokens live (whole seconds, at least one).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// 127.0.0.1:`port` (0: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Makes the service account's key and serves.
    pub async fn start(self) -> anyhow::Result<VertexMock> {
        let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)?;
        let pem = key.to_pkcs8_pem(LineEnding::LF)?.to_string();
        let decoding = DecodingKey::from_rsa_components(
            &URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            &URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        )?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let state = Arc::new(VxState {
            client_email: format!("llama-stack@{}.iam.gserviceaccount.com", self.project),
            key_id: id.clone(),
            project: self.project,
            locations: vec![self.location, "global".to_owned()],
            models: self.models,
            decoding,
            token_uri: Mutex::new(String::new()),
            ttl: Mutex::new(self.token_ttl),
            tokens: Mutex::new(HashMap::new()),
            grants: AtomicU64::new(0),
            counter: AtomicU64::new(1),
            requests: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/token", post(token))
            .route(METADATA_TOKEN_PATH, get(metadata_token))
            .route(METADATA_ACCOUNT_PATH, get(metadata_account))
            .route("/v1/projects/{project}/locations/{location}/endpoints/openapi/{*operation}", post(openapi))
            .route("/health", get(|| async { "OK" }))
            .fallback(not_found)
            .with_state(state.clone());
        let server = crate::local_server::serve_on(router, self.port).await?;
        *state.token_uri.lock() = format!("http://{}/token", server.addr);
        Ok(VertexMock { server, state, private_key_pem: pem })
    }
}

/// The running mock; stops when dropped.
pub struct VertexMock {
    server: crate::local_server::LocalServer,
    state: Arc<VxState>,
    private_key_pem: String,
}

impl std::fmt::Debug for VertexMock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VertexMock").field("addr", &self.server.addr).finish_non_exhaustive()
    }
}

/// A credentials file written for a test; removed when dropped.
#[derive(Debug)]
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

static FILES: AtomicU64 = AtomicU64::new(0);

fn write_temp(kind: &str, value: &Value) -> std::io::Result<KeyFile> {
    let n = FILES.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("lls-vertex-{kind}-{}-{n}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_vec_pretty(value)?)?;
    Ok(KeyFile { path })
}

impl VertexMock {
    /// Project `vertex-test-project` in `us-central1`, 0.3.5's three models, hour-long tokens.
    pub fn builder() -> VertexMockBuilder {
        VertexMockBuilder {
            project: "vertex-test-project".to_owned(),
            location: "us-central1".to_owned(),
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            token_ttl: Duration::from_secs(3600),
            port: 0,
        }
    }

    /// `http://127.0.0.1:PORT`: the Vertex AI service root, and the metadata server.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The OAuth token endpoint (the key's `token_uri`).
    pub fn token_uri(&self) -> String {
        self.state.token_uri.lock().clone()
    }

    /// The OpenAI-compatible base of the mock's project and location.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1/projects/{}/locations/{}/endpoints/openapi", self.endpoint(), self.project(), self.location())
    }

    pub fn project(&self) -> &str {
        &self.state.project
    }

    pub fn location(&self) -> &str {
        &self.state.locations[0]
    }

    pub fn client_email(&self) -> &str {
        &self.state.client_email
    }

    /// The service account's key file, as the Cloud console downloads it.
    pub fn service_account(&self) -> Value {
        json!({
            "type": "service_account",
            "project_id": self.state.project,
            "private_key_id": self.state.key_id,
            "private_key": self.private_key_pem,
            "client_email": self.state.client_email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri(),
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": format!("https://www.googleapis.com/robot/v1/metadata/x509/{}", self.state.client_email.replace('@', "%40")),
            "universe_domain": "googleapis.com",
        })
    }

    /// An authorized-user file (`gcloud auth application-default login`) for the mock.
    pub fn authorized_user(&self) -> Value {
        json!({
            "type": "authorized_user",
            "client_id": USER_CLIENT_ID,
            "client_secret": USER_CLIENT_SECRET,
            "refresh_token": USER_REFRESH_TOKEN,
            "token_uri": self.token_uri(),
            "quota_project_id": self.state.project,
        })
    }

    /// [`Self::service_account`] in a temporary file.
    pub fn write_service_account(&self) -> std::io::Result<KeyFile> {
        write_temp("sa", &self.service_account())
    }

    /// [`Self::authorized_user`] in a temporary file.
    pub fn write_authorized_user(&self) -> std::io::Result<KeyFile> {
        write_temp("user", &self.authorized_user())
    }

    /// Tokens issued so far (every grant, the metadata server's included).
    pub fn grants(&self) -> u64 {
        self.state.grants.load(Ordering::SeqCst)
    }

    /// Forgets every issued token: the next call with one is a 401.
    pub fn revoke_tokens(&self) {
        self.state.tokens.lock().clear();
    }

    /// Changes the lifetime of tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        *self.state.ttl.lock() = ttl.max(Duration::from_secs(1));
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<VertexRequest> {
        self.state.requests.lock().clone()
    }
}

type Shared = State<Arc<VxState>>;

impl VxState {
    fn record(&self, method: &str, path: &str, headers: &HeaderMap) {
        let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        self.requests.lock().push(VertexRequest { method: method.to_owned(), path: path.to_owned(), authorization });
    }

    fn issue(&self) -> Response {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let token = format!("ya29.mock-{n}-{}", uuid::Uuid::new_v4().simple());
        let ttl = *self.ttl.lock();
        self.tokens.lock().insert(token.clone(), Instant::now() + ttl);
        self.grants.fetch_add(1, Ordering::SeqCst);
        wire::json(StatusCode::OK, &json!({"access_token": token, "expires_in": ttl.as_secs(), "token_type": "Bearer"}))
    }

    fn valid_token(&self, headers: &HeaderMap) -> bool {
        let Some(token) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")) else {
            return false;
        };
        self.tokens.lock().get(token).is_some_and(|expires| Instant::now() < *expires)
    }

    /// Checks a service account's assertion as Google's token endpoint does.
    fn check_assertion(&self, assertion: &str) -> Result<(), Response> {
        let short_lived = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| oauth_error("invalid_grant", "Invalid JWT Signature."))?;
        if header.alg != Algorithm::RS256 || header.kid.as_deref().is_some_and(|k| k != self.key_id) {
            return Err(oauth_error("invalid_grant", "Invalid JWT Signature."));
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&GOOGLE_TOKEN_AUDIENCES);
        validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
        let claims = jsonwebtoken::decode::<Value>(assertion, &self.decoding, &validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => oauth_error("invalid_grant", short_lived),
            jsonwebtoken::errors::ErrorKind::InvalidAudience => oauth_error("invalid_grant", "Invalid JWT: Failed audience check."),
            _ => oauth_error("invalid_grant", "Invalid JWT Signature."),
        })?;
        let claims = claims.claims;
        if claims.get("iss").and_then(Value::as_str) != Some(self.client_email.as_str()) {
            return Err(oauth_error("invalid_grant", "Invalid grant: account not found"));
        }
        let (iat, exp) = (claims.get("iat").and_then(Value::as_u64).unwrap_or(0), claims.get("exp").and_then(Value::as_u64).unwrap_or(0));
        let now = unix_now().max(0) as u64;
        if exp <= iat || exp - iat > 3600 || iat > now + 60 {
            return Err(oauth_error("invalid_grant", short_lived));
        }
        let scopes = claims.get("scope").and_then(Value::as_str).unwrap_or_default();
        if !scopes.split(' ').any(|s| s == CLOUD_PLATFORM_SCOPE) {
            return Err(oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience provided."));
        }
        Ok(())
    }
}

/// OAuth 2.0's error answer (RFC 6749 §5.2), as Google's token endpoint writes it.
fn oauth_error(error: &str, description: &str) -> Response {
    wire::json(StatusCode::BAD_REQUEST, &json!({"error": error, "error_description": description}))
}

/// Google's error answer.
fn google_error(status: StatusCode, google_status: &str, message: &str) -> Response {
    wire::json(status, &json!({"error": {"code": status.as_u16(), "message": message, "status": google_status}}))
}

fn unauthenticated() -> Response {
    google_error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    )
}

async fn token(State(state): Shared, headers: HeaderMap, body: Bytes) -> Response {
    state.record("POST", "/token", &headers);
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    match field("grant_type") {
        JWT_BEARER_GRANT => match state.check_assertion(field("assertion")) {
            Ok(()) => state.issue(),
            Err(refusal) => refusal,
        },
        "refresh_token" => {
            if (field("client_id"), field("client_secret"), field("refresh_token")) == (USER_CLIENT_ID, USER_CLIENT_SECRET, USER_REFRESH_TOKEN) {
                state.issue()
            } else {
                oauth_error("invalid_grant", "Bad Request")
            }
        }
        other => oauth_error("unsupported_grant_type", &format!("Invalid grant_type: {other}")),
    }
}

/// The metadata server answers only requests saying `Metadata-Flavor: Google`, and says it
/// back on every answer.
fn metadata_refusal(headers: &HeaderMap) -> Option<Response> {
    if headers.get("metadata-flavor").and_then(|v| v.to_str().ok()) == Some("Google") {
        return None;
    }
    let body = "Missing required header \"Metadata-Flavor\": \"Google\"\n";
    Some((StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))], body).into_response())
}

fn flavored(mut response: Response) -> Response {
    response.headers_mut().insert("metadata-flavor", HeaderValue::from_static("Google"));
    response
}

async fn metadata_token(State(state): Shared, headers: HeaderMap) -> Response {
    state.record("GET", METADATA_TOKEN_PATH, &headers);
    if let Some(refusal) = metadata_refusal(&headers) {
        return refusal;
    }
    flavored(state.issue())
}

async fn metadata_account(State(state): Shared, headers: HeaderMap) -> Response {
    state.record("GET", METADATA_ACCOUNT_PATH, &headers);
    if let Some(refusal) = metadata_refusal(&headers) {
        return refusal;
    }
    flavored(wire::json(StatusCode::OK, &json!({"aliases": ["default"], "email": state.client_email, "scopes": [CLOUD_PLATFORM_SCOPE]})))
}

async fn not_found(State(state): Shared, uri: axum::http::Uri, headers: HeaderMap) -> Response {
    state.record("?", uri.path(), &headers);
    google_error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("The requested URL {} was not found on this server.", uri.path()))
}

async fn openapi(
    State(state): Shared,
    UrlPath((project, location, operation)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/projects/{project}/locations/{location}/endpoints/openapi/{operation}");
    state.record("POST", &path, &headers);
    if !state.valid_token(&headers) {
        return unauthenticated();
    }
    if project != state.project {
        let message = format!(
            "Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/{project}/locations/{location}/endpoints/openapi' (or it may not exist)."
        );
        return google_error(StatusCode::FORBIDDEN, "PERMISSION_DENIED", &message);
    }
    if !state.locations.contains(&location) {
        return google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", &format!("Unsupported location '{location}'."));
    }
    if operation != "chat/completions" {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("The requested URL {path} was not found on this server."));
    }
    let Some(value) = serde_json::from_slice::<Value>(&body).ok().filter(Value::is_object) else {
        return google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    };
    let model = value.get("model").and_then(Value::as_str).unwrap_or_default().to_owned();
    let failure = Failure::from_model(&model);
    match failure {
        Some(Failure::Status(status)) => return injected(status),
        Some(Failure::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Failure::Garbage) => return wire::garbage(value.get("stream").and_then(Value::as_bool).unwrap_or(false)),
        Some(_) => {}
        None if !state.models.contains(&model) => {
            let (publisher, name) = model.split_once('/').unwrap_or(("google", model.as_str()));
            let message = format!("Publisher Model `projects/{project}/locations/{location}/publishers/{publisher}/models/{name}` not found.");
            return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", &message);
        }
        None => {}
    }
    let chars = prompt_chars(&value);
    if chars > CONTEXT_CHARS {
        let message = format!(
            "The input token count ({}) exceeds the maximum number of tokens allowed ({MAX_INPUT_TOKENS}).",
            chars / 4
        );
        return google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", &message);
    }
    chat(&state, value, failure)
}

fn chat(state: &VxState, body: Value, failure: Option<Failure>) -> Response {
    let invalid = |message: &str| google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message);
    let req: ChatCompletionRequest = match serde_json::from_value(body) {
        Ok(r) => r,
        Err(e) => return invalid(&e.to_string()),
    };
    if let Err(e) = req.validate() {
        return invalid(e.message());
    }
    let id = format!("vertex-{}", state.counter.fetch_add(1, Ordering::Relaxed));
    let answer = match responder::chat(&req, &id, unix_now()) {
        Ok(a) => a,
        Err(e) => return invalid(e.message()),
    };
    if req.is_stream() {
        return wire::sse(&responder::chat_chunks(&answer, req.include_usage()), failure);
    }
    wire::json(StatusCode::OK, &answer)
}

/// Google's answer to `error-<status>`.
fn injected(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status {
        401 => unauthenticated(),
        403 => google_error(code, "PERMISSION_DENIED", "Permission denied on the resource (or it may not exist)."),
        404 => google_error(code, "NOT_FOUND", "Publisher Model was not found or your project does not have access to it."),
        429 => {
            let message = "Resource exhausted. Please try again later. Please refer to https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details.";
            let mut response = google_error(code, "RESOURCE_EXHAUSTED", message);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            response
        }
        503 => google_error(code, "UNAVAILABLE", "The service is currently unavailable."),
        504 => google_error(code, "DEADLINE_EXCEEDED", "Deadline exceeded."),
        400..=499 => google_error(code, "INVALID_ARGUMENT", &format!("Injected HTTP {status}")),
        _ => google_error(code, "INTERNAL", "Internal error encountered."),
    }
}

/// The characters of every message's text.
fn prompt_chars(body: &Value) -> usize {
    let mut n = 0;
    for m in body.get("messages").and_then(Value::as_array).into_iter().flatten() {
        match m.get("content") {
            Some(Value::String(s)) => n += s.chars().count(),
            Some(Value::Array(parts)) => {
                n += parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).map(|t| t.chars().count()).sum::<usize>();
            }
            _ => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_chars_reads_strings_and_parts() {
        let body = json!({"messages": [{"role": "user", "content": "ab"}, {"role": "user", "content": [{"type": "text", "text": "c"}]}]});
        assert_eq!(prompt_chars(&body), 3);
    }
}
