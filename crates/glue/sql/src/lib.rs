//! SQL glue a provider (or the storage layer) may use: opening SQLite and PostgreSQL pools the
//! one way the stack does it, and turning `sqlx` errors into [`lls_api_common::ErrorKind`]s.
//!
//! - [`SqliteOpener`] opens a SQLite pool: WAL, `synchronous=NORMAL`, busy timeout, parent
//!   directories created, `~` expanded, [`IN_MEMORY`] as one private connection kept forever,
//!   and an optional per-connection setup hook (an extension to register, a pragma to set).
//! - [`postgres::connect`] opens a PostgreSQL pool, failing at once when the server is down.
//! - [`error_kind`] is the only table from database failures (sqlx errors, SQLite result codes,
//!   PostgreSQL SQLSTATEs) to error kinds; callers write the message, naming what failed.
//!
//! ```no_run
//! use lls_sql::{SqliteOpener, error_kind};
//! use lls_api_common::Error;
//!
//! # async fn demo() -> lls_api_common::Result<()> {
//! let pool = SqliteOpener::new()
//!     .open("~/.llama/example.db".as_ref())
//!     .await
//!     .map_err(|e| Error::new(error_kind(&e), format!("opening example.db: {e}")))?;
//! # drop(pool); Ok(()) }
//! ```

mod error;
pub mod postgres;
mod sqlite;

pub use error::{error_kind, sqlite_code_kind, sqlstate_kind};
pub use sqlite::{AfterConnect, IN_MEMORY, SqliteOpener, expand_home};
