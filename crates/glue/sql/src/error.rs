//! The one table from database failures to error kinds: `sqlx` errors, SQLite result codes and
//! PostgreSQL SQLSTATEs. Callers write the message (naming the backend or what they were doing);
//! the kind, and so the HTTP status and the retryable flag, comes from here.
//!
//! The rule, by what a caller can do about the failure:
//! - **`UpstreamUnavailable`** (503, retryable): the database could not take the statement now —
//!   unreachable, connection lost, pool exhausted or closed, busy/locked, out of disk, memory or
//!   connections, or a transaction aborted by a deadlock or serialization failure. This includes
//!   `PoolTimedOut`: it means no connection was free (or could be opened) within the acquire
//!   timeout, so the statement never started; that is the database being saturated or down,
//!   exactly like a refused connection, not a statement that took too long.
//! - **`Timeout`** (504, retryable): the database started the statement and cancelled it for
//!   taking too long (PostgreSQL `57014`, e.g. `statement_timeout`).
//! - **`Conflict`** (409): the row collides with existing data (unique, primary key, foreign key,
//!   exclusion constraints).
//! - **`InvalidRequest`** (400): the value itself was refused (NOT NULL, CHECK, type mismatch,
//!   too big; PostgreSQL data exceptions such as a NUL byte in text), or a connection URL that
//!   does not parse. Retrying the same row cannot succeed, but other rows can.
//! - **`Internal`** (500): everything else — a bad statement, a corrupt file, wrong credentials
//!   or a missing database, a decode failure. These are our bugs or our operator's
//!   configuration; neither the client nor a retry can fix them.

use lls_api_common::ErrorKind;
use sqlx::error::{DatabaseError, ErrorKind as DbErrorKind};
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;

/// The kind of a database failure (see the module docs for the rule).
pub fn error_kind(err: &sqlx::Error) -> ErrorKind {
    match err {
        sqlx::Error::Database(db) => database_kind(db.as_ref()),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => ErrorKind::UpstreamUnavailable,
        sqlx::Error::Configuration(_) => ErrorKind::InvalidRequest,
        _ => ErrorKind::Internal,
    }
}

fn database_kind(db: &dyn DatabaseError) -> ErrorKind {
    if let Some(e) = db.try_downcast_ref::<PgDatabaseError>() {
        return sqlstate_kind(e.code());
    }
    if db.try_downcast_ref::<SqliteError>().is_some()
        && let Some(code) = db.code().and_then(|c| c.parse::<i32>().ok())
    {
        return sqlite_code_kind(code);
    }
    // Another driver: only what sqlx itself classifies.
    match db.kind() {
        DbErrorKind::UniqueViolation
        | DbErrorKind::ForeignKeyViolation
        | DbErrorKind::ExclusionViolation => ErrorKind::Conflict,
        DbErrorKind::NotNullViolation | DbErrorKind::CheckViolation => ErrorKind::InvalidRequest,
        _ => ErrorKind::Internal,
    }
}

/// The kind of a SQLite (extended) result code.
pub fn sqlite_code_kind(code: i32) -> ErrorKind {
    match code {
        // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY, _FOREIGNKEY
        2067 | 1555 | 787 => ErrorKind::Conflict,
        _ => match code & 0xff {
            // BUSY, LOCKED; NOMEM, IOERR, FULL, CANTOPEN, PROTOCOL (file locking)
            5 | 6 | 7 | 10 | 13 | 14 | 15 => ErrorKind::UpstreamUnavailable,
            // TOOBIG, CONSTRAINT (NOT NULL, CHECK, STRICT types, ...), MISMATCH
            18..=20 => ErrorKind::InvalidRequest,
            _ => ErrorKind::Internal,
        },
    }
}

