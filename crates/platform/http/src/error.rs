//! The only mapping from [`lls_api_common::Error`] to HTTP. One body shape serves both client
//! families: OpenAI's `error` object (read by the `openai` SDK) and a `detail` string (read by
//! `llama-stack-client` and FastAPI-style tooling).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lls_api_common::{Error, ErrorKind};
use serde_json::{Value, json};

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

pub fn status_of(e: &Error) -> StatusCode {
    match e.kind() {
        ErrorKind::InvalidRequest | ErrorKind::ContextLength => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unsupported => StatusCode::BAD_REQUEST,
        ErrorKind::UpstreamError => StatusCode::BAD_GATEWAY,
        ErrorKind::UpstreamUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// OpenAI's `error.type` for a kind.
fn openai_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest | ErrorKind::NotFound | ErrorKind::Conflict | ErrorKind::Unsupported => {
            "invalid_request_error"
        }
        ErrorKind::ContextLength => "invalid_request_error",
        ErrorKind::Unauthenticated => "authentication_error",
        ErrorKind::Forbidden => "permission_error",
        ErrorKind::PayloadTooLarge | ErrorKind::UnsupportedMediaType => "invalid_request_error",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::UpstreamError | ErrorKind::UpstreamUnavailable | ErrorKind::Timeout => "api_error",
        ErrorKind::Internal => "server_error",
    }
}

/// The JSON body of an error; also the payload of the final SSE event of a failed stream.
pub fn error_body(e: &Error) -> Value {
    let code = match e.kind() {
        ErrorKind::ContextLength => Value::from("context_length_exceeded"),
        ErrorKind::NotFound => Value::from("not_found"),
        _ => Value::Null,
    };
    body(&e.to_string(), openai_type(e.kind()), e.param(), code)
}

fn body(message: &str, kind: &str, param: Option<&str>, code: Value) -> Value {
    json!({
        "error": { "message": message, "type": kind, "param": param, "code": code },
        "detail": message,
    })
}

/// An answer about the HTTP exchange itself rather than the API call (405, 408, 414, 426, 431,
/// a shutting-down 503, or another layer's error rewritten), in the same body shape.
pub fn edge_error(status: StatusCode, message: &str) -> Response {
    let mut response = (status, Json(edge_body(status, message))).into_response();
    response.extensions_mut().insert(Rendered);
    response
}

/// The body of [`edge_error`]; also the last event of a stream the shutdown ends.
pub fn edge_body(status: StatusCode, message: &str) -> Value {
    let kind = match status {
        StatusCode::UNAUTHORIZED => "authentication_error",
        StatusCode::FORBIDDEN => "permission_error",
        StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
        s if s.is_server_error() => "api_error",
        _ => "invalid_request_error",
    };
    body(message, kind, None, Value::Null)
}

/// Marks a response whose error body this module rendered, so the edge leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct Rendered;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        let mut response = (status, Json(error_body(&self.0))).into_response();
        response.extensions_mut().insert(LoggedError(self.0));
        response.extensions_mut().insert(Rendered);
        response
    }
}

/// Attached to error responses so the logging layer (not the renderer) can log 5xx once.
#[derive(Debug, Clone)]
pub struct LoggedError(pub Error);

pub type ApiResult<T> = Result<T, ApiError>;
