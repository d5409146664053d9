//! SQLite failures → our error kinds; the only place that knows SQLite's result codes.

use lls_api_common::{Error, ErrorKind};

use crate::PROVIDER_TYPE;

/// A failure while `doing` something with the database. Busy or locked databases and I/O
/// trouble are "unavailable" (503, retryable); a pool timeout is a timeout (504); anything else
/// the database reports is an upstream error (502).
pub(crate) fn db_error(doing: &str, e: sqlx::Error) -> Error {
    let kind = match &e {
        sqlx::Error::PoolTimedOut => ErrorKind::Timeout,
        sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => ErrorKind::UpstreamUnavailable,
        sqlx::Error::Database(db) => match db.code().as_deref().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff) {
            // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN
            Some(5 | 6 | 10 | 13 | 14) => ErrorKind::UpstreamUnavailable,
            _ => ErrorKind::UpstreamError,
        },
        _ => ErrorKind::UpstreamError,
    };
    Error::new(kind, format!("sqlite-vec: {doing} failed: {e}")).with_provider(PROVIDER_TYPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_states_map_to_timeout_and_unavailable() {
        assert_eq!(db_error("x", sqlx::Error::PoolTimedOut).kind(), ErrorKind::Timeout);
        let e = db_error("opening", sqlx::Error::PoolClosed);
        assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
        assert!(e.is_retryable());
        assert_eq!(e.provider(), Some(PROVIDER_TYPE));
        assert_eq!(db_error("x", sqlx::Error::RowNotFound).kind(), ErrorKind::UpstreamError);
    }
}