/// The kind of a PostgreSQL SQLSTATE (five characters; the first two are its class).
pub fn sqlstate_kind(state: &str) -> ErrorKind {
    match state {
        // unique_violation, foreign_key_violation, exclusion_violation
        "23505" | "23503" | "23P01" => ErrorKind::Conflict,
        // query_canceled (statement_timeout)
        "57014" => ErrorKind::Timeout,
        // serialization_failure, deadlock_detected, lock_not_available, admin_shutdown,
        // crash_shutdown, cannot_connect_now
        "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03" => ErrorKind::UpstreamUnavailable,
        _ => match state.get(..2) {
            // connection exception, insufficient resources, system (I/O) error
            Some("08" | "53" | "58") => ErrorKind::UpstreamUnavailable,
            // data exception, integrity constraint (not null, check), program limit (a value
            // too big for an index)
            Some("22" | "23" | "54") => ErrorKind::InvalidRequest,
            _ => ErrorKind::Internal,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::{IN_MEMORY, SqliteOpener};

    #[test]
    fn sqlx_errors() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        for (err, kind) in [
            (sqlx::Error::Io(io), ErrorKind::UpstreamUnavailable),
            (sqlx::Error::PoolTimedOut, ErrorKind::UpstreamUnavailable),
            (sqlx::Error::PoolClosed, ErrorKind::UpstreamUnavailable),
            (sqlx::Error::WorkerCrashed, ErrorKind::UpstreamUnavailable),
            (sqlx::Error::BeginFailed, ErrorKind::UpstreamUnavailable),
            (
                sqlx::Error::Tls("handshake".into()),
                ErrorKind::UpstreamUnavailable,
            ),
            (
                sqlx::Error::Configuration("bad url".into()),
                ErrorKind::InvalidRequest,
            ),
            (sqlx::Error::Protocol("garbled".into()), ErrorKind::Internal),
            (sqlx::Error::RowNotFound, ErrorKind::Internal),
            (sqlx::Error::ColumnNotFound("x".into()), ErrorKind::Internal),
        ] {
            assert_eq!(error_kind(&err), kind, "{err}");
        }
    }

    #[test]
    fn sqlite_codes() {
        for (code, kind) in [
            (5, ErrorKind::UpstreamUnavailable),    // BUSY
            (517, ErrorKind::UpstreamUnavailable),  // BUSY_SNAPSHOT
            (6, ErrorKind::UpstreamUnavailable),    // LOCKED
            (10, ErrorKind::UpstreamUnavailable),   // IOERR
            (3338, ErrorKind::UpstreamUnavailable), // IOERR_FSYNC
            (13, ErrorKind::UpstreamUnavailable),   // FULL
            (14, ErrorKind::UpstreamUnavailable),   // CANTOPEN
            (2067, ErrorKind::Conflict),            // CONSTRAINT_UNIQUE
            (1555, ErrorKind::Conflict),            // CONSTRAINT_PRIMARYKEY
            (787, ErrorKind::Conflict),             // CONSTRAINT_FOREIGNKEY
            (1299, ErrorKind::InvalidRequest),      // CONSTRAINT_NOTNULL
            (275, ErrorKind::InvalidRequest),       // CONSTRAINT_CHECK
            (3091, ErrorKind::InvalidRequest),      // CONSTRAINT_DATATYPE
            (18, ErrorKind::InvalidRequest),        // TOOBIG
            (20, ErrorKind::InvalidRequest),        // MISMATCH
            (1, ErrorKind::Internal),               // ERROR (bad SQL)
            (8, ErrorKind::Internal),               // READONLY
            (11, ErrorKind::Internal),              // CORRUPT
            (26, ErrorKind::Internal),              // NOTADB
        ] {
            assert_eq!(sqlite_code_kind(code), kind, "SQLite code {code}");
        }
    }

    #[test]
    fn postgres_sqlstates() {
        for (state, kind) in [
            ("23505", ErrorKind::Conflict),
            ("23503", ErrorKind::Conflict),
            ("23P01", ErrorKind::Conflict),
            ("23502", ErrorKind::InvalidRequest), // not_null_violation
            ("23514", ErrorKind::InvalidRequest), // check_violation
            ("22021", ErrorKind::InvalidRequest), // character_not_in_repertoire (NUL byte)
            ("22001", ErrorKind::InvalidRequest), // string_data_right_truncation
            ("54000", ErrorKind::InvalidRequest), // program_limit_exceeded
            ("57014", ErrorKind::Timeout),
            ("08006", ErrorKind::UpstreamUnavailable),
            ("08001", ErrorKind::UpstreamUnavailable),
            ("53300", ErrorKind::UpstreamUnavailable), // too_many_connections
            ("53100", ErrorKind::UpstreamUnavailable), // disk_full
            ("58030", ErrorKind::UpstreamUnavailable), // io_error
            ("57P01", ErrorKind::UpstreamUnavailable),
            ("57P03", ErrorKind::UpstreamUnavailable),
            ("40001", ErrorKind::UpstreamUnavailable),
            ("40P01", ErrorKind::UpstreamUnavailable),
            ("55P03", ErrorKind::UpstreamUnavailable),
            ("42601", ErrorKind::Internal), // syntax_error
            ("42P01", ErrorKind::Internal), // undefined_table
            ("28P01", ErrorKind::Internal), // invalid_password
            ("3D000", ErrorKind::Internal), // invalid_catalog_name
            ("XX000", ErrorKind::Internal),
            ("", ErrorKind::Internal),
        ] {
            assert_eq!(sqlstate_kind(state), kind, "SQLSTATE {state}");
        }
    }

    /// Real SQLite errors reach the code table (sqlx reports extended codes).
    #[tokio::test]
    async fn sqlite_errors_from_a_real_database() {
        let pool = SqliteOpener::new()
            .open(Path::new(IN_MEMORY))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n > 0))")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES ('a', 1)")
            .execute(&pool)
            .await
            .unwrap();
        for (sql, kind) in [
            ("INSERT INTO t VALUES ('a', 2)", ErrorKind::Conflict),
            (
                "INSERT INTO t VALUES ('b', NULL)",
                ErrorKind::InvalidRequest,
            ),
            ("INSERT INTO t VALUES ('c', 0)", ErrorKind::InvalidRequest),
            ("SELECT * FROM missing", ErrorKind::Internal),
        ] {
            let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
            assert_eq!(error_kind(&err), kind, "{sql}: {err}");
        }
    }

    #[tokio::test]
    async fn a_locked_sqlite_file_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let opener = SqliteOpener::new().busy_timeout(Duration::ZERO);
        let (one, two) = (
            opener.open(&path).await.unwrap(),
            opener.open(&path).await.unwrap(),
        );
        let _held = one.begin_with("BEGIN IMMEDIATE").await.unwrap();
        let err = two.begin_with("BEGIN IMMEDIATE").await.unwrap_err();
        assert_eq!(error_kind(&err), ErrorKind::UpstreamUnavailable, "{err}");
    }
}
