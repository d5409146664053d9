//! The one place that knows database error codes: turns `sqlx` errors into the stack's
//! [`Error`] kinds, naming the storage backend so operators know which one failed.

use lls_api_common::{Error, ErrorKind};

/// Maps a database error from backend `backend` to an error kind a client can act on.
pub(crate) fn from_sqlx(backend: &str, err: sqlx::Error) -> Error {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::conflict(format!(
            "duplicate key in storage backend '{backend}': {}",
            db.message()
        )),
        sqlx::Error::Database(db) if db.code().is_some_and(|code| is_unavailable_code(&code)) => {
            unavailable(backend, &err)
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => unavailable(backend, &err),
        sqlx::Error::Configuration(_) => Error::invalid(format!(
            "storage backend '{backend}' is misconfigured: {err}"
        )),
        _ => Error::internal(format!("storage backend '{backend}': {err}")),
    }
}

/// The backend could not be reached (or is too busy to answer): retryable.
pub(crate) fn unavailable(backend: &str, err: &dyn std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::UpstreamUnavailable,
        format!("storage backend '{backend}' is unavailable: {err}"),
    )
}

/// PostgreSQL SQLSTATEs for lost or refused connections, and SQLite's busy/locked/can't-open
/// result codes (primary code in the low byte of the extended code).
fn is_unavailable_code(code: &str) -> bool {
    if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300") {
        return true;
    }
    code.parse::<i64>()
        .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 14))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_unavailable_and_name_the_backend() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = from_sqlx("sql_default", sqlx::Error::Io(io));
        assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
        assert!(err.message().contains("'sql_default'"), "{}", err.message());
        assert!(err.is_retryable());
    }

    #[test]
    fn other_errors_are_internal() {
        let err = from_sqlx("kv", sqlx::Error::Protocol("garbled".into()));
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(err.message().contains("garbled"));
    }

    #[test]
    fn connection_codes() {
        assert!(is_unavailable_code("08006"));
        assert!(is_unavailable_code("57P01"));
        assert!(is_unavailable_code("5"));
        assert!(is_unavailable_code("517"));
        assert!(!is_unavailable_code("23505"));
        assert!(!is_unavailable_code("1555"));
    }
}
