//! Errors as HTTP answers. The table (kind → status, OpenAI `error.type`, body) is
//! `lls_api_common`'s (`ErrorKind::http_status`, `Error::body`), so background work that writes
//! errors without answering a request (batch result lines) says the same; this module is the
//! only place that turns an [`lls_api_common::Error`] into a response. One body shape serves both
//! client families: OpenAI's `error` object (read by the `openai` SDK) and a `detail` string
//! (read by `llama-stack-client` and FastAPI-style tooling).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lls_api_common::Error;
use serde_json::Value;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

pub fn status_of(e: &Error) -> StatusCode {
    StatusCode::from_u16(e.kind().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The JSON body of an error; also the payload of the final SSE event of a failed stream.
pub fn error_body(e: &Error) -> Value {
    e.body()
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
    lls_api_common::error_body(message, kind, None, Value::Null)
}

/// Marks a response whose error body this module rendered, so the edge leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct Rendered;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        let mut response = (status, Json(error_body(&self.0))).into_response();
        if let Some(seconds) = self.0.retry_after() {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(LoggedError(self.0));
        response.extensions_mut().insert(Rendered);
        response
    }
}

/// Attached to error responses so the logging layer (not the renderer) can log 5xx once.
#[derive(Debug, Clone)]
pub struct LoggedError(pub Error);

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::ErrorKind;

    #[test]
    fn a_backends_retry_after_reaches_the_client_as_a_header() {
        let waited = ApiError(Error::new(ErrorKind::RateLimited, "slow down").with_retry_after(7)).into_response();
        assert_eq!(waited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(waited.headers().get(axum::http::header::RETRY_AFTER).map(|v| v.as_bytes()), Some(&b"7"[..]));
        let plain = ApiError(Error::new(ErrorKind::RateLimited, "slow down")).into_response();
        assert!(plain.headers().get(axum::http::header::RETRY_AFTER).is_none());
    }

    #[test]
    fn an_errors_code_is_openais_error_code() {
        let body = error_body(&Error::invalid("bad").with_param("endpoint").with_code("invalid_value"));
        assert_eq!(body["error"]["code"], "invalid_value");
        assert_eq!(body["error"]["param"], "endpoint");
        assert_eq!(body["detail"], "bad");
    }
}
