//! Tavily's failures -> our error kinds: its HTTP statuses and `{"detail": {"error": ...}}`
//! bodies. Transport failures (refused: 503, timed out: 504) go through `lls-openai-compat`.

use lls_api_common::{Error, ErrorKind};
use lls_openai_compat::Credential;
use serde_json::Value;

/// What Tavily's error body says: `{"detail": {"error": "..."}}`, or `{"detail": "..."}`.
fn vendor_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let detail = value.get("detail")?;
    match detail {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("error").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn message(status: u16, body: &[u8]) -> String {
    vendor_message(body).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text: String = text.trim().chars().take(300).collect();
        if text.is_empty() || text.starts_with('<') {
            format!("HTTP {status}")
        } else {
            text
        }
    })
}

/// An error status from Tavily. A refused key is the caller's 401/403 when the caller sent it
/// (provider data), and a 502 when it is the operator's (run.yaml), as for every provider.
pub(crate) fn from_status(
    provider: &str,
    status: u16,
    body: &[u8],
    credential: Credential,
) -> Error {
    let message = message(status, body);
    let err = match status {
        401 | 403 if credential == Credential::ProviderData => {
            let kind = if status == 401 {
                ErrorKind::Unauthenticated
            } else {
                ErrorKind::Forbidden
            };
            Error::new(
                kind,
                format!(
                    "Tavily rejected the API key from the provider data (tavily_search_api_key): {message}"
                ),
            )
        }
        401 | 403 => Error::new(
            ErrorKind::UpstreamError,
            format!(
                "Tavily rejected the API key of provider {provider} (config api_key): {message}"
            ),
        ),
        // 432 and 433: the key's plan or pay-as-you-go limit is spent.
        429 | 432 | 433 => Error::new(
            ErrorKind::RateLimited,
            format!("Tavily refused the search (HTTP {status}): {message}"),
        ),
        400..=499 => Error::new(
            ErrorKind::InvalidRequest,
            format!("Tavily refused the search (HTTP {status}): {message}"),
        ),
        503 => Error::new(
            ErrorKind::UpstreamUnavailable,
            format!("Tavily is unavailable (HTTP 503): {message}"),
        ),
        504 => Error::new(
            ErrorKind::Timeout,
            format!("Tavily timed out (HTTP 504): {message}"),
        ),
        _ => Error::new(
            ErrorKind::UpstreamError,
            format!("Tavily failed with HTTP {status}: {message}"),
        ),
    };
    err.with_upstream_status(status).with_provider(provider)
}

/// A 200 answer that is not a Tavily search result.
pub(crate) fn invalid_response(provider: &str, what: &str) -> Error {
    Error::new(
        ErrorKind::UpstreamError,
        format!("Tavily returned an invalid search response: {what}"),
    )
    .with_provider(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNAUTHORIZED: &str =
        r#"{"detail": {"error": "Unauthorized: missing or invalid API key."}}"#;

    #[test]
    fn a_refused_key_is_blamed_on_whoever_sent_it() {
        let e = from_status(
            "tavily-search",
            401,
            UNAUTHORIZED.as_bytes(),
            Credential::ProviderData,
        );
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert!(
            e.message()
                .contains("Unauthorized: missing or invalid API key."),
            "{e}"
        );
        assert!(e.message().contains("tavily_search_api_key"), "{e}");
        let e = from_status(
            "tavily-search",
            401,
            UNAUTHORIZED.as_bytes(),
            Credential::Config,
        );
        assert_eq!(e.kind(), ErrorKind::UpstreamError);
        assert_eq!(e.provider(), Some("tavily-search"));
        assert_eq!(
            from_status("p", 403, b"", Credential::ProviderData).kind(),
            ErrorKind::Forbidden
        );
    }

    #[test]
    fn statuses_map_to_kinds() {
        for (status, kind) in [
            (400, ErrorKind::InvalidRequest),
            (429, ErrorKind::RateLimited),
            (432, ErrorKind::RateLimited),
            (500, ErrorKind::UpstreamError),
            (502, ErrorKind::UpstreamError),
            (503, ErrorKind::UpstreamUnavailable),
            (504, ErrorKind::Timeout),
        ] {
            let e = from_status("p", status, br#"{"detail": "nope"}"#, Credential::Config);
            assert_eq!(e.kind(), kind, "{status}");
            assert_eq!(e.upstream_status(), Some(status));
        }
        assert!(
            from_status("p", 500, b"<html>", Credential::Config)
                .message()
                .contains("HTTP 500")
        );
    }
}
