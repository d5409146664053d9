//! A web search vendor's failures -> our error kinds: one table of HTTP statuses for every
//! vendor, with what the vendor's body says ([`WebSearchVendor::error_body`]). Transport
//! failures (refused: 503, timed out: 504) go through `lls-openai-compat`.

use lls_api_common::{Error, ErrorKind};
use lls_openai_compat::Credential;

use crate::WebSearchVendor;

/// What a vendor's error body says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorError {
    /// The vendor's message; without one the error quotes the body (or names the status).
    pub message: Option<String>,
    /// The body says the key was refused, whatever the status (Brave answers some with 422).
    pub key_refused: bool,
}

/// The body's first 300 characters, or the status where the body is empty or HTML.
fn fallback(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.trim().chars().take(300).collect();
    if text.is_empty() || text.starts_with('<') {
        format!("HTTP {status}")
    } else {
        text
    }
}

/// An error status from vendor `V`. A refused key is the caller's 401/403 when the caller sent
/// it (provider data), and a 502 when it is the operator's (run.yaml), as for every provider.
pub fn from_status<V: WebSearchVendor>(
    provider: &str,
    status: u16,
    body: &[u8],
    credential: Credential,
) -> Error {
    let vendor = V::error_body(body);
    let message = vendor.message.unwrap_or_else(|| fallback(status, body));
    let name = V::NAME;
    let key_refused = matches!(status, 401 | 403) || vendor.key_refused;
    let err = match status {
        _ if key_refused && credential == Credential::ProviderData => {
            let kind = if status == 403 {
                ErrorKind::Forbidden
            } else {
                ErrorKind::Unauthenticated
            };
            Error::new(
                kind,
                format!(
                    "{name} rejected the API key from the provider data ({}): {message}",
                    V::PROVIDER_DATA_KEY
                ),
            )
        }
        _ if key_refused => Error::new(
            ErrorKind::UpstreamError,
            format!(
                "{name} rejected the API key of provider {provider} (config api_key): {message}"
            ),
        ),
        _ if V::rate_limited(status) => Error::new(
            ErrorKind::RateLimited,
            format!("{name} refused the search (HTTP {status}): {message}"),
        ),
        400..=499 => Error::new(
            ErrorKind::InvalidRequest,
            format!("{name} refused the search (HTTP {status}): {message}"),
        ),
        503 => Error::new(
            ErrorKind::UpstreamUnavailable,
            format!("{name} is unavailable (HTTP 503): {message}"),
        ),
        504 => Error::new(
            ErrorKind::Timeout,
            format!("{name} timed out (HTTP 504): {message}"),
        ),
        _ => Error::new(
            ErrorKind::UpstreamError,
            format!("{name} failed with HTTP {status}: {message}"),
        ),
    };
    err.with_upstream_status(status).with_provider(provider)
}

/// A successful answer that is not a search result of vendor `V`.
pub fn invalid_response<V: WebSearchVendor>(provider: &str, what: &str) -> Error {
    Error::new(
        ErrorKind::UpstreamError,
        format!("{} returned an invalid search response: {what}", V::NAME),
    )
    .with_provider(provider)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vendor::Acme;

    const REFUSED: &[u8] = br#"{"code": "BAD_KEY", "detail": "No such key."}"#;

    #[test]
    fn a_refused_key_is_blamed_on_whoever_sent_it() {
        let e = from_status::<Acme>("acme", 401, REFUSED, Credential::ProviderData);
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert_eq!(
            e.message(),
            "Acme rejected the API key from the provider data (acme_api_key): No such key."
        );
        let e = from_status::<Acme>("acme", 401, REFUSED, Credential::Config);
        assert_eq!(e.kind(), ErrorKind::UpstreamError);
        assert_eq!(e.provider(), Some("acme"));
        assert!(
            e.message().contains("provider acme (config api_key)"),
            "{e}"
        );
        assert_eq!(
            from_status::<Acme>("p", 403, b"", Credential::ProviderData).kind(),
            ErrorKind::Forbidden
        );
        // A body saying the key was refused counts whatever the status.
        assert_eq!(
            from_status::<Acme>("p", 422, REFUSED, Credential::ProviderData).kind(),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            from_status::<Acme>(
                "p",
                422,
                br#"{"detail": "bad q"}"#,
                Credential::ProviderData
            )
            .kind(),
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn statuses_map_to_kinds() {
        for (status, kind) in [
            (400, ErrorKind::InvalidRequest),
            (429, ErrorKind::RateLimited),
            (432, ErrorKind::RateLimited),
            (433, ErrorKind::InvalidRequest),
            (500, ErrorKind::UpstreamError),
            (502, ErrorKind::UpstreamError),
            (503, ErrorKind::UpstreamUnavailable),
            (504, ErrorKind::Timeout),
        ] {
            let e = from_status::<Acme>("p", status, br#"{"detail": "nope"}"#, Credential::Config);
            assert_eq!(e.kind(), kind, "{status}");
            assert_eq!(e.upstream_status(), Some(status));
            assert!(e.message().ends_with(": nope"), "{e}");
        }
        for body in [&b"<html>"[..], b"", b"  "] {
            let e = from_status::<Acme>("p", 500, body, Credential::Config);
            assert_eq!(e.message(), "Acme failed with HTTP 500: HTTP 500");
        }
        let e = from_status::<Acme>("p", 502, b"bad gateway", Credential::Config);
        assert_eq!(e.message(), "Acme failed with HTTP 502: bad gateway");
    }

    #[test]
    fn an_invalid_answer_names_the_vendor() {
        let e = invalid_response::<Acme>("p", "no results");
        assert_eq!(e.kind(), ErrorKind::UpstreamError);
        assert_eq!(
            e.message(),
            "Acme returned an invalid search response: no results"
        );
    }
}
