//! SQLite backend: opening a file database (WAL, busy timeout, parent directories, `~`),
//! binding parameters and decoding rows by declared column type.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use lls_api_common::store::ColumnType;
use serde_json::Value;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row, Sqlite};

use crate::dialect::{Param, Statement};
use crate::value::{float, json_from_text};

/// The path that names a private in-memory database (one connection, gone on close).
pub const IN_MEMORY: &str = ":memory:";

/// How long a connection waits for another writer's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// WAL lets readers run beside the one writer; a few connections are plenty.
const MAX_CONNECTIONS: u32 = 4;

/// Opens (creating if needed) the database at `path`, or a private one for [`IN_MEMORY`].
pub(crate) async fn connect(path: &Path) -> Result<SqlitePool, sqlx::Error> {
    if path == Path::new(IN_MEMORY) {
        // Every connection to ":memory:" is a separate database, so keep exactly one, forever.
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
        return SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await;
    }
    let path = expand_home(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent).await?;
    }
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT);
    SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options)
        .await
}

/// `~` and `~/...` relative to `$HOME`, as run.yaml paths are written.
pub(crate) fn expand_home(path: &Path) -> PathBuf {
    let Ok(rest) = path.strip_prefix("~") else {
        return path.to_path_buf();
    };
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(rest),
        None => path.to_path_buf(),
    }
}

fn query(stmt: Statement) -> sqlx::query::Query<'static, Sqlite, SqliteArguments> {
    let mut query = sqlx::query(AssertSqlSafe(stmt.sql));
    for param in stmt.params {
        query = match param {
            Param::Null(_) => query.bind(None::<i64>),
            Param::Int(v) => query.bind(v),
            Param::Float(v) => query.bind(v),
            Param::Text(v) => query.bind(v),
            Param::Bool(v) => query.bind(v),
        };
    }
    query
}

pub(crate) async fn execute(pool: &SqlitePool, stmt: Statement) -> Result<u64, sqlx::Error> {
    Ok(query(stmt).execute(pool).await?.rows_affected())
}

/// Runs the statements in one write transaction. `BEGIN IMMEDIATE` takes the write lock up
/// front, so a busy database makes us wait (busy timeout) instead of failing mid-transaction.
pub(crate) async fn execute_in_transaction(
    pool: &SqlitePool,
    stmts: Vec<Statement>,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut affected = 0;
    for stmt in stmts {
        affected += query(stmt).execute(&mut *tx).await?.rows_affected();
    }
    tx.commit().await?;
    Ok(affected)
}

pub(crate) async fn fetch(
    pool: &SqlitePool,
    stmt: Statement,
    types: &[ColumnType],
) -> Result<Vec<Vec<Value>>, sqlx::Error> {
    let rows = query(stmt).fetch_all(pool).await?;
    rows.iter().map(|row| decode(row, types)).collect()
}

/// SQLite is dynamically typed, so values are read with SQLite's own conversions (unchecked)
/// into the column's declared type.
fn decode(row: &SqliteRow, types: &[ColumnType]) -> Result<Vec<Value>, sqlx::Error> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            Ok(match ty {
                ColumnType::Integer => row.try_get_unchecked::<Option<i64>, _>(i)?.map(Value::from),
                ColumnType::Float => row.try_get_unchecked::<Option<f64>, _>(i)?.map(float),
                ColumnType::Boolean => row
                    .try_get_unchecked::<Option<bool>, _>(i)?
                    .map(Value::Bool),
                ColumnType::Text => row
                    .try_get_unchecked::<Option<String>, _>(i)?
                    .map(Value::String),
                ColumnType::Json => row
                    .try_get_unchecked::<Option<String>, _>(i)?
                    .map(json_from_text),
            }
            .unwrap_or(Value::Null))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_is_expanded() {
        let Some(home) = std::env::var_os("HOME") else {
            return;
        };
        assert_eq!(
            expand_home(Path::new("~/.llama/x.db")),
            PathBuf::from(&home).join(".llama/x.db")
        );
        assert_eq!(expand_home(Path::new("~")), PathBuf::from(&home));
        assert_eq!(expand_home(Path::new("/tmp/~x")), PathBuf::from("/tmp/~x"));
        assert_eq!(expand_home(Path::new("~user/x")), PathBuf::from("~user/x"));
    }
}
