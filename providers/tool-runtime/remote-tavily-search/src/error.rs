//! Tavily's error bodies, `{"detail": {"error": ...}}` or `{"detail": ...}`; the status table
//! every web search vendor shares is `lls_websearch::from_status`. Tavily also answers 432
//! and 433 when the key's plan or pay-as-you-go limit is spent.

use lls_websearch::VendorError;
use serde_json::Value;

/// What Tavily's error body says.
pub(crate) fn vendor_error(body: &[u8]) -> VendorError {
    VendorError {
        message: vendor_message(body),
        key_refused: false,
    }
}

fn vendor_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    match value.get("detail")? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("error").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// 429, and 432/433: the key's plan or pay-as-you-go limit is spent.
pub(crate) fn rate_limited(status: u16) -> bool {
    matches!(status, 429 | 432 | 433)
}

#[cfg(test)]
mod tests {
    use lls_api_common::ErrorKind;
    use lls_openai_compat::Credential;

    use crate::Tavily;

    const UNAUTHORIZED: &str =
        r#"{"detail": {"error": "Unauthorized: missing or invalid API key."}}"#;

    fn from_status(status: u16, body: &[u8], credential: Credential) -> lls_api_common::Error {
        lls_websearch::from_status::<Tavily>("tavily-search", status, body, credential)
    }

    #[test]
    fn a_refused_key_quotes_tavily_and_names_the_provider_data_key() {
        let e = from_status(401, UNAUTHORIZED.as_bytes(), Credential::ProviderData);
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert_eq!(
            e.message(),
            "Tavily rejected the API key from the provider data (tavily_search_api_key): \
             Unauthorized: missing or invalid API key."
        );
        let e = from_status(401, UNAUTHORIZED.as_bytes(), Credential::Config);
        assert_eq!(e.kind(), ErrorKind::UpstreamError);
        assert_eq!(e.provider(), Some("tavily-search"));
    }

    #[test]
    fn spent_plans_are_rate_limits_and_plain_details_are_quoted() {
        for status in [429, 432, 433] {
            let e = from_status(status, br#"{"detail": "nope"}"#, Credential::Config);
            assert_eq!(e.kind(), ErrorKind::RateLimited, "{status}");
            assert!(e.message().ends_with("): nope"), "{e}");
        }
        assert_eq!(
            from_status(400, b"{}", Credential::Config).kind(),
            ErrorKind::InvalidRequest
        );
    }
}
