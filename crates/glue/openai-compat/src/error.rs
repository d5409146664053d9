//! Backend failures -> [`ErrorKind`]s: HTTP statuses, OpenAI/vLLM/FastAPI error bodies,
//! transport errors and bad payloads. The only place that knows vendor error codes.

use std::error::Error as StdError;

use lls_api_common::{Error, ErrorKind};
use serde_json::Value;

/// Where the API key of a request came from; decides who is to blame for a 401/403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The caller's `X-LlamaStack-Provider-Data`: a rejection is the caller's problem.
    ProviderData,
    /// The run.yaml config: a rejection is the operator's problem, not the caller's.
    Config,
    /// No key was sent.
    None,
}

/// What an error body says, whatever shape the backend used.
#[derive(Debug, Default, PartialEq)]
pub struct BackendError {
    pub message: Option<String>,
    pub param: Option<String>,
    pub code: Option<String>,
}

impl BackendError {
    /// Reads `{"error": {"message", "param", "code"}}` (OpenAI, newer vLLM), `{"error": "..."}`,
    /// `{"object": "error", "message": ...}` (older vLLM) and `{"detail": ...}` (FastAPI).
    pub fn parse(body: &[u8]) -> Option<BackendError> {
        let value: Value = serde_json::from_slice(body).ok()?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Option<BackendError> {
        let obj = value.as_object()?;
        let inner = match obj.get("error") {
            Some(Value::Object(e)) => e,
            Some(Value::String(s)) => return Some(BackendError { message: Some(s.clone()), ..Default::default() }),
            _ => obj,
        };
        let text = |key: &str| match inner.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let message = text("message").or_else(|| match obj.get("detail") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(d @ (Value::Array(_) | Value::Object(_))) => Some(d.to_string()),
            _ => None,
        });
        if message.is_none() && !obj.contains_key("error") {
            return None;
        }
        Some(BackendError { message, param: text("param"), code: text("code").or_else(|| text("type")) })
    }

    fn is_context_length(&self) -> bool {
        self.code.as_deref() == Some("context_length_exceeded") || self.message.as_deref().is_some_and(mentions_context_length)
    }
}

/// "This model's maximum context length is 4096 tokens..." (OpenAI and vLLM alike).
fn mentions_context_length(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("maximum context length") || m.contains("context_length_exceeded") || (m.contains("context length") && m.contains("exceed"))
}

/// An error answer as received: what an [`crate::ErrorHook`] reads.
#[derive(Debug)]
pub struct HttpFailure<'a> {
    pub provider: &'a str,
    pub status: u16,
    pub headers: &'a reqwest::header::HeaderMap,
    pub body: &'a [u8],
    pub credential: Credential,
}

impl HttpFailure<'_> {
    /// The `Retry-After` header's value (seconds or an HTTP date), as sent.
    pub fn retry_after(&self) -> Option<&str> {
        self.headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
    }
}

/// An error answer: [`from_status`], with a 429's `Retry-After` named in the message.
pub fn from_failure(failure: &HttpFailure<'_>) -> Error {
    let retry_after = if failure.status == 429 { failure.retry_after() } else { None };
    classify(failure.provider, failure.status, failure.body, failure.credential, retry_after)
}

/// An error HTTP status from the backend, with its body.
pub fn from_status(provider: &str, status: u16, body: &[u8], credential: Credential) -> Error {
    classify(provider, status, body, credential, None)
}

