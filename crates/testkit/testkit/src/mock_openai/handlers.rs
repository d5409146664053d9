//! The mock's route handlers: record, authorize, validate like OpenAI, apply the model's injected
//! failure, then answer with [`lls_fake_model::responder`] as JSON or SSE.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use lls_api_common::unix_now;
use lls_api_inference::{ChatCompletionRequest, CompletionRequest, EmbeddingsRequest};
use serde::Deserialize;
use serde_json::Value;

use super::fixed::{self, FIXED_EMBED, FIXED_LLM, Probe};
use super::wire::{self, ApiError};
use super::{MockState, RecordedRequest};
use lls_fake_model::failure::Failure;
use lls_fake_model::responder;

type Shared = State<Arc<MockState>>;

/// Which endpoint a model is asked to serve.
#[derive(Clone, Copy)]
enum Endpoint {
    Text,
    Embeddings,
}

impl MockState {
    fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: Option<&Value>) {
        if let Some(records) = &self.records {
            let r = RecordedRequest::new(method.as_str(), uri.path(), headers, body.cloned());
            records.lock().push(r);
        }
    }

    fn authorize(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(key) = &self.config.api_key else {
            return Ok(());
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match given.and_then(|v| v.strip_prefix("Bearer ")) {
            Some(k) if k == key => Ok(()),
            _ => Err(ApiError::unauthorized()),
        }
    }

    /// Records the request, checks the key, then parses the body and its required fields.
    fn admit(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        required: &[&str],
    ) -> Result<Value, ApiError> {
        let parsed: Result<Value, _> = serde_json::from_slice(body);
        self.record(&Method::POST, uri, headers, parsed.as_ref().ok());
        self.authorize(headers)?;
        let value = parsed.map_err(|e| {
            ApiError::invalid(format!(
                "We could not parse the JSON body of your request. ({e})"
            ))
        })?;
        if !value.is_object() {
            return Err(ApiError::invalid("The request body must be a JSON object"));
        }
        if value
            .get("model")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::missing("model"));
        }
        if let Some(missing) = required
            .iter()
            .find(|f| value.get(**f).is_none_or(Value::is_null))
        {
            return Err(ApiError::missing(missing));
        }
        Ok(value)
    }

    /// Records and authorizes a request answered from [`fixed`]; the body is parsed whole only
    /// when requests are recorded.
    fn admit_fixed(&self, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
        if self.records.is_some() {
            let parsed: Option<Value> = serde_json::from_slice(body).ok();
            self.record(&Method::POST, uri, headers, parsed.as_ref());
        }
        self.authorize(headers)
    }

    /// Applies the model's injected failure (sleeping for `slow-<ms>`) and the model checks;
    /// returns the failure the answer itself must show (garbage, broken streams).
    async fn gate(&self, model: &str, endpoint: Endpoint) -> Result<Option<Failure>, ApiError> {
        let failure = Failure::from_model(model);
        match failure {
            Some(Failure::Status(status)) => return Err(ApiError::injected(status)),
            Some(Failure::Slow(delay)) => tokio::time::sleep(delay).await,
            Some(_) => {}
            None if self.config.strict_models && !self.config.models.iter().any(|m| m == model) => {
                return Err(ApiError::model_not_found(model));
            }
            None => {}
        }
        let serves = match endpoint {
            Endpoint::Text => responder::serves_text(model),
            Endpoint::Embeddings => responder::serves_embeddings(model),
        };
        if !serves {
            let what = match endpoint {
                Endpoint::Text => "an embedding model; it does not support text generation",
                Endpoint::Embeddings => "not an embedding model; it does not support embeddings",
            };
            return Err(ApiError::invalid(format!("The model `{model}` is {what}.")).param("model"));
        }
        Ok(failure)
    }

    fn next_id(&self, prefix: &str) -> String {
        format!(
            "{prefix}-mock-{}",
            self.next_id.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// Parses the typed request from the admitted JSON; serde's message becomes the 400's.
fn typed<'a, T: Deserialize<'a>>(value: &'a Value) -> Result<T, ApiError> {
    T::deserialize(value).map_err(|e| ApiError::invalid(e.to_string()))
}

fn either(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn list_models(State(state): Shared, uri: Uri, headers: HeaderMap) -> Response {
    state.record(&Method::GET, &uri, &headers, None);
    if let Err(e) = state.authorize(&headers) {
        return e.into_response();
    }
    wire::json(StatusCode::OK, &wire::model_list(&state.config.models))
}

pub(super) async fn chat_completions(
    State(state): Shared,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(probe) = Probe::of(&body).filter(|p| p.is(FIXED_LLM)) {
        return either(
            state
                .admit_fixed(&uri, &headers, &body)
                .map(|()| fixed::chat(&probe, &state.next_id("chatcmpl"))),
        );
    }
    either(chat(&state, &uri, &headers, &body).await)
}

async fn chat(
    state: &MockState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let value = state.admit(uri, headers, body, &["messages"])?;
    let req: ChatCompletionRequest = typed(&value)?;
    req.validate().map_err(|e| ApiError::from_error(&e))?;
    let failure = state.gate(&req.model, Endpoint::Text).await?;
    if failure == Some(Failure::Garbage) {
        return Ok(wire::garbage(req.is_stream()));
    }
    let answer = responder::chat(&req, &state.next_id("chatcmpl"), unix_now())
        .map_err(|e| ApiError::from_error(&e))?;
    if req.is_stream() {
        return Ok(wire::sse(
            &responder::chat_chunks(&answer, req.include_usage()),
            failure,
        ));
    }
    Ok(wire::json(StatusCode::OK, &answer))
}

pub(super) async fn completions(
    State(state): Shared,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    either(completion(&state, &uri, &headers, &body).await)
}

async fn completion(
    state: &MockState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let value = state.admit(uri, headers, body, &["prompt"])?;
    check_legacy_logprobs(value.get("logprobs"))?;
    let req: CompletionRequest = typed(&value)?;
    req.validate().map_err(|e| ApiError::from_error(&e))?;
    let failure = state.gate(&req.model, Endpoint::Text).await?;
    if failure == Some(Failure::Garbage) {
        return Ok(wire::garbage(req.is_stream()));
    }
    let answer = responder::completion(&req, &state.next_id("cmpl"), unix_now())
        .map_err(|e| ApiError::from_error(&e))?;
    if req.is_stream() {
        let include_usage = req
            .stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false);
        return Ok(wire::sse(
            &responder::completion_chunks(&answer, include_usage),
            failure,
        ));
    }
    Ok(wire::json(StatusCode::OK, &answer))
}

/// OpenAI's legacy `logprobs` is an integer from 0 to 5; a boolean (0.3.5's mistake) is a 400.
fn check_legacy_logprobs(logprobs: Option<&Value>) -> Result<(), ApiError> {
    let bad =
        |message: &str, code: &'static str| ApiError::invalid(message).param("logprobs").code(code);
    match logprobs {
        None | Some(Value::Null) => Ok(()),
        Some(v) if v.as_u64().is_some_and(|n| n <= 5) => Ok(()),
        Some(v) if v.is_u64() || v.is_i64() => Err(bad(
            &format!("Invalid value for 'logprobs': {v}; it must be between 0 and 5."),
            "invalid_value",
        )),
        Some(v) => {
            let got = if v.is_boolean() {
                "a boolean"
            } else {
                "another type"
            };
            Err(bad(
                &format!(
                    "Invalid type for 'logprobs': expected an integer, but got {got} instead."
                ),
                "invalid_type",
            ))
        }
    }
}

pub(super) async fn embeddings(
    State(state): Shared,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(probe) = Probe::of(&body).filter(|p| p.is(FIXED_EMBED)) {
        return either(
            state
                .admit_fixed(&uri, &headers, &body)
                .map(|()| fixed::embeddings(&probe)),
        );
    }
    either(embed(&state, &uri, &headers, &body).await)
}

async fn embed(
    state: &MockState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let value = state.admit(uri, headers, body, &["input"])?;
    let req: EmbeddingsRequest = typed(&value)?;
    let failure = state.gate(&req.model, Endpoint::Embeddings).await?;
    if failure == Some(Failure::Garbage) {
        return Ok(wire::garbage(false));
    }
    let answer = responder::embeddings(&req, state.config.embedding_dimension)
        .map_err(|e| ApiError::from_error(&e))?;
    Ok(wire::json(StatusCode::OK, &answer))
}

pub(super) async fn not_found(
    State(state): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    state.record(&method, &uri, &headers, None);
    let message = format!("Invalid URL ({method} {})", uri.path());
    ApiError::new(StatusCode::NOT_FOUND, message, "invalid_request_error").into_response()
}
