//! Milvus SDK errors → our error kinds: the one place that knows Milvus's codes. A server that
//! cannot be reached is `UpstreamUnavailable` (503), one that is slow `Timeout` (504), one that
//! refuses or answers nonsense `UpstreamError` (502); a missing collection is the store's 404.

use lls_api_common::{Error, ErrorKind};
use milvus::v2::error::Error as MilvusError;
use tonic::Code;

/// Milvus's "collection not found" (`CollectionNotExists`, 100).
pub(crate) const COLLECTION_NOT_FOUND: i32 = 100;
/// Milvus's "collection not loaded" (`CollectionNotLoaded`, 101).
pub(crate) const COLLECTION_NOT_LOADED: i32 = 101;

/// The server's error code, looking through retries.
pub(crate) fn server_code(e: &MilvusError) -> Option<i32> {
    match e {
        MilvusError::Server(s) => Some(s.code()),
        MilvusError::RetryExhausted { source, .. } => server_code(source),
        _ => None,
    }
}

/// Our error for a failure while `doing` something, naming `provider`.
pub fn milvus_error(provider: &str, doing: &str, e: &MilvusError) -> Error {
    Error::new(kind(e), format!("Milvus: {doing} failed: {e}")).with_provider(provider.to_owned())
}

fn kind(e: &MilvusError) -> ErrorKind {
    match e {
        MilvusError::RetryExhausted { source, .. } => kind(source),
        MilvusError::Grpc(status) => match status.code() {
            Code::Unavailable | Code::Unknown | Code::Aborted | Code::ResourceExhausted => ErrorKind::UpstreamUnavailable,
            Code::DeadlineExceeded => ErrorKind::Timeout,
            Code::Cancelled => ErrorKind::UpstreamUnavailable,
            _ => ErrorKind::UpstreamError,
        },
        MilvusError::Server(s) if s.code() == COLLECTION_NOT_FOUND => ErrorKind::NotFound,
        MilvusError::Timeout(_) => ErrorKind::Timeout,
        MilvusError::Cancelled(_) => ErrorKind::UpstreamUnavailable,
        // The server refused what we sent, or answered what the SDK cannot read: either way the
        // backend is the one to look at (our inputs are checked before they are sent).
        MilvusError::Server(_) | MilvusError::MalformedResponse(_) | MilvusError::Conversion(_) => ErrorKind::UpstreamError,
        MilvusError::Validation(_) => ErrorKind::InvalidRequest,
        _ => ErrorKind::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_are_unavailable_or_timeouts() {
        let down = MilvusError::Grpc(tonic::Status::unavailable("connection refused"));
        assert_eq!(milvus_error("remote::milvus", "searching", &down).kind(), ErrorKind::UpstreamUnavailable);
        let retried = MilvusError::RetryExhausted { attempts: 3, source: Box::new(down) };
        assert_eq!(kind(&retried), ErrorKind::UpstreamUnavailable);
        assert_eq!(kind(&MilvusError::Grpc(tonic::Status::deadline_exceeded("slow"))), ErrorKind::Timeout);
        assert_eq!(kind(&MilvusError::Timeout("load".into())), ErrorKind::Timeout);
        assert_eq!(kind(&MilvusError::MalformedResponse("?".into())), ErrorKind::UpstreamError);
        let e = milvus_error("remote::milvus", "searching", &MilvusError::Unexpected("x".into()));
        assert!(e.message().starts_with("Milvus: searching failed"), "{e}");
    }
}
