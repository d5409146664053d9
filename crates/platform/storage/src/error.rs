//! Storage failures as the stack's [`Error`]s: the kind comes from `lls_sql::error_kind` (the
//! one table of database error codes); the message names the storage backend, so operators
//! know which one failed.

use lls_api_common::{Error, ErrorKind};

/// Maps a database error from backend `backend` to an error a client can act on.
pub(crate) fn from_sqlx(backend: &str, err: sqlx::Error) -> Error {
    let kind = lls_sql::error_kind(&err);
    let detail = match &err {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    };
    let message = match kind {
        ErrorKind::Conflict => format!("conflict in storage backend '{backend}': {detail}"),
        ErrorKind::InvalidRequest if matches!(err, sqlx::Error::Configuration(_)) => {
            format!("storage backend '{backend}' is misconfigured: {detail}")
        }
        ErrorKind::InvalidRequest => {
            format!("storage backend '{backend}' refused the value: {detail}")
        }
        ErrorKind::UpstreamUnavailable => {
            format!("storage backend '{backend}' is unavailable: {detail}")
        }
        ErrorKind::Timeout => format!("storage backend '{backend}' timed out: {detail}"),
        _ => format!("storage backend '{backend}': {err}"),
    };
    Error::new(kind, message)
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
    fn a_pool_timeout_is_unavailable() {
        let err = from_sqlx("kv", sqlx::Error::PoolTimedOut);
        assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
        assert!(
            err.message().contains("'kv' is unavailable"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn other_errors_are_internal() {
        let err = from_sqlx("kv", sqlx::Error::Protocol("garbled".into()));
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(err.message().contains("garbled"));
    }
}
