//! SQLite failures → our errors. The kind comes from `lls_sql::error_kind`, the one table of
//! database error codes (shared with the storage layer); this adds what failed and the provider.

use lls_api_common::Error;

use crate::PROVIDER_TYPE;

/// A failure while `doing` something with the database: busy, locked, full or unreadable
/// databases and pool trouble are "unavailable" (503, retryable); a rejected value is a 400;
/// anything else is a bug of ours (500).
pub(crate) fn db_error(doing: &str, e: sqlx::Error) -> Error {
    Error::new(lls_sql::error_kind(&e), format!("sqlite-vec: {doing} failed: {e}")).with_provider(PROVIDER_TYPE)
}

#[cfg(test)]
mod tests {
    use lls_api_common::ErrorKind;

    use super::*;

    #[test]
    fn pool_states_are_unavailable_and_name_the_provider() {
        for e in [sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed] {
            let e = db_error("opening", e);
            assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
            assert!(e.is_retryable());
            assert_eq!(e.provider(), Some(PROVIDER_TYPE));
        }
        assert_eq!(db_error("x", sqlx::Error::RowNotFound).kind(), ErrorKind::Internal);
    }
}
