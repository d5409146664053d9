//! A mock of Azure OpenAI's data plane (axum, 127.0.0.1), as `openai.AzureOpenAI` and
//! `remote::azure` call it: both URL layouts — the v1 API (`/openai/v1/chat/completions`,
//! the deployment in the body's `model`) and the deployments API
//! (`/openai/deployments/{deployment}/chat/completions?api-version=...`) — with Azure's rules:
//!
//! - the key in `api-key` (or `Authorization: Bearer`), else 401 with Azure's body;
//! - `api-version` required on the deployments API (missing: 404 "Resource not found"; not a
//!   `YYYY-MM-DD[-preview]` date: 400 "API version not supported"); on v1 optional and only
//!   `v1`, `preview` or `latest`;
//! - a deployment that does not exist: 404 `DeploymentNotFound`; an embedding deployment asked
//!   to chat: 400 `OperationNotSupported`;
//! - answers from [`lls_fake_model::responder`] with Azure's content filtering on top:
//!   `prompt_filter_results` on every answer (in a stream, its own first chunk with empty `id`,
//!   `object` and `model`, as Azure sends it) and `content_filter_results` on every choice; a
//!   prompt containing [`PROMPT_FILTER_TRIGGER`] is refused with Azure's 400 `content_filter`
//!   error (its `innererror` names the category), one containing [`COMPLETION_FILTER_TRIGGER`]
//!   is answered with `finish_reason: "content_filter"`;
//! - messages longer than [`CONTEXT_CHARS`] characters: 400 `context_length_exceeded`;
//! - the model names of [`lls_fake_model::failure`] as deployments inject failures with Azure's
//!   bodies (`error-429` with `Retry-After`).

// Handlers return Azure's error answer as the `Err` of their steps; a test mock's answers are
// not worth boxing.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use lls_api_common::unix_now;
use lls_api_inference::{ChatCompletionRequest, CompletionRequest, EmbeddingsRequest};
use lls_fake_model::failure::Failure;
use lls_fake_model::responder;
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::mock_openai::wire;

/// A prompt containing this is refused by the prompt filter (400 `content_filter`).
pub const PROMPT_FILTER_TRIGGER: &str = "azure-filtered-prompt";
/// A prompt containing this gets an answer cut by the completion filter.
pub const COMPLETION_FILTER_TRIGGER: &str = "azure-filtered-answer";
/// Messages longer than this many characters exceed the deployment's context.
pub const CONTEXT_CHARS: usize = 16_384;
/// What a deployment's model says its context is, in the overflow message.
const CONTEXT_TOKENS: usize = 4096;
/// The `Retry-After` of an injected 429, in seconds.
pub const RETRY_AFTER_SECONDS: u64 = 6;

/// Azure's 401 message, word for word.
pub const UNAUTHORIZED: &str = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.";

const CATEGORIES: [&str; 4] = ["hate", "self_harm", "sexual", "violence"];

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct AzureRequest {
    pub method: String,
    /// The path, e.g. `/openai/v1/chat/completions`.
    pub path: String,
    pub api_version: Option<String>,
    /// The `api-key` header.
    pub api_key: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    pub body: Option<Value>,
}

struct MockState {
    api_key: String,
    deployments: Vec<String>,
    embedding_dimension: usize,
    requests: Mutex<Vec<AzureRequest>>,
    next_id: AtomicU64,
}

/// The running mock; stops when dropped.
pub struct AzureMock {
    server: crate::local_server::LocalServer,
    state: Arc<MockState>,
}

impl std::fmt::Debug for AzureMock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureMock").field("addr", &self.server.addr).finish_non_exhaustive()
    }
}

impl AzureMock {
    /// Serves a resource with these deployments on a free port, accepting only `api_key`.
    /// Embedding deployments (names containing `embed`) answer with `embedding_dimension` floats.
    pub async fn start(api_key: &str, deployments: &[&str], embedding_dimension: usize) -> std::io::Result<AzureMock> {
        Self::start_on(api_key, deployments, embedding_dimension, 0).await
    }

    /// The same on 127.0.0.1:`port` (0: any free port).
    pub async fn start_on(api_key: &str, deployments: &[&str], embedding_dimension: usize, port: u16) -> std::io::Result<AzureMock> {
        let state = Arc::new(MockState {
            api_key: api_key.to_owned(),
            deployments: deployments.iter().map(|d| (*d).to_owned()).collect(),
            embedding_dimension,
            requests: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        });
        let router = Router::new()
            .route("/openai/v1/models", get(v1_models))
            .route("/openai/v1/{*operation}", post(v1_call))
            .route("/openai/models", get(dated_models))
            .route("/openai/deployments/{deployment}/{*operation}", post(deployment_call))
            .route("/health", get(|| async { "OK" }))
            .fallback(not_found)
            .with_state(state.clone());
        Ok(AzureMock { server: crate::local_server::serve_on(router, port).await?, state })
    }

