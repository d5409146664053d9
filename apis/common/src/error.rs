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
