//! Failure injection by model name, shared by the mock server and the fake provider, so that
//! error paths are tested against the same triggers at every layer.

use std::time::Duration;

use lls_api_common::{Error, ErrorKind};

/// A failure (or delay) that a model name asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `error-<status>` (400..=599): answer with that status.
    Status(u16),
    /// `garbage`: 200 with a body that is not JSON.
    Garbage,
    /// `slow-<ms>`: answer normally after that delay.
    Slow(Duration),
    /// `midstream-error`: a stream that sends two chunks, then fails.
    MidstreamError,
    /// `empty-stream`: a stream with no chunks at all.
    EmptyStream,
}

impl Failure {
    /// The failure a model name asks for; `None` for ordinary names.
    pub fn from_model(model: &str) -> Option<Failure> {
        match model {
            "garbage" => return Some(Failure::Garbage),
            "midstream-error" => return Some(Failure::MidstreamError),
            "empty-stream" => return Some(Failure::EmptyStream),
            _ => {}
        }
        if let Some(status) = model
            .strip_prefix("error-")
            .and_then(|s| s.parse::<u16>().ok())
        {
            return (400..=599)
                .contains(&status)
                .then_some(Failure::Status(status));
        }
        model
            .strip_prefix("slow-")
            .and_then(|ms| ms.parse::<u64>().ok())
            .map(|ms| Failure::Slow(Duration::from_millis(ms)))
    }
}

/// The error kind a provider should report for an upstream HTTP status.
pub fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        413 => ErrorKind::PayloadTooLarge,
        429 => ErrorKind::RateLimited,
        503 => ErrorKind::UpstreamUnavailable,
        504 => ErrorKind::Timeout,
        400..=499 => ErrorKind::InvalidRequest,
        _ => ErrorKind::UpstreamError,
    }
}

/// The error the fake provider returns for `error-<status>`.
pub fn status_error(status: u16, provider: &str) -> Error {
    Error::new(
        kind_for_status(status),
        format!("injected failure: upstream answered HTTP {status}"),
    )
    .with_upstream_status(status)
    .with_provider(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert_eq!(Failure::from_model("error-429"), Some(Failure::Status(429)));
        assert_eq!(Failure::from_model("error-200"), None);
        assert_eq!(Failure::from_model("error-x"), None);
        assert_eq!(
            Failure::from_model("slow-25"),
            Some(Failure::Slow(Duration::from_millis(25)))
        );
        assert_eq!(Failure::from_model("garbage"), Some(Failure::Garbage));
        assert_eq!(
            Failure::from_model("midstream-error"),
            Some(Failure::MidstreamError)
        );
        assert_eq!(
            Failure::from_model("empty-stream"),
            Some(Failure::EmptyStream)
        );
        assert_eq!(Failure::from_model("mock-llm"), None);
    }

    #[test]
    fn maps_statuses() {
        assert_eq!(kind_for_status(400), ErrorKind::InvalidRequest);
        assert_eq!(kind_for_status(404), ErrorKind::NotFound);
        assert_eq!(kind_for_status(429), ErrorKind::RateLimited);
        assert_eq!(kind_for_status(500), ErrorKind::UpstreamError);
        assert_eq!(kind_for_status(502), ErrorKind::UpstreamError);
        assert_eq!(kind_for_status(503), ErrorKind::UpstreamUnavailable);
        assert_eq!(kind_for_status(504), ErrorKind::Timeout);
        let e = status_error(429, "fake");
        assert!(e.is_retryable());
        assert_eq!(e.provider(), Some("fake"));
        assert_eq!(e.upstream_status(), Some(429));
    }
}