    /// `http://127.0.0.1:PORT`: the resource endpoint (`api_base`, `azure_endpoint`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The requests received so far, refused ones included.
    pub fn requests(&self) -> Vec<AzureRequest> {
        self.state.requests.lock().clone()
    }
}

type Shared = State<Arc<MockState>>;

/// An Azure error answer: `{"error": {...}}` with `status`.
fn error(status: StatusCode, error: Value) -> Response {
    wire::json(status, &json!({ "error": error }))
}

fn unauthorized() -> Response {
    error(StatusCode::UNAUTHORIZED, json!({"code": "401", "message": UNAUTHORIZED}))
}

fn resource_not_found() -> Response {
    error(StatusCode::NOT_FOUND, json!({"code": "404", "message": "Resource not found"}))
}

fn deployment_not_found() -> Response {
    let message = "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.";
    error(StatusCode::NOT_FOUND, json!({"code": "DeploymentNotFound", "message": message}))
}

fn bad_request(message: impl Into<String>, param: Option<&str>, code: Option<&str>) -> Response {
    let message = message.into();
    error(StatusCode::BAD_REQUEST, json!({"message": message, "type": "invalid_request_error", "param": param, "code": code}))
}

fn version_not_supported() -> Response {
    error(StatusCode::BAD_REQUEST, json!({"code": "BadRequest", "message": "API version not supported"}))
}

/// `api-version` on the deployments API: `YYYY-MM-DD` with an optional `-preview`.
fn dated_version(version: &str) -> bool {
    let date = version.strip_suffix("-preview").unwrap_or(version);
    let parts: Vec<&str> = date.split('-').collect();
    parts.len() == 3
        && parts.iter().zip([4, 2, 2]).all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[0] >= "2022"
}

fn query_version(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).find(|(k, _)| k == "api-version").map(|(_, v)| v.into_owned())
}

/// Which layout a call came through; decides the `api-version` rule.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    V1,
    Deployments,
}

impl MockState {
    fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: Option<Value>) {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        self.requests.lock().push(AzureRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            api_version: query_version(uri.query()),
            api_key: text("api-key"),
            authorization: text("authorization"),
            body,
        });
    }

    /// The key in `api-key`, or as a bearer token; then the layout's `api-version` rule.
    fn admit(&self, headers: &HeaderMap, query: Option<&str>, layout: Layout) -> Result<(), Response> {
        let api_key = headers.get("api-key").and_then(|v| v.to_str().ok());
        let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if api_key.or(bearer) != Some(self.api_key.as_str()) {
            return Err(unauthorized());
        }
        match (layout, query_version(query)) {
            (Layout::Deployments, None) => Err(resource_not_found()),
            (Layout::Deployments, Some(v)) if !dated_version(&v) => Err(version_not_supported()),
            (Layout::V1, Some(v)) if !matches!(v.as_str(), "v1" | "preview" | "latest") => Err(version_not_supported()),
            _ => Ok(()),
        }
    }

    fn next_id(&self, prefix: &str) -> String {
        format!("{prefix}-azure-{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn model_list(&self) -> Value {
        let data: Vec<Value> = self
            .deployments
            .iter()
            .map(|id| {
                let embeds = responder::is_embedding_model(id);
                json!({"id": id, "object": "model", "created_at": 1_700_000_000, "status": "succeeded",
                    "capabilities": {"chat_completion": !embeds, "completion": !embeds, "embeddings": embeds, "fine_tune": false, "inference": true},
                    "lifecycle_status": "generally-available", "deprecation": {"inference": 1_900_000_000}})
            })
            .collect();
        json!({"data": data, "object": "list"})
    }
}

async fn v1_models(State(state): Shared, uri: Uri, headers: HeaderMap) -> Response {
    state.record(&Method::GET, &uri, &headers, None);
    match state.admit(&headers, uri.query(), Layout::V1) {
        Ok(()) => wire::json(StatusCode::OK, &state.model_list()),
        Err(r) => r,
    }
}

async fn dated_models(State(state): Shared, uri: Uri, headers: HeaderMap) -> Response {
    state.record(&Method::GET, &uri, &headers, None);
    match state.admit(&headers, uri.query(), Layout::Deployments) {
        Ok(()) => wire::json(StatusCode::OK, &state.model_list()),
        Err(r) => r,
    }
}

