//! The issuers' HTTP endpoints: each an axum server on 127.0.0.1 with a port of its own,
//! answering from tables the test fills, and counting the calls it gets.

use super::SigningKey;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::local_server::{LocalServer as Running, serve};

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// A JWKS endpoint (`GET /jwks`) publishing whichever keys the test says; rotation is
/// [`JwksIssuer::publish`] with the new set.
pub struct JwksIssuer {
    server: Running,
    endpoint: JwksEndpoint,
}

impl std::fmt::Debug for JwksIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksIssuer")
            .field("addr", &self.server.addr)
            .finish_non_exhaustive()
    }
}

impl JwksIssuer {
    pub async fn start(keys: &[&SigningKey]) -> std::io::Result<JwksIssuer> {
        let endpoint = JwksEndpoint::default();
        let issuer = JwksIssuer {
            server: serve(endpoint.router()).await?,
            endpoint,
        };
        issuer.publish(keys);
        Ok(issuer)
    }

    /// `http://127.0.0.1:PORT/jwks`.
    pub fn uri(&self) -> String {
        format!("http://{}/jwks", self.server.addr)
    }

    /// `http://127.0.0.1:PORT`, what tokens carry as `iss`.
    pub fn issuer(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Replaces the published key set.
    pub fn publish(&self, keys: &[&SigningKey]) {
        self.endpoint.publish(keys);
    }

    /// Publishes a raw key set (keys we cannot read, keys without a `kid`).
    pub fn publish_raw(&self, keys: Vec<Value>) {
        self.endpoint.publish_raw(keys);
    }

    /// From now on, the key set is served only with `Authorization: Bearer <token>`.
    pub fn require_token(&self, token: &str) {
        *self.endpoint.state.token.lock() = Some(token.to_owned());
    }

    /// How many times the key set was fetched (refused fetches included).
    pub fn fetches(&self) -> usize {
        self.endpoint.fetches()
    }
}

/// The `GET /jwks` route and the key set it publishes, for a server of its own
/// ([`JwksIssuer`]) or merged into another router (the token mint, `super::TokenMint`).
#[derive(Clone, Default)]
pub struct JwksEndpoint {
    state: Arc<JwksState>,
}

#[derive(Default)]
struct JwksState {
    keys: Mutex<Vec<Value>>,
    fetches: AtomicUsize,
    token: Mutex<Option<String>>,
}

impl JwksEndpoint {
    /// `GET /jwks`, answering `{"keys": [...]}`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/jwks", get(jwks))
            .with_state(self.state.clone())
    }

    /// Replaces the published key set.
    pub fn publish(&self, keys: &[&SigningKey]) {
        self.publish_raw(keys.iter().map(|k| k.jwk()).collect());
    }

    /// Publishes a raw key set.
    pub fn publish_raw(&self, keys: Vec<Value>) {
        *self.state.keys.lock() = keys;
    }

    /// How many times the key set was fetched.
    pub fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }
}

async fn jwks(State(s): State<Arc<JwksState>>, headers: HeaderMap) -> Response {
    s.fetches.fetch_add(1, Ordering::SeqCst);
    let required = s.token.lock().clone();
    if let Some(token) = required
        && bearer(&headers) != Some(token.as_str())
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let keys = s.keys.lock().clone();
    axum::Json(json!({ "keys": keys })).into_response()
}

/// An RFC 7662 token introspection endpoint (`POST /introspect`): client credentials by HTTP
/// basic auth or in the form, `{"active": false}` for tokens it does not know.
pub struct IntrospectionServer {
    server: Running,
    state: Arc<IntrospectionState>,
}

struct IntrospectionState {
    client_id: String,
    client_secret: String,
    tokens: Mutex<HashMap<String, Value>>,
    calls: AtomicUsize,
    credentials_in_body: Mutex<Vec<bool>>,
}

impl std::fmt::Debug for IntrospectionServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionServer")
            .field("addr", &self.server.addr)
            .finish_non_exhaustive()
    }
}

impl IntrospectionServer {
    pub async fn start(
        client_id: &str,
        client_secret: &str,
    ) -> std::io::Result<IntrospectionServer> {
        let state = Arc::new(IntrospectionState {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            tokens: Mutex::default(),
            calls: AtomicUsize::new(0),
            credentials_in_body: Mutex::default(),
        });
        let router = Router::new()
            .route("/introspect", post(introspect))
            .with_state(state.clone());
        Ok(IntrospectionServer {
            server: serve(router).await?,
            state,
        })
    }

    /// `http://127.0.0.1:PORT/introspect`.
    pub fn url(&self) -> String {
        format!("http://{}/introspect", self.server.addr)
    }

    /// What introspecting `token` answers (the whole JSON object, `active` included).
    pub fn set(&self, token: &str, answer: Value) {
        self.state.tokens.lock().insert(token.to_owned(), answer);
    }

    /// Calls that presented valid client credentials or not.
    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// For each authenticated call, whether the credentials came in the form body.
    pub fn credentials_in_body(&self) -> Vec<bool> {
        self.state.credentials_in_body.lock().clone()
    }
}

async fn introspect(
    State(s): State<Arc<IntrospectionState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.calls.fetch_add(1, Ordering::SeqCst);
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let expected = format!("{}:{}", s.client_id, s.client_secret);
    let in_body = form.get("client_id") == Some(&s.client_id)
        && form.get("client_secret") == Some(&s.client_secret);
    if basic.as_deref() != Some(expected.as_str()) && !in_body {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    s.credentials_in_body.lock().push(in_body);
    let Some(token) = form.get("token") else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_request"})),
        )
            .into_response();
    };
    let answer = s
        .tokens
        .lock()
        .get(token)
        .cloned()
        .unwrap_or_else(|| json!({"active": false}));
    axum::Json(answer).into_response()
}

