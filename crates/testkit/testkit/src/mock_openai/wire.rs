//! What the mock puts on the wire: JSON bodies, OpenAI's error object for each status, and SSE
//! streams (`data: {chunk}\n\n` ... `data: [DONE]\n\n`), including the broken ones it injects.

use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use lls_api_common::Error;
use serde::Serialize;
use serde_json::{Value, json};

use lls_fake_model::failure::Failure;

/// A JSON response; serialization cannot fail for the mock's types, but would answer 500.
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            e.to_string(),
            "server_error",
        )
        .into_response(),
    }
}

/// An error answer, rendered as OpenAI's `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    kind: &'static str,
    param: Option<String>,
    code: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>, kind: &'static str) -> Self {
        ApiError {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
        }
    }

    /// 400 `invalid_request_error`.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, "invalid_request_error")
    }

    /// 400 for a request the contracts reject, naming their `param`.
    pub(crate) fn from_error(e: &Error) -> Self {
        ApiError {
            param: e.param().map(str::to_owned),
            ..Self::invalid(e.message())
        }
    }

    pub(crate) fn param(mut self, param: &str) -> Self {
        self.param = Some(param.to_owned());
        self
    }

    pub(crate) fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// 400 for a missing required field, as OpenAI words it.
    pub(crate) fn missing(param: &str) -> Self {
        let message = if param == "model" {
            "you must provide a model parameter".to_owned()
        } else {
            format!("Missing required parameter: '{param}'.")
        };
        Self::invalid(message)
            .param(param)
            .code("missing_required_parameter")
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Incorrect API key provided",
            "invalid_request_error",
        )
        .code("invalid_api_key")
    }

    pub(crate) fn model_not_found(model: &str) -> Self {
        let message =
            format!("The model `{model}` does not exist or you do not have access to it.");
        Self::new(StatusCode::NOT_FOUND, message, "invalid_request_error")
            .param("model")
            .code("model_not_found")
    }

    /// The answer to `error-<status>`, with the body OpenAI sends for that status.
    pub(crate) fn injected(status: u16) -> Self {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match status {
            401 => Self::unauthorized(),
            404 => Self::model_not_found(&format!("error-{status}")),
            429 => Self::new(
                code,
                "Rate limit reached for requests (injected by the mock)",
                "requests",
            )
            .code("rate_limit_exceeded"),
            503 => Self::new(
                code,
                "The engine is currently overloaded, please try again later",
                "server_error",
            ),
            400..=499 => Self::new(
                code,
                format!("Injected HTTP {status}"),
                "invalid_request_error",
            ),
            _ => Self::new(
                code,
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}});
        json(self.status, &body)
    }
}

/// `garbage`: 200 with a body no JSON or SSE parser accepts.
pub(crate) fn garbage(stream: bool) -> Response {
    if stream {
        let body = "data: {this is not json\n\ndata: [DONE]\n\n";
        return (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            )],
            body,
        )
            .into_response();
    }
    let body = "<html><body>502 Bad Gateway (this is not JSON)</body></html>";
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// One SSE frame.
fn frame<T: Serialize>(chunk: &T) -> Bytes {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(b"data: ");
    // Chunks are plain data; should one fail to serialize, an empty object keeps the framing.
    if serde_json::to_writer(&mut buf, chunk).is_err() {
        buf.extend_from_slice(b"{}");
    }
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}

const DONE: &[u8] = b"data: [DONE]\n\n";

/// An SSE response streaming `chunks` then `[DONE]`; `midstream-error` sends two chunks and then
/// breaks the connection, `empty-stream` sends only `[DONE]`.
pub(crate) fn sse<T: Serialize>(chunks: &[T], failure: Option<Failure>) -> Response {
    let body: BoxStream<'static, Result<Bytes, io::Error>> = match failure {
        Some(Failure::EmptyStream) => stream::iter([Ok(Bytes::from_static(DONE))]).boxed(),
        Some(Failure::MidstreamError) => {
            let first: Vec<Result<Bytes, io::Error>> =
                chunks.iter().take(2).map(|c| Ok(frame(c))).collect();
            let abort = stream::once(async {
                // Let the two frames reach the socket before the connection is torn down.
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(io::Error::other("mock: injected midstream error"))
            });
            stream::iter(first).chain(abort).boxed()
        }
        _ => {
            let frames: Vec<Result<Bytes, io::Error>> = chunks
                .iter()
                .map(|c| Ok(frame(c)))
                .chain([Ok(Bytes::from_static(DONE))])
                .collect();
            stream::iter(frames).boxed()
        }
    };
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// `{"object": "list", "data": [...]}` for `GET /v1/models`.
pub(crate) fn model_list(models: &[String]) -> Value {
    let data: Vec<Value> = models
        .iter()
        .map(
            |id| json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "mock"}),
        )
        .collect();
    json!({"object": "list", "data": data})
}