async fn v1_call(State(state): Shared, Path(operation): Path<String>, RawQuery(query): RawQuery, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    state.record(&Method::POST, &uri, &headers, parsed.clone());
    if let Err(r) = state.admit(&headers, query.as_deref(), Layout::V1) {
        return r;
    }
    let Some(value) = parsed.filter(Value::is_object) else {
        return bad_request("We could not parse the JSON body of your request.", None, None);
    };
    let Some(deployment) = value.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()).map(str::to_owned) else {
        return bad_request("you must provide a model parameter", Some("model"), Some("missing_required_parameter"));
    };
    call(&state, &operation, &deployment, value).await
}

async fn deployment_call(
    State(state): Shared,
    Path((deployment, operation)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    state.record(&Method::POST, &uri, &headers, parsed.clone());
    if let Err(r) = state.admit(&headers, query.as_deref(), Layout::Deployments) {
        return r;
    }
    let Some(mut value) = parsed.filter(Value::is_object) else {
        return bad_request("We could not parse the JSON body of your request.", None, None);
    };
    // The deployment names the model; the body's `model` is optional and ignored.
    value["model"] = Value::String(deployment.clone());
    call(&state, &operation, &deployment, value).await
}

async fn not_found(State(state): Shared, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    state.record(&method, &uri, &headers, None);
    resource_not_found()
}

/// An operation on a deployment, after authentication.
async fn call(state: &MockState, operation: &str, deployment: &str, body: Value) -> Response {
    let failure = Failure::from_model(deployment);
    match failure {
        Some(Failure::Status(status)) => return injected(status),
        Some(Failure::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Failure::Garbage) => return wire::garbage(body.get("stream").and_then(Value::as_bool).unwrap_or(false)),
        Some(_) => {}
        None if !state.deployments.iter().any(|d| d == deployment) => return deployment_not_found(),
        None => {}
    }
    let embeds = responder::is_embedding_model(deployment);
    let result = match operation {
        "chat/completions" if !embeds => chat(state, body, failure),
        "completions" if !embeds => completion(state, body, failure),
        "embeddings" if embeds || failure.is_some() => embeddings(state, body),
        "chat/completions" | "completions" | "embeddings" => Err(not_supported(operation, deployment)),
        _ => Err(resource_not_found()),
    };
    result.unwrap_or_else(|r| r)
}

fn not_supported(operation: &str, deployment: &str) -> Response {
    let op = match operation {
        "chat/completions" => "chatCompletion",
        "completions" => "completion",
        _ => "embeddings",
    };
    let message = format!("The {op} operation does not work with the specified model, {deployment}. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.");
    error(StatusCode::BAD_REQUEST, json!({"code": "OperationNotSupported", "message": message}))
}

/// Azure's answer to `error-<status>`.
fn injected(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status {
        401 => unauthorized(),
        404 => deployment_not_found(),
        429 => {
            let message = format!("Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after {RETRY_AFTER_SECONDS} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.");
            let mut response = error(code, json!({"code": "429", "message": message}));
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            response
        }
        503 => error(code, json!({"code": "ServiceUnavailable", "message": "The service is temporarily unable to process your request. Please try again later."})),
        400..=499 => bad_request(format!("Injected HTTP {status}"), None, None),
        _ => error(code, json!({"code": "InternalServerError", "message": "The server had an error while processing your request. Sorry about that!"})),
    }
}

/// Every message's text, for the filters and the context check.
fn prompt_text(body: &Value) -> String {
    let mut text = String::new();
    let mut push = |v: &Value| match v {
        Value::String(s) => text.push_str(s),
        Value::Array(parts) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).for_each(|t| text.push_str(t)),
        _ => {}
    };
    for m in body.get("messages").and_then(Value::as_array).into_iter().flatten() {
        push(m.get("content").unwrap_or(&Value::Null));
    }
    push(body.get("prompt").unwrap_or(&Value::Null));
    text
}

/// `content_filter_results`: every category safe, or `flagged` filtered at high severity.
fn filter_results(flagged: Option<&str>) -> Value {
    let mut results = serde_json::Map::new();
    for c in CATEGORIES {
        let hit = flagged == Some(c);
        results.insert(c.into(), json!({"filtered": hit, "severity": if hit { "high" } else { "safe" }}));
    }
    Value::Object(results)
}

fn prompt_filter_results() -> Value {
    json!([{"prompt_index": 0, "content_filter_results": filter_results(None)}])
}

/// The prompt filter, then the context window.
fn screen(body: &Value) -> Result<String, Response> {
    let text = prompt_text(body);
    if text.contains(PROMPT_FILTER_TRIGGER) {
        let message = "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766";
        let inner = json!({"code": "ResponsibleAIPolicyViolation", "content_filter_result": filter_results(Some("violence"))});
        return Err(error(StatusCode::BAD_REQUEST, json!({"message": message, "type": null, "param": "prompt", "code": "content_filter", "status": 400, "innererror": inner})));
    }
    let chars = text.chars().count();
    if chars > CONTEXT_CHARS {
        let message = format!("This model's maximum context length is {CONTEXT_TOKENS} tokens. However, your messages resulted in {} tokens. Please reduce the length of the messages.", chars / 4);
        return Err(bad_request(message, Some("messages"), Some("context_length_exceeded")));
    }
    Ok(text)
}