fn classify(provider: &str, status: u16, body: &[u8], credential: Credential, retry_after: Option<&str>) -> Error {
    let backend = BackendError::parse(body).unwrap_or_default();
    let mut message = backend.message.clone().unwrap_or_else(|| fallback_message(status, body));
    let wait_seconds = retry_after.and_then(|wait| wait.trim().parse::<u64>().ok());
    if let Some(wait) = retry_after {
        message.push_str(&format!(" (Retry-After: {wait})"));
    }
    let client_error = |kind: ErrorKind| {
        let e = Error::new(kind, message.clone()).with_upstream_status(status);
        match &backend.param {
            Some(p) => e.with_param(p.clone()),
            None => e,
        }
    };
    let err = match status {
        401 | 403 if credential == Credential::ProviderData => {
            let kind = if status == 401 { ErrorKind::Unauthenticated } else { ErrorKind::Forbidden };
            Error::new(kind, format!("provider {provider} rejected the API key from the provider data: {message}"))
                .with_upstream_status(status)
        }
        401 | 403 => Error::new(ErrorKind::UpstreamError, format!("provider {provider} rejected the credentials: {message}")),
        429 => match wait_seconds {
            Some(seconds) => client_error(ErrorKind::RateLimited).with_retry_after(seconds),
            None => client_error(ErrorKind::RateLimited),
        },
        400..=499 if backend.is_context_length() => client_error(ErrorKind::ContextLength),
        404 => client_error(ErrorKind::NotFound),
        409 => client_error(ErrorKind::Conflict),
        413 => client_error(ErrorKind::PayloadTooLarge),
        408 | 504 => Error::new(ErrorKind::Timeout, format!("provider {provider} timed out (HTTP {status}): {message}")),
        400..=499 => client_error(ErrorKind::InvalidRequest),
        // Overloaded or still loading the model: worth a retry, unlike other server errors.
        503 => Error::new(ErrorKind::UpstreamUnavailable, format!("provider {provider} is unavailable (HTTP 503): {message}")),
        _ => Error::new(ErrorKind::UpstreamError, format!("provider {provider} failed with HTTP {status}: {message}")),
    };
    err.with_provider(provider)
}

/// An error object the backend sent inside a stream (`data: {"error": ...}`).
pub fn from_stream_event(provider: &str, backend: &BackendError) -> Error {
    let message = backend.message.as_deref().unwrap_or("unknown error");
    let kind = if backend.is_context_length() { ErrorKind::ContextLength } else { ErrorKind::UpstreamError };
    Error::new(kind, format!("provider {provider} reported an error mid-stream: {message}")).with_provider(provider)
}

/// A failure to reach the backend or to read its answer.
pub fn from_transport(provider: &str, url: &str, err: reqwest::Error) -> Error {
    // The URL is named once, by us; reqwest's own message would repeat it.
    let err = err.without_url();
    let detail = chain(&err);
    let e = if err.is_connect() {
        Error::new(ErrorKind::UpstreamUnavailable, format!("provider {provider} is unreachable at {url}: {detail}"))
    } else if err.is_timeout() {
        Error::new(ErrorKind::Timeout, format!("provider {provider} did not answer in time ({url}): {detail}"))
    } else if err.is_body() || err.is_decode() {
        Error::new(ErrorKind::UpstreamError, format!("provider {provider} dropped the connection mid-response: {detail}"))
    } else if err.is_builder() {
        Error::new(ErrorKind::Internal, format!("cannot build a request to provider {provider} at {url}: {detail}"))
    } else {
        Error::new(ErrorKind::UpstreamError, format!("request to provider {provider} at {url} failed: {detail}"))
    };
    e.with_provider(provider)
}

/// A 200 answer whose body is not what the API promises.
pub fn invalid_response(provider: &str, body: &[u8], err: &dyn std::fmt::Display) -> Error {
    if let Some(backend) = BackendError::parse(body).filter(|b| b.message.is_some()) {
        return from_stream_event(provider, &backend);
    }
    Error::new(
        ErrorKind::UpstreamError,
        format!("provider {provider} returned an invalid response: {err}; body: {}", snippet(body)),
    )
    .with_provider(provider)
}

/// The error and its causes on one line: reqwest's own message alone says little
/// ("error sending request"); the cause says "connection refused".
fn chain(err: &dyn StdError) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn fallback_message(status: u16, body: &[u8]) -> String {
    let text = snippet(body);
    if text.is_empty() || text.starts_with('<') {
        reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map_or_else(|| format!("HTTP {status}"), str::to_owned)
    } else {
        text
    }
}

