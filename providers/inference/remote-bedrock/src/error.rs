//! Amazon Bedrock failures -> our [`ErrorKind`]s: AWS's error type (the `x-amzn-ErrorType`
//! header, else the body's `__type`/`code`), its `{"message": ...}` body and the status; the
//! exception events that end a ConverseStream; which failures a retry may cure. The only place
//! that knows AWS's error names.

use lls_api_common::{Error, ErrorKind};
use lls_openai_compat::Credential;
use serde_json::Value;

use crate::config::RetryMode;

/// What an AWS error answer says.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct AwsError {
    /// `ThrottlingException`, `ValidationException`, ... (the part before any `:`).
    pub code: Option<String>,
    pub message: Option<String>,
}

impl AwsError {
    /// From the `x-amzn-ErrorType` header (may be absent) and the JSON body.
    pub(crate) fn parse(error_type: Option<&str>, body: &[u8]) -> AwsError {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let code = error_type
            .map(str::to_owned)
            .or_else(|| text("__type"))
            .or_else(|| text("code"))
            .map(|c| clean_code(&c));
        AwsError { code, message: text("message").or_else(|| text("Message")) }
    }

    fn code(&self) -> &str {
        self.code.as_deref().unwrap_or_default()
    }

    fn is_context_length(&self) -> bool {
        let m = self.message.as_deref().unwrap_or_default().to_ascii_lowercase();
        m.contains("too long") || m.contains("maximum context") || m.contains("too many input tokens") || m.contains("context length")
    }

    fn is_model_not_found(&self) -> bool {
        let m = self.message.as_deref().unwrap_or_default().to_ascii_lowercase();
        m.contains("model identifier is invalid") || m.contains("model not found")
    }
}

/// `ValidationException:http://internal.amazon.com/coral/...` or `aws.protocols#X` -> `X`.
fn clean_code(raw: &str) -> String {
    let before_colon = raw.split(':').next().unwrap_or(raw);
    before_colon.rsplit('#').next().unwrap_or(before_colon).trim().to_owned()
}

const AUTH_CODES: &[&str] = &[
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
];

const THROTTLING_CODES: &[&str] =
    &["ThrottlingException", "ThrottledException", "TooManyRequestsException", "ServiceQuotaExceededException", "RequestLimitExceeded"];

fn fallback(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() || text.starts_with('<') {
        reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("error").to_owned()
    } else {
        text.chars().take(300).collect()
    }
}

/// Whether a failed attempt may be tried again under `mode`.
pub(crate) fn is_retryable(mode: RetryMode, status: u16, vendor: &AwsError) -> bool {
    let code = vendor.code();
    let throttled = status == 429 || THROTTLING_CODES.contains(&code);
    match mode {
        RetryMode::Legacy => throttled || matches!(status, 500 | 502 | 503 | 504),
        RetryMode::Standard | RetryMode::Adaptive => {
            throttled
                || matches!(status, 500 | 502 | 503 | 504)
                || matches!(code, "ModelNotReadyException" | "ServiceUnavailableException" | "InternalServerException" | "RequestTimeout")
        }
    }
}

/// Refused keys: the caller's 401/403 when the caller sent them, else the operator's 502.
fn keys_refused(provider: &str, code: &str, status: u16, message: &str, credential: Credential) -> Error {
    if credential == Credential::ProviderData {
        let kind = if code == "AccessDeniedException" { ErrorKind::Forbidden } else { ErrorKind::Unauthenticated };
        Error::new(kind, format!("Amazon Bedrock rejected the AWS keys from the provider data: {message} ({code})")).with_upstream_status(status)
    } else {
        Error::new(
            ErrorKind::UpstreamError,
            format!("Amazon Bedrock rejected the AWS credentials of provider {provider} (config or environment): {message} ({code})"),
        )
    }
}

/// An error answer from Bedrock.
pub(crate) fn from_status(provider: &str, status: u16, error_type: Option<&str>, body: &[u8], credential: Credential) -> Error {
    let vendor = AwsError::parse(error_type, body);
    let code = vendor.code().to_owned();
    let text = vendor.message.clone().unwrap_or_else(|| fallback(status, body));
    let message = if code.is_empty() { text.clone() } else { format!("{text} ({code})") };
    let client = |kind: ErrorKind| Error::new(kind, format!("Amazon Bedrock: {message}")).with_upstream_status(status);
    let err = match code.as_str() {
        _ if status == 429 || THROTTLING_CODES.contains(&code.as_str()) => client(ErrorKind::RateLimited),
        c if AUTH_CODES.contains(&c) => keys_refused(provider, c, status, &text, credential),
        _ if matches!(status, 401 | 403) => keys_refused(provider, "HTTP", status, &text, credential),
        "ValidationException" if vendor.is_context_length() => client(ErrorKind::ContextLength),
        "ValidationException" if vendor.is_model_not_found() => client(ErrorKind::NotFound),
        "ResourceNotFoundException" => client(ErrorKind::NotFound),
        "ModelNotReadyException" | "ServiceUnavailableException" => {
            Error::new(ErrorKind::UpstreamUnavailable, format!("provider {provider} is unavailable (HTTP {status}): {message}"))
        }
        "ModelTimeoutException" | "RequestTimeout" => {
            Error::new(ErrorKind::Timeout, format!("provider {provider} timed out (HTTP {status}): {message}"))
        }
        _ => match status {
            404 => client(ErrorKind::NotFound),
            413 => client(ErrorKind::PayloadTooLarge),
            408 | 504 => Error::new(ErrorKind::Timeout, format!("provider {provider} timed out (HTTP {status}): {message}")),
            503 => Error::new(ErrorKind::UpstreamUnavailable, format!("provider {provider} is unavailable (HTTP 503): {message}")),
            424 => Error::new(ErrorKind::UpstreamError, format!("the model of provider {provider} failed (HTTP 424): {message}")),
            400..=499 => client(ErrorKind::InvalidRequest),
            _ => Error::new(ErrorKind::UpstreamError, format!("provider {provider} failed with HTTP {status}: {message}")),
        },
    };
    err.with_provider(provider)
}