fn typed<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, Response> {
    serde_json::from_value(body).map_err(|e| bad_request(e.to_string(), None, None))
}

fn chat(state: &MockState, body: Value, failure: Option<Failure>) -> Result<Response, Response> {
    let text = screen(&body)?;
    let req: ChatCompletionRequest = typed(body)?;
    req.validate().map_err(|e| bad_request(e.message(), e.param(), None))?;
    let answer = responder::chat(&req, &state.next_id("chatcmpl"), unix_now()).map_err(|e| bad_request(e.message(), e.param(), None))?;
    let cut = text.contains(COMPLETION_FILTER_TRIGGER);
    if req.is_stream() {
        let chunks = responder::chat_chunks(&answer, req.include_usage());
        let mut frames = vec![json!({"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": prompt_filter_results()})];
        let last_choice = chunks.iter().rposition(|c| !c.choices.is_empty());
        for (i, chunk) in chunks.iter().enumerate() {
            let mut v = serde_json::to_value(chunk).map_err(|e| bad_request(e.to_string(), None, None))?;
            for choice in v["choices"].as_array_mut().into_iter().flatten() {
                let is_last = Some(i) == last_choice;
                choice["content_filter_results"] = if is_last && cut { filter_results(Some("violence")) } else { filter_results(None) };
                if is_last && cut {
                    choice["finish_reason"] = json!("content_filter");
                }
            }
            frames.push(v);
        }
        return Ok(wire::sse(&frames, failure));
    }
    let mut v = serde_json::to_value(&answer).map_err(|e| bad_request(e.to_string(), None, None))?;
    v["prompt_filter_results"] = prompt_filter_results();
    for choice in v["choices"].as_array_mut().into_iter().flatten() {
        choice["content_filter_results"] = filter_results(cut.then_some("violence"));
        if cut {
            choice["finish_reason"] = json!("content_filter");
            choice["message"]["content"] = Value::Null;
        }
    }
    Ok(wire::json(StatusCode::OK, &v))
}

fn completion(state: &MockState, body: Value, failure: Option<Failure>) -> Result<Response, Response> {
    screen(&body)?;
    let req: CompletionRequest = typed(body)?;
    req.validate().map_err(|e| bad_request(e.message(), e.param(), None))?;
    let answer = responder::completion(&req, &state.next_id("cmpl"), unix_now()).map_err(|e| bad_request(e.message(), e.param(), None))?;
    let add_filters = |v: &mut Value| {
        for choice in v["choices"].as_array_mut().into_iter().flatten() {
            choice["content_filter_results"] = filter_results(None);
        }
    };
    if req.is_stream() {
        let include_usage = req.stream_options.as_ref().and_then(|o| o.include_usage).unwrap_or(false);
        let mut frames = Vec::new();
        for chunk in responder::completion_chunks(&answer, include_usage) {
            let mut v = serde_json::to_value(chunk).map_err(|e| bad_request(e.to_string(), None, None))?;
            add_filters(&mut v);
            frames.push(v);
        }
        return Ok(wire::sse(&frames, failure));
    }
    let mut v = serde_json::to_value(&answer).map_err(|e| bad_request(e.to_string(), None, None))?;
    v["prompt_filter_results"] = prompt_filter_results();
    add_filters(&mut v);
    Ok(wire::json(StatusCode::OK, &v))
}

fn embeddings(state: &MockState, body: Value) -> Result<Response, Response> {
    let req: EmbeddingsRequest = typed(body)?;
    let answer = responder::embeddings(&req, state.embedding_dimension).map_err(|e| bad_request(e.message(), e.param(), None))?;
    Ok(wire::json(StatusCode::OK, &answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        for ok in ["2024-10-21", "2025-04-01-preview", "2022-12-01"] {
            assert!(dated_version(ok), "{ok}");
        }
        for bad in ["v1", "2024-10", "2021-01-01", "2024-1-21", "latest", "2024-10-21-beta"] {
            assert!(!dated_version(bad), "{bad}");
        }
    }

    #[test]
    fn prompt_text_reads_strings_and_parts() {
        let body = json!({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "text", "text": "b"}]}]});
        assert_eq!(prompt_text(&body), "ab");
        assert_eq!(prompt_text(&json!({"prompt": "c"})), "c");
    }
}
