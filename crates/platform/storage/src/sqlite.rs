//! SQLite backend: binding parameters and decoding rows by declared column type (the pool is
//! opened by `lls_sql::SqliteOpener`: WAL, busy timeout, parent directories, `~`).

use lls_api_common::store::ColumnType;
use serde_json::Value;
use sqlx::sqlite::{SqliteArguments, SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, Row, Sqlite};

use crate::dialect::{Param, Statement};
use crate::value::{float, json_from_text};

/// The path that names a private in-memory database (one connection, gone on close).
pub use lls_sql::IN_MEMORY;

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