/// A `custom` auth endpoint (`POST /auth`): answers each API key with the status and body the
/// test set (unknown keys: 401), and keeps every request body it received.
pub struct CustomAuthServer {
    server: Running,
    state: Arc<CustomState>,
}

#[derive(Default)]
struct CustomState {
    answers: Mutex<HashMap<String, (u16, String)>>,
    requests: Mutex<Vec<Value>>,
}

impl std::fmt::Debug for CustomAuthServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomAuthServer")
            .field("addr", &self.server.addr)
            .finish_non_exhaustive()
    }
}

impl CustomAuthServer {
    pub async fn start() -> std::io::Result<CustomAuthServer> {
        let state = Arc::new(CustomState::default());
        let router = Router::new()
            .route("/auth", post(custom))
            .with_state(state.clone());
        Ok(CustomAuthServer {
            server: serve(router).await?,
            state,
        })
    }

    /// `http://127.0.0.1:PORT/auth`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/auth", self.server.addr)
    }

    /// Answers `api_key` with 200 and this JSON.
    pub fn accept(&self, api_key: &str, answer: Value) {
        self.answer(api_key, 200, &answer.to_string());
    }

    /// Answers `api_key` with this status and raw body.
    pub fn answer(&self, api_key: &str, status: u16, body: &str) {
        self.state
            .answers
            .lock()
            .insert(api_key.to_owned(), (status, body.to_owned()));
    }

    /// Every request body received, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        self.state.requests.lock().clone()
    }
}

async fn custom(State(s): State<Arc<CustomState>>, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let key = request
        .get("api_key")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    s.requests.lock().push(request);
    let (status, body) = s
        .answers
        .lock()
        .get(&key)
        .cloned()
        .unwrap_or_else(|| (401, json!({"message": "unknown API key"}).to_string()));
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The Kubernetes API server's `SelfSubjectReview` (`POST
/// /apis/authentication.k8s.io/v1/selfsubjectreviews`): 201 with `status.userInfo` for a known
/// token, 403 for a token it was told to forbid, 401 (a `Status` object) otherwise.
pub struct KubeApiServer {
    server: Running,
    state: Arc<KubeState>,
}

#[derive(Default)]
struct KubeState {
    users: Mutex<HashMap<String, Value>>,
    forbidden: Mutex<Vec<String>>,
    calls: AtomicUsize,
}

impl std::fmt::Debug for KubeApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeApiServer")
            .field("addr", &self.server.addr)
            .finish_non_exhaustive()
    }
}

impl KubeApiServer {
    pub async fn start() -> std::io::Result<KubeApiServer> {
        let state = Arc::new(KubeState::default());
        let router = Router::new()
            .route(
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                post(review),
            )
            .with_state(state.clone());
        Ok(KubeApiServer {
            server: serve(router).await?,
            state,
        })
    }

    /// `http://127.0.0.1:PORT`, the `api_server_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// `token` belongs to this user (`userInfo`: `username`, `uid`, `groups`, …).
    pub fn add_user(&self, token: &str, user_info: Value) {
        self.state.users.lock().insert(token.to_owned(), user_info);
    }

    /// `token` authenticates but may not create reviews (403).
    pub fn forbid(&self, token: &str) {
        self.state.forbidden.lock().push(token.to_owned());
    }

    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }
}

fn kube_status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    (code, axum::Json(body)).into_response()
}

async fn review(State(s): State<Arc<KubeState>>, headers: HeaderMap, body: Bytes) -> Response {
    s.calls.fetch_add(1, Ordering::SeqCst);
    let token = bearer(&headers).unwrap_or_default().to_owned();
    if s.forbidden.lock().contains(&token) {
        return kube_status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "selfsubjectreviews is forbidden",
        );
    }
    let Some(user_info) = s.users.lock().get(&token).cloned() else {
        return kube_status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    };
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if request.get("kind").and_then(Value::as_str) != Some("SelfSubjectReview") {
        return kube_status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "expected a SelfSubjectReview",
        );
    }
    let answer = json!({
        "kind": "SelfSubjectReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "status": {"userInfo": user_info},
    });
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

/// GitHub's `GET /user`: the user of a known token, 401 "Bad credentials" otherwise.
pub struct GitHubApi {
    server: Running,
    users: Arc<Mutex<HashMap<String, Value>>>,
}

impl std::fmt::Debug for GitHubApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubApi")
            .field("addr", &self.server.addr)
            .finish_non_exhaustive()
    }
}

impl GitHubApi {
    pub async fn start() -> std::io::Result<GitHubApi> {
        let users: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
        let router = Router::new()
            .route("/user", get(github_user))
            .with_state(users.clone());
        Ok(GitHubApi {
            server: serve(router).await?,
            users,
        })
    }

    /// `http://127.0.0.1:PORT`, the `github_api_base_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn add_user(&self, token: &str, user: Value) {
        self.users.lock().insert(token.to_owned(), user);
    }
}

async fn github_user(
    State(users): State<Arc<Mutex<HashMap<String, Value>>>>,
    headers: HeaderMap,
) -> Response {
    let user = bearer(&headers).and_then(|t| users.lock().get(t).cloned());
    match user {
        Some(u) => axum::Json(u).into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "Bad credentials"})),
        )
            .into_response(),
    }
}
