//! Brave Search's error bodies, `{"type": "ErrorResponse", "error": {"code", "detail"}}`; the
//! status table every web search vendor shares is `lls_websearch::from_status`.

use lls_websearch::VendorError;
use serde_json::Value;

/// Brave's codes for a token it does not accept (it answers some of them with 422).
const TOKEN_CODES: &[&str] = &["SUBSCRIPTION_TOKEN_INVALID", "SUBSCRIPTION_TOKEN_MISSING"];

/// Brave's `error.detail`, and whether its `error.code` refuses the token.
pub(crate) fn vendor_error(body: &[u8]) -> VendorError {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return VendorError::default();
    };
    let text = |key: &str| {
        value
            .get("error")
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
    };
    VendorError {
        message: text("detail").map(str::to_owned),
        key_refused: text("code").is_some_and(|c| TOKEN_CODES.contains(&c)),
    }
}

#[cfg(test)]
mod tests {
    use lls_api_common::{Error, ErrorKind};
    use lls_openai_compat::Credential;

    use crate::Brave;

    fn body(status: u16, code: &str, detail: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "type": "ErrorResponse",
            "error": {"id": "x", "status": status, "code": code, "detail": detail, "meta": {"component": "authentication"}},
            "time": 1,
        }))
        .unwrap()
    }

    fn from_status(status: u16, body: &[u8], credential: Credential) -> Error {
        lls_websearch::from_status::<Brave>("brave-search", status, body, credential)
    }

    #[test]
    fn a_refused_token_is_blamed_on_whoever_sent_it() {
        let b = body(
            401,
            "SUBSCRIPTION_TOKEN_INVALID",
            "The provided subscription token is invalid.",
        );
        let e = from_status(401, &b, Credential::ProviderData);
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert_eq!(
            e.message(),
            "Brave Search rejected the API key from the provider data (brave_search_api_key): \
             The provided subscription token is invalid."
        );
        let e = from_status(401, &b, Credential::Config);
        assert_eq!(e.kind(), ErrorKind::UpstreamError);
        assert_eq!(e.provider(), Some("brave-search"));
        // Brave answers an invalid token with 422 too.
        let b = body(422, "SUBSCRIPTION_TOKEN_INVALID", "invalid");
        assert_eq!(
            from_status(422, &b, Credential::ProviderData).kind(),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            from_status(
                422,
                &body(422, "VALIDATION", "bad q"),
                Credential::ProviderData
            )
            .kind(),
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn only_429_is_a_rate_limit() {
        let e = from_status(
            429,
            &body(429, "RATE_LIMITED", "slow down"),
            Credential::Config,
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(
            e.message(),
            "Brave Search refused the search (HTTP 429): slow down"
        );
        assert_eq!(
            from_status(432, &body(432, "X", "x"), Credential::Config).kind(),
            ErrorKind::InvalidRequest
        );
    }
}
