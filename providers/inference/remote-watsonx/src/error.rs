//! watsonx.ai and IBM Cloud IAM failures -> our [`ErrorKind`]s: watsonx's error bodies
//! (`{"errors": [{"code", "message", "more_info"}], "trace", "status_code"}`), IAM's
//! (`{"errorCode", "errorMessage"}`), statuses and `Retry-After`. The only place that knows
//! their codes.

use lls_api_common::{Error, ErrorKind};
use lls_openai_compat::Credential;
use serde_json::Value;

/// The provider-data field a caller's API key comes in.
pub const KEY_FIELD: &str = "watsonx_api_key";

/// What an error body says.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct VendorError {
    pub code: Option<String>,
    pub message: Option<String>,
}

impl VendorError {
    /// watsonx's `errors[0]`, IAM's `errorCode`/`errorMessage`, or an OpenAI-style `error`.
    pub(crate) fn parse(body: &[u8]) -> VendorError {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return VendorError::default();
        };
        Self::from_value(&v)
    }

    pub(crate) fn from_value(v: &Value) -> VendorError {
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        if let Some(first) = v.get("errors").and_then(Value::as_array).and_then(|e| e.first()) {
            return VendorError { code: text(first, "code"), message: text(first, "message") };
        }
        if v.get("errorCode").is_some() || v.get("errorMessage").is_some() {
            return VendorError { code: text(v, "errorCode"), message: text(v, "errorMessage") };
        }
        match v.get("error") {
            Some(e @ Value::Object(_)) => VendorError { code: text(e, "code"), message: text(e, "message") },
            Some(Value::String(s)) => VendorError { code: None, message: Some(s.clone()) },
            _ => VendorError { code: None, message: text(v, "message") },
        }
    }

    fn is_context_length(&self) -> bool {
        let m = self.message.as_deref().unwrap_or_default().to_ascii_lowercase();
        matches!(self.code.as_deref(), Some("context_length_exceeded"))
            || m.contains("total tokens limit")
            || m.contains("max_sequence_length")
            || m.contains("maximum context length")
            || (m.contains("token") && m.contains("cannot exceed"))
    }

    /// Spent quotas count as rate limits whatever the status (the caller may retry later).
    fn is_quota(&self) -> bool {
        matches!(self.code.as_deref(), Some("token_quota_reached" | "too_many_requests" | "rate_limit_reached"))
    }

    fn is_model_not_found(&self) -> bool {
        matches!(self.code.as_deref(), Some("model_not_supported" | "model_not_found"))
    }
}

fn fallback(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() || text.starts_with('<') {
        reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("error").to_owned()
    } else {
        text.chars().take(300).collect()
    }
}

fn with_code(message: String, code: Option<&str>) -> String {
    match code {
        Some(c) => format!("{message} ({c})"),
        None => message,
    }
}

/// A refused key: the caller's 401/403 when the caller sent it, else the operator's 502.
fn key_refused(provider: &str, service: &str, status: u16, message: &str, credential: Credential) -> Error {
    if credential == Credential::ProviderData {
        let kind = if status == 403 { ErrorKind::Forbidden } else { ErrorKind::Unauthenticated };
        Error::new(kind, format!("{service} rejected the API key from the provider data ({KEY_FIELD}): {message}"))
            .with_upstream_status(status)
    } else {
        Error::new(ErrorKind::UpstreamError, format!("{service} rejected the credentials of provider {provider} (config api_key): {message}"))
    }
}

/// An error status from watsonx.ai. `retry_after` is a 429's `Retry-After`, named in the message.
pub(crate) fn from_status(provider: &str, status: u16, body: &[u8], credential: Credential, retry_after: Option<&str>) -> Error {
    let vendor = VendorError::parse(body);
    let mut message = with_code(vendor.message.clone().unwrap_or_else(|| fallback(status, body)), vendor.code.as_deref());
    if let Some(wait) = retry_after {
        message.push_str(&format!(" (Retry-After: {wait})"));
    }
    let client = |kind: ErrorKind| Error::new(kind, format!("watsonx.ai: {message}")).with_upstream_status(status);
    let err = match status {
        429 => match retry_after.and_then(|wait| wait.trim().parse::<u64>().ok()) {
            Some(seconds) => client(ErrorKind::RateLimited).with_retry_after(seconds),
            None => client(ErrorKind::RateLimited),
        },
        _ if vendor.is_quota() => client(ErrorKind::RateLimited),
        401 | 403 => key_refused(provider, "watsonx.ai", status, &message, credential),
        400..=499 if vendor.is_context_length() => client(ErrorKind::ContextLength),
        404 => client(ErrorKind::NotFound),
        _ if vendor.is_model_not_found() => client(ErrorKind::NotFound),
        413 => client(ErrorKind::PayloadTooLarge),
        408 | 504 => Error::new(ErrorKind::Timeout, format!("provider {provider} timed out (HTTP {status}): {message}")),
        400..=499 => client(ErrorKind::InvalidRequest),
        503 => Error::new(ErrorKind::UpstreamUnavailable, format!("provider {provider} is unavailable (HTTP 503): {message}")),
        _ => Error::new(ErrorKind::UpstreamError, format!("provider {provider} failed with HTTP {status}: {message}")),
    };
    err.with_provider(provider)
}