/// An exception event of a ConverseStream (`:exception-type` such as `throttlingException`).
pub(crate) fn from_stream_exception(provider: &str, exception_type: &str, payload: &[u8]) -> Error {
    let vendor = AwsError::parse(None, payload);
    let message = vendor.message.clone().unwrap_or_else(|| fallback(500, payload));
    let kind = match exception_type {
        "throttlingException" => ErrorKind::RateLimited,
        "validationException" if vendor.is_context_length() => ErrorKind::ContextLength,
        "validationException" => ErrorKind::InvalidRequest,
        "serviceUnavailableException" => ErrorKind::UpstreamUnavailable,
        "modelTimeoutException" => ErrorKind::Timeout,
        _ => ErrorKind::UpstreamError,
    };
    Error::new(kind, format!("provider {provider} reported an error mid-stream: {message} ({exception_type})")).with_provider(provider)
}

/// A 200 whose body is not what Bedrock promises.
pub(crate) fn invalid_answer(provider: &str, what: &str, body: &[u8]) -> Error {
    Error::new(ErrorKind::UpstreamError, format!("provider {provider} returned an invalid {what}: {}", fallback(200, body)))
        .with_provider(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, code: &str, message: &str) -> ErrorKind {
        let body = serde_json::json!({"message": message}).to_string();
        from_status("br", status, Some(&format!("{code}:http://internal.amazon.com/coral/com.amazon.bedrock/")), body.as_bytes(), Credential::Config)
            .kind()
    }

    #[test]
    fn aws_errors_map_to_kinds() {
        assert_eq!(kind(429, "ThrottlingException", "Too many requests"), ErrorKind::RateLimited);
        assert_eq!(kind(400, "ServiceQuotaExceededException", "quota"), ErrorKind::RateLimited);
        assert_eq!(kind(400, "ValidationException", "Input is too long for requested model."), ErrorKind::ContextLength);
        assert_eq!(kind(400, "ValidationException", "Too many input tokens. Max input tokens: 8192"), ErrorKind::ContextLength);
        assert_eq!(kind(400, "ValidationException", "The provided model identifier is invalid."), ErrorKind::NotFound);
        assert_eq!(kind(400, "ValidationException", "temperature: must be at most 1"), ErrorKind::InvalidRequest);
        assert_eq!(kind(404, "ResourceNotFoundException", "Model not found"), ErrorKind::NotFound);
        assert_eq!(kind(429, "ModelNotReadyException", "warming up"), ErrorKind::RateLimited);
        assert_eq!(kind(400, "ModelNotReadyException", "warming up"), ErrorKind::UpstreamUnavailable);
        assert_eq!(kind(503, "ServiceUnavailableException", "down"), ErrorKind::UpstreamUnavailable);
        assert_eq!(kind(408, "ModelTimeoutException", "slow"), ErrorKind::Timeout);
        assert_eq!(kind(424, "ModelErrorException", "bad"), ErrorKind::UpstreamError);
        assert_eq!(kind(500, "InternalServerException", "oops"), ErrorKind::UpstreamError);
        let e = from_status("br", 500, None, b"<html>", Credential::Config);
        assert!(e.message().contains("Internal Server Error") && e.provider() == Some("br"), "{}", e.message());
        let typed = from_status("br", 400, None, br#"{"__type": "com.amazon#ValidationException", "message": "bad"}"#, Credential::Config);
        assert!(typed.message().contains("bad (ValidationException)"), "{}", typed.message());
    }

    #[test]
    fn refused_keys_blame_whoever_supplied_them() {
        let body = br#"{"message":"The security token included in the request is invalid."}"#;
        let e = from_status("br", 403, Some("UnrecognizedClientException"), body, Credential::Config);
        assert_eq!(e.kind(), ErrorKind::UpstreamError);
        assert!(e.message().contains("credentials of provider br"), "{}", e.message());
        let e = from_status("br", 403, Some("UnrecognizedClientException"), body, Credential::ProviderData);
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert_eq!(from_status("br", 403, Some("InvalidSignatureException"), body, Credential::ProviderData).kind(), ErrorKind::Unauthenticated);
        assert_eq!(from_status("br", 403, Some("AccessDeniedException"), body, Credential::ProviderData).kind(), ErrorKind::Forbidden);
    }

    #[test]
    fn retries_follow_the_mode() {
        let throttled = AwsError { code: Some("ThrottlingException".into()), message: None };
        let invalid = AwsError { code: Some("ValidationException".into()), message: None };
        let not_ready = AwsError { code: Some("ModelNotReadyException".into()), message: None };
        assert!(is_retryable(RetryMode::Standard, 400, &throttled));
        assert!(is_retryable(RetryMode::Legacy, 503, &AwsError::default()));
        assert!(!is_retryable(RetryMode::Standard, 400, &invalid));
        assert!(is_retryable(RetryMode::Standard, 400, &not_ready));
        assert!(!is_retryable(RetryMode::Legacy, 400, &not_ready));
    }

    #[test]
    fn stream_exceptions() {
        let e = from_stream_exception("br", "throttlingException", br#"{"message":"slow down"}"#);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.message().contains("slow down"));
        assert_eq!(from_stream_exception("br", "modelStreamErrorException", b"{}").kind(), ErrorKind::UpstreamError);
        assert_eq!(from_stream_exception("br", "validationException", br#"{"message":"Input is too long"}"#).kind(), ErrorKind::ContextLength);
    }
}