/// The start of a body, for messages; bodies can be large and are not ours to echo whole.
pub(crate) fn snippet(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, body: &str, cred: Credential) -> (ErrorKind, Error) {
        let e = from_status("p1", status, body.as_bytes(), cred);
        assert_eq!(e.provider(), Some("p1"));
        (e.kind(), e)
    }

    const OPENAI_400: &str = r#"{"error": {"message": "bad temperature", "type": "invalid_request_error", "param": "temperature", "code": null}}"#;

    #[test]
    fn client_errors_keep_the_backend_message() {
        let (k, e) = kind(400, OPENAI_400, Credential::Config);
        assert_eq!(k, ErrorKind::InvalidRequest);
        assert_eq!(e.message(), "bad temperature");
        assert_eq!(e.param(), Some("temperature"));
        assert_eq!(e.upstream_status(), Some(400));
        assert_eq!(kind(422, r#"{"detail": "field required"}"#, Credential::Config).0, ErrorKind::InvalidRequest);
        let (k, e) = kind(404, r#"{"object": "error", "message": "The model `x` does not exist.", "code": 404}"#, Credential::None);
        assert_eq!(k, ErrorKind::NotFound);
        assert_eq!(e.message(), "The model `x` does not exist.");
        assert_eq!(kind(413, "too big", Credential::None).0, ErrorKind::PayloadTooLarge);
        let (k, e) = kind(429, r#"{"error": "slow down"}"#, Credential::Config);
        assert_eq!(k, ErrorKind::RateLimited);
        assert!(e.is_retryable());
    }

    #[test]
    fn a_429_names_its_retry_after() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "6".parse().unwrap());
        let body = br#"{"error": {"code": "429", "message": "Rate limit exceeded"}}"#;
        let failure = HttpFailure { provider: "p1", status: 429, headers: &headers, body, credential: Credential::Config };
        assert_eq!(failure.retry_after(), Some("6"));
        let e = from_failure(&failure);
        assert_eq!((e.kind(), e.message()), (ErrorKind::RateLimited, "Rate limit exceeded (Retry-After: 6)"));
        assert_eq!(e.retry_after(), Some(6), "the client is told to wait as the backend said");
        let other = HttpFailure { status: 400, ..failure };
        assert_eq!(from_failure(&other).message(), "Rate limit exceeded");
    }

    #[test]
    fn credentials_blame_whoever_supplied_them() {
        let body = r#"{"error": {"message": "Incorrect API key provided"}}"#;
        let (k, e) = kind(401, body, Credential::Config);
        assert_eq!(k, ErrorKind::UpstreamError);
        assert!(e.message().contains("provider p1 rejected the credentials: Incorrect API key"), "{}", e.message());
        assert_eq!(e.upstream_status(), None);
        assert_eq!(kind(403, body, Credential::None).0, ErrorKind::UpstreamError);
        assert_eq!(kind(401, body, Credential::ProviderData).0, ErrorKind::Unauthenticated);
        assert_eq!(kind(403, body, Credential::ProviderData).0, ErrorKind::Forbidden);
    }

    #[test]
    fn server_errors_and_context_length() {
        let (k, e) = kind(500, "<html>oops</html>", Credential::Config);
        assert_eq!(k, ErrorKind::UpstreamError);
        assert!(e.message().contains("HTTP 500: Internal Server Error"), "{}", e.message());
        assert_eq!(kind(502, "", Credential::Config).0, ErrorKind::UpstreamError);
        assert_eq!(kind(503, "", Credential::Config).0, ErrorKind::UpstreamUnavailable);
        assert_eq!(kind(504, "", Credential::Config).0, ErrorKind::Timeout);
        assert_eq!(kind(409, "", Credential::Config).0, ErrorKind::Conflict);
        assert_eq!(kind(405, "", Credential::Config).0, ErrorKind::InvalidRequest);
        let vllm = r#"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens","type":"BadRequestError","code":400}"#;
        assert_eq!(kind(400, vllm, Credential::Config).0, ErrorKind::ContextLength);
        let openai = r#"{"error": {"message": "too long", "code": "context_length_exceeded"}}"#;
        assert_eq!(kind(400, openai, Credential::Config).0, ErrorKind::ContextLength);
    }

    #[test]
    fn bodies_without_json_fall_back_to_text() {
        assert_eq!(kind(400, "plain words", Credential::None).1.message(), "plain words");
        assert_eq!(kind(404, "", Credential::None).1.message(), "Not Found");
        let long = "x".repeat(1000);
        assert!(kind(400, &long, Credential::None).1.message().len() < 320);
    }

    #[test]
    fn stream_events_and_invalid_bodies() {
        let b = BackendError::parse(br#"{"error": {"message": "boom", "code": 500}}"#).unwrap();
        assert_eq!(b.message.as_deref(), Some("boom"));
        assert_eq!(b.code.as_deref(), Some("500"));
        let e = from_stream_event("p1", &b);
        assert_eq!(e.kind(), ErrorKind::UpstreamError);
        assert!(e.message().contains("boom"));
        assert!(BackendError::parse(br#"{"id": "x"}"#).is_none());
        let serde_err = serde_json::from_slice::<Value>(b"nope").unwrap_err();
        let e = invalid_response("p1", b"nope", &serde_err);
        assert_eq!(e.kind(), ErrorKind::UpstreamError);
        assert!(e.message().starts_with("provider p1 returned an invalid response"), "{}", e.message());
    }
}
