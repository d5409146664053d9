//! Vertex AI's error answers (`{"error": {"code", "message", "status"}}`, sometimes inside a
//! one-element array), read before the shared table of `lls-openai-compat`: a refused token
//! (401, which the provider answers by renewing it once), denied access (403), token limits
//! (400 `INVALID_ARGUMENT` "exceeds the maximum number of tokens") and Google's statuses.

use lls_api_common::{Error, ErrorKind};
use lls_openai_compat::HttpFailure;
use serde_json::{Value, json};

/// Google's error object: `message` and `status` (`UNAUTHENTICATED`, `RESOURCE_EXHAUSTED`, ...).
#[derive(Debug, PartialEq)]
pub(crate) struct GoogleError {
    pub message: String,
    pub status: Option<String>,
}

impl GoogleError {
    pub(crate) fn parse(body: &[u8]) -> Option<GoogleError> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let value = match value {
            Value::Array(mut items) if items.len() == 1 => items.pop()?,
            other => other,
        };
        let error = value.get("error")?.as_object()?;
        let message = error.get("message")?.as_str()?.to_owned();
        let status = error.get("status").and_then(Value::as_str).map(str::to_owned);
        Some(GoogleError { message, status })
    }

    fn said(&self) -> String {
        match &self.status {
            Some(status) => format!("{status}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// Whether Google's message says the prompt is over the model's token limit.
fn over_token_limit(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("exceeds the maximum number of tokens") || m.contains("input token count") && m.contains("exceeds")
}

/// Vertex AI's answer as one of our errors; `None` when the body is not Google's (the shared
/// table reads it).
pub(crate) fn read_failure(failure: &HttpFailure<'_>) -> Option<Error> {
    let google = GoogleError::parse(failure.body)?;
    let provider = failure.provider;
    let e = match failure.status {
        401 => Error::new(ErrorKind::UpstreamError, format!("provider {provider}: Vertex AI refused the access token: {}", google.said()))
            .with_upstream_status(401),
        403 => Error::new(ErrorKind::UpstreamError, format!("provider {provider}: Vertex AI denied access: {}", google.said()))
            .with_upstream_status(403),
        400 if over_token_limit(&google.message) => {
            Error::new(ErrorKind::ContextLength, google.message.clone()).with_param("messages").with_upstream_status(400)
        }
        _ => {
            // Google's body in the shape the shared table reads: its statuses (429 with
            // Retry-After, 404, 5xx) are the same as OpenAI's.
            let body = json!({"error": {"message": google.message, "code": google.status}}).to_string();
            let reshaped = HttpFailure { body: body.as_bytes(), ..*failure };
            return Some(lls_openai_compat::error::from_failure(&reshaped));
        }
    };
    Some(e.with_provider(provider))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_openai_compat::Credential;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    fn read(status: u16, body: &str, headers: &HeaderMap) -> Option<Error> {
        read_failure(&HttpFailure { provider: "vertexai", status, headers, body: body.as_bytes(), credential: Credential::Config })
    }

    fn google(code: u16, status: &str, message: &str) -> String {
        json!({"error": {"code": code, "message": message, "status": status}}).to_string()
    }

    #[test]
    fn google_bodies_in_both_shapes() {
        let one = GoogleError { message: "m".into(), status: Some("NOT_FOUND".into()) };
        assert_eq!(GoogleError::parse(google(404, "NOT_FOUND", "m").as_bytes()), Some(one));
        let listed = format!("[{}]", google(429, "RESOURCE_EXHAUSTED", "slow"));
        assert_eq!(GoogleError::parse(listed.as_bytes()).unwrap().status.as_deref(), Some("RESOURCE_EXHAUSTED"));
        assert!(GoogleError::parse(b"<html>").is_none());
        assert!(GoogleError::parse(br#"{"error": "invalid_grant"}"#).is_none());
    }

    #[test]
    fn statuses_become_our_kinds() {
        let none = HeaderMap::new();
        let e = read(401, &google(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."), &none).unwrap();
        assert_eq!((e.kind(), e.upstream_status()), (ErrorKind::UpstreamError, Some(401)));
        assert!(e.message().contains("UNAUTHENTICATED: Request had invalid"), "{e}");
        let e = read(403, &google(403, "PERMISSION_DENIED", "Permission 'aiplatform.endpoints.predict' denied"), &none).unwrap();
        assert_eq!((e.kind(), e.upstream_status()), (ErrorKind::UpstreamError, Some(403)));
        let e = read(400, &google(400, "INVALID_ARGUMENT", "The input token count (2000000) exceeds the maximum number of tokens allowed (1048576)."), &none).unwrap();
        assert_eq!((e.kind(), e.param()), (ErrorKind::ContextLength, Some("messages")));
        assert_eq!(read(400, &google(400, "INVALID_ARGUMENT", "bad"), &none).unwrap().kind(), ErrorKind::InvalidRequest);
        let e = read(404, &google(404, "NOT_FOUND", "Publisher Model `x` was not found"), &none).unwrap();
        assert_eq!((e.kind(), e.provider()), (ErrorKind::NotFound, Some("vertexai")));
        let mut retry = HeaderMap::new();
        retry.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let e = read(429, &google(429, "RESOURCE_EXHAUSTED", "Resource exhausted."), &retry).unwrap();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.message().contains("Retry-After: 7"), "{e}");
        assert_eq!(read(503, &google(503, "UNAVAILABLE", "down"), &none).unwrap().kind(), ErrorKind::UpstreamUnavailable);
        assert_eq!(read(500, &google(500, "INTERNAL", "oops"), &none).unwrap().kind(), ErrorKind::UpstreamError);
        assert_eq!(read(504, &google(504, "DEADLINE_EXCEEDED", "slow"), &none).unwrap().kind(), ErrorKind::Timeout);
        assert!(read(500, "not json", &none).is_none());
    }
}