/// An error status from IBM Cloud IAM's token exchange. IAM refuses a bad key with a 400
/// (`BXNIM0415E`) as well as a 401.
pub(crate) fn from_iam_status(provider: &str, status: u16, body: &[u8], credential: Credential) -> Error {
    let vendor = VendorError::parse(body);
    let message = with_code(vendor.message.clone().unwrap_or_else(|| fallback(status, body)), vendor.code.as_deref());
    let err = match status {
        429 => Error::new(ErrorKind::RateLimited, format!("IBM Cloud IAM: {message}")).with_upstream_status(429),
        400..=499 => key_refused(provider, "IBM Cloud IAM", status, &message, credential),
        503 => Error::new(ErrorKind::UpstreamUnavailable, format!("IBM Cloud IAM is unavailable for provider {provider}: {message}")),
        _ => Error::new(ErrorKind::UpstreamError, format!("IBM Cloud IAM failed for provider {provider} with HTTP {status}: {message}")),
    };
    err.with_provider(provider)
}

/// An `event: error` in a stream.
pub(crate) fn from_stream_error(provider: &str, data: &Value) -> Error {
    let vendor = VendorError::from_value(data);
    let message = with_code(vendor.message.clone().unwrap_or_else(|| data.to_string()), vendor.code.as_deref());
    let kind = if vendor.is_context_length() { ErrorKind::ContextLength } else { ErrorKind::UpstreamError };
    Error::new(kind, format!("provider {provider} reported an error mid-stream: {message}")).with_provider(provider)
}

/// A 200 whose body is not what watsonx.ai promises.
pub(crate) fn invalid_answer(provider: &str, what: &str, body: &[u8]) -> Error {
    Error::new(ErrorKind::UpstreamError, format!("provider {provider} returned an invalid {what}: {}", fallback(200, body)))
        .with_provider(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wx(code: &str, message: &str) -> Vec<u8> {
        serde_json::json!({"errors": [{"code": code, "message": message, "more_info": "x"}], "trace": "t", "status_code": 400})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn watsonx_bodies_map_to_kinds() {
        let kind = |status, body: &[u8]| from_status("wx", status, body, Credential::Config, None).kind();
        let overflow = wx("invalid_input_argument", "Invalid input argument for Model 'm': the number of input tokens 9000 cannot exceed the total tokens limit 8192 for this model");
        assert_eq!(kind(400, &overflow), ErrorKind::ContextLength);
        assert_eq!(kind(400, &wx("invalid_input_argument", "temperature must be at most 2")), ErrorKind::InvalidRequest);
        assert_eq!(kind(404, &wx("model_not_supported", "Model 'x' is not supported")), ErrorKind::NotFound);
        assert_eq!(kind(400, &wx("model_not_supported", "Model 'x' is not supported")), ErrorKind::NotFound);
        assert_eq!(kind(403, &wx("token_quota_reached", "monthly token quota reached")), ErrorKind::RateLimited);
        assert_eq!(kind(500, b"<html>"), ErrorKind::UpstreamError);
        assert_eq!(kind(503, b""), ErrorKind::UpstreamUnavailable);
        assert_eq!(kind(504, b""), ErrorKind::Timeout);
        let e = from_status("wx", 429, &wx("too_many_requests", "slow down"), Credential::Config, Some("2"));
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.message().contains("slow down (too_many_requests) (Retry-After: 2)"), "{}", e.message());
        assert_eq!(e.retry_after(), Some(2));
        assert_eq!(e.provider(), Some("wx"));
    }

    #[test]
    fn refused_credentials_blame_whoever_supplied_them() {
        let body = wx("authentication_token_expired", "expired");
        let e = from_status("wx", 401, &body, Credential::Config, None);
        assert_eq!(e.kind(), ErrorKind::UpstreamError);
        assert!(e.message().contains("rejected the credentials of provider wx"), "{}", e.message());
        assert_eq!(from_status("wx", 401, &body, Credential::ProviderData, None).kind(), ErrorKind::Unauthenticated);
        assert_eq!(from_status("wx", 403, &body, Credential::ProviderData, None).kind(), ErrorKind::Forbidden);
        let iam = br#"{"errorCode":"BXNIM0415E","errorMessage":"Provided API key could not be found."}"#;
        let e = from_iam_status("wx", 400, iam, Credential::ProviderData);
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert!(e.message().contains("Provided API key could not be found. (BXNIM0415E)"), "{}", e.message());
        assert_eq!(from_iam_status("wx", 400, iam, Credential::Config).kind(), ErrorKind::UpstreamError);
        assert_eq!(from_iam_status("wx", 500, b"", Credential::Config).kind(), ErrorKind::UpstreamError);
    }

    #[test]
    fn stream_errors_keep_their_message() {
        let data: Value = serde_json::from_slice(&wx("internal_server_error", "boom")).unwrap();
        let e = from_stream_error("wx", &data);
        assert_eq!(e.kind(), ErrorKind::UpstreamError);
        assert!(e.message().contains("boom (internal_server_error)"));
    }
}
