//! Brave Search's failures -> our error kinds: its HTTP statuses and `{"type": "ErrorResponse",
//! "error": {"code", "detail"}}` bodies. Transport failures (refused: 503, timed out: 504) go
//! through `lls-openai-compat`.

use lls_api_common::{Error, ErrorKind};
use lls_openai_compat::Credential;
use serde_json::Value;

/// Brave's codes for a token it does not accept (it answers some of them with 422).
const TOKEN_CODES: &[&str] = &["SUBSCRIPTION_TOKEN_INVALID", "SUBSCRIPTION_TOKEN_MISSING"];

/// Brave's `error.code` and `error.detail`.
fn vendor_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let text = |key: &str| {
        value
            .get("error")
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    (text("code"), text("detail"))
}

fn fallback(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.trim().chars().take(300).collect();
    if text.is_empty() || text.starts_with('<') {
        format!("HTTP {status}")
    } else {
        text
    }
}

/// An error status from Brave. A refused token is the caller's 401/403 when the caller sent it
/// (provider data), and a 502 when it is the operator's (run.yaml), as for every provider.
pub(crate) fn from_status(
    provider: &str,
    status: u16,
    body: &[u8],
    credential: Credential,
) -> Error {
    let (code, detail) = vendor_error(body);
    let message = detail.unwrap_or_else(|| fallback(status, body));
    let token_refused =
        matches!(status, 401 | 403) || code.as_deref().is_some_and(|c| TOKEN_CODES.contains(&c));
    let err = match status {
        _ if token_refused && credential == Credential::ProviderData => {
            let kind = if status == 403 {
                ErrorKind::Forbidden
            } else {
                ErrorKind::Unauthenticated
            };
            Error::new(
                kind,
                format!(
                    "Brave Search rejected the API key from the provider data (brave_search_api_key): {message}"
                ),
            )
        }
        _ if token_refused => Error::new(
            ErrorKind::UpstreamError,
            format!(
                "Brave Search rejected the API key of provider {provider} (config api_key): {message}"
            ),
        ),
        429 => Error::new(
            ErrorKind::RateLimited,
            format!("Brave Search refused the search (HTTP 429): {message}"),
        ),
        400..=499 => Error::new(
            ErrorKind::InvalidRequest,
            format!("Brave Search refused the search (HTTP {status}): {message}"),
        ),
        503 => Error::new(
            ErrorKind::UpstreamUnavailable,
            format!("Brave Search is unavailable (HTTP 503): {message}"),
        ),
        504 => Error::new(
            ErrorKind::Timeout,
            format!("Brave Search timed out (HTTP 504): {message}"),
        ),
        _ => Error::new(
            ErrorKind::UpstreamError,
            format!("Brave Search failed with HTTP {status}: {message}"),
        ),
    };
    err.with_upstream_status(status).with_provider(provider)
}

/// A 200 answer that is not JSON.
pub(crate) fn invalid_response(provider: &str, what: &str) -> Error {
    Error::new(
        ErrorKind::UpstreamError,
        format!("Brave Search returned an invalid search response: {what}"),
    )
    .with_provider(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(status: u16, code: &str, detail: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "type": "ErrorResponse",
            "error": {"id": "x", "status": status, "code": code, "detail": detail, "meta": {"component": "authentication"}},
            "time": 1,
        }))
        .unwrap()
    }

    #[test]
    fn a_refused_token_is_blamed_on_whoever_sent_it() {
        let b = body(
            401,
            "SUBSCRIPTION_TOKEN_INVALID",
            "The provided subscription token is invalid.",
        );
        let e = from_status("brave-search", 401, &b, Credential::ProviderData);
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert!(
            e.message()
                .contains("The provided subscription token is invalid."),
            "{e}"
        );
        let e = from_status("brave-search", 401, &b, Credential::Config);
        assert_eq!(e.kind(), ErrorKind::UpstreamError);
        assert_eq!(e.provider(), Some("brave-search"));
        // Brave answers an invalid token with 422 too.
        let b = body(422, "SUBSCRIPTION_TOKEN_INVALID", "invalid");
        assert_eq!(
            from_status("p", 422, &b, Credential::ProviderData).kind(),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            from_status(
                "p",
                422,
                &body(422, "VALIDATION", "bad q"),
                Credential::ProviderData
            )
            .kind(),
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn statuses_map_to_kinds() {
        for (status, kind) in [
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::UpstreamError),
            (503, ErrorKind::UpstreamUnavailable),
            (504, ErrorKind::Timeout),
        ] {
            let e = from_status("p", status, &body(status, "X", "nope"), Credential::Config);
            assert_eq!(e.kind(), kind, "{status}");
            assert_eq!(e.upstream_status(), Some(status));
        }
        assert!(
            from_status("p", 502, b"<html>", Credential::Config)
                .message()
                .contains("HTTP 502")
        );
    }
}
