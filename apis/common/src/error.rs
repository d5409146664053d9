//! The one error type of the stack. Providers map vendor failures into an [`ErrorKind`];
//! the server owns the only table from kind to HTTP status and body.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms a client can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is malformed or names something impossible (400).
    InvalidRequest,
    /// A named resource does not exist (404).
    NotFound,
    /// The resource already exists or is in a state that forbids this (409).
    Conflict,
    /// No or bad credentials (401).
    Unauthenticated,
    /// Credentials are fine but not allowed to do this (403).
    Forbidden,
    /// Payload too large (413).
    PayloadTooLarge,
    /// The request body is not in a format the route takes, e.g. not JSON (415).
    UnsupportedMediaType,
    /// Too many requests, here or at the provider (429).
    RateLimited,
    /// The operation exists but this provider/model cannot do it (400 on OpenAI routes, 501 otherwise).
    Unsupported,
    /// The prompt does not fit the model (400).
    ContextLength,
    /// The backend answered, but with an error or garbage (502).
    UpstreamError,
    /// The backend could not be reached (503).
    UpstreamUnavailable,
    /// The backend did not answer in time (504).
    Timeout,
    /// A bug or an unexpected state on our side (500).
    Internal,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::ContextLength => "context_length_exceeded",
            ErrorKind::UpstreamError => "upstream_error",
            ErrorKind::UpstreamUnavailable => "upstream_unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Internal => "internal",
        }
    }

    /// The HTTP status this kind is answered with: the one table, which `lls-http` renders
    /// and background work (batch result lines) writes.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::ContextLength | ErrorKind::Unsupported => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::RateLimited => 429,
            ErrorKind::UpstreamError => 502,
            ErrorKind::UpstreamUnavailable => 503,
            ErrorKind::Timeout => 504,
            ErrorKind::Internal => 500,
        }
    }

    /// OpenAI's `error.type` for this kind.
    pub fn openai_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest
            | ErrorKind::NotFound
            | ErrorKind::Conflict
            | ErrorKind::Unsupported
            | ErrorKind::ContextLength
            | ErrorKind::PayloadTooLarge
            | ErrorKind::UnsupportedMediaType => "invalid_request_error",
            ErrorKind::Unauthenticated => "authentication_error",
            ErrorKind::Forbidden => "permission_error",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::UpstreamError | ErrorKind::UpstreamUnavailable | ErrorKind::Timeout => "api_error",
            ErrorKind::Internal => "server_error",
        }
    }
}

/// An error with a semantic kind, a message for the client and optional context.
#[derive(Debug, Clone, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// The request field at fault, when there is one (OpenAI's `param`).
    param: Option<String>,
    /// The provider that produced the error, for backend failures.
    provider: Option<String>,
    /// An HTTP status reported by the backend, passed through where it is a client error.
    upstream_status: Option<u16>,
    retryable: bool,
    /// OpenAI's machine-readable `error.code` (`invalid_value`, …), when the error has one.
    code: Option<String>,
    /// Seconds the client should wait before retrying (a backend's `Retry-After`), answered
    /// as the response's own `Retry-After` header.
    retry_after: Option<u64>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let retryable = matches!(
            kind,
            ErrorKind::RateLimited | ErrorKind::UpstreamUnavailable | ErrorKind::Timeout
        );
        Error {
            kind,
            message: message.into(),
            param: None,
            provider: None,
            upstream_status: None,
            retryable,
            code: None,
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// "Model 'x' not found" in the words llama-stack-client users already know.
    pub fn resource_not_found(resource: &str, id: &str, list_call: &str) -> Self {
        Self::not_found(format!(
            "{resource} '{id}' not found. Use '{list_call}' to list available {resource}s."
        ))
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// Gives the error OpenAI's `error.code` (its kind's own code otherwise).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Tells the client to wait `seconds` before retrying (`Retry-After` on the answer).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    pub fn with_upstream_status(mut self, status: u16) -> Self {
        self.upstream_status = Some(status);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }

    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    pub fn upstream_status(&self) -> Option<u16> {
        self.upstream_status
    }

    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The JSON body this error is answered with: OpenAI's `error` object (read by the
    /// `openai` SDK) and a `detail` string (read by `llama-stack-client`).
    pub fn body(&self) -> serde_json::Value {
        let code = match self.kind {
            _ if self.code.is_some() => serde_json::Value::from(self.code.clone()),
            ErrorKind::ContextLength => serde_json::Value::from("context_length_exceeded"),
            ErrorKind::NotFound => serde_json::Value::from("not_found"),
            _ => serde_json::Value::Null,
        };
        error_body(&self.to_string(), self.kind.openai_type(), self.param(), code)
    }
}

/// The error body shape every answer uses, from its parts (also for errors about the HTTP
/// exchange itself, which have no [`Error`]).
pub fn error_body(message: &str, kind: &str, param: Option<&str>, code: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "error": { "message": message, "type": kind, "param": param, "code": code },
        "detail": message,
    })
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.provider {
            Some(p) => write!(f, "{} (provider {p})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::invalid(e.to_string())
    }
}
