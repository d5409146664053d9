//! PostgreSQL backend: connecting a pool from a URL, binding parameters with their declared
//! types and decoding rows (types are checked: PostgreSQL is strictly typed).

use std::str::FromStr;
use std::time::Duration;

use lls_api_common::store::ColumnType;
use serde_json::Value;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection, Postgres, Row};

use crate::dialect::{Param, Statement};
use crate::value::{float, json_from_text};

const MAX_CONNECTIONS: u32 = 10;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Parses a `postgres://` URL without connecting (config checks call this).
pub(crate) fn options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(sqlx::Error::Configuration(
            "the URL must start with postgres:// or postgresql://".into(),
        ));
    }
    Ok(PgConnectOptions::from_str(url)?.application_name("llama-stack-rs"))
}

/// Connects eagerly, so a wrong address fails when the backend is first used, by name.
/// One plain connection attempt comes first: the pool would retry a refused connection until
/// its acquire timeout, and a server that is down should be reported at once.
pub(crate) async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
    let options = options(url)?;
    let probe = tokio::time::timeout(ACQUIRE_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| {
            sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connecting timed out",
            ))
        })??;
    probe.close().await?;
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
}

fn query(stmt: Statement) -> sqlx::query::Query<'static, Postgres, PgArguments> {
    let mut query = sqlx::query(AssertSqlSafe(stmt.sql));
    for param in stmt.params {
        query = match param {
            Param::Null(ColumnType::Integer) => query.bind(None::<i64>),
            Param::Null(ColumnType::Float) => query.bind(None::<f64>),
            Param::Null(ColumnType::Boolean) => query.bind(None::<bool>),
            Param::Null(ColumnType::Text | ColumnType::Json) => query.bind(None::<String>),
            Param::Int(v) => query.bind(v),
            Param::Float(v) => query.bind(v),
            Param::Text(v) => query.bind(v),
            Param::Bool(v) => query.bind(v),
        };
    }
    query
}

pub(crate) async fn execute(pool: &PgPool, stmt: Statement) -> Result<u64, sqlx::Error> {
    Ok(query(stmt).execute(pool).await?.rows_affected())
}

pub(crate) async fn execute_in_transaction(
    pool: &PgPool,
    stmts: Vec<Statement>,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut affected = 0;
    for stmt in stmts {
        affected += query(stmt).execute(&mut *tx).await?.rows_affected();
    }
    tx.commit().await?;
    Ok(affected)
}

pub(crate) async fn fetch(
    pool: &PgPool,
    stmt: Statement,
    types: &[ColumnType],
) -> Result<Vec<Vec<Value>>, sqlx::Error> {
    let rows = query(stmt).fetch_all(pool).await?;
    rows.iter().map(|row| decode(row, types)).collect()
}

fn decode(row: &PgRow, types: &[ColumnType]) -> Result<Vec<Value>, sqlx::Error> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            Ok(match ty {
                ColumnType::Integer => row.try_get::<Option<i64>, _>(i)?.map(Value::from),
                ColumnType::Float => row.try_get::<Option<f64>, _>(i)?.map(float),
                ColumnType::Boolean => row.try_get::<Option<bool>, _>(i)?.map(Value::Bool),
                ColumnType::Text => row.try_get::<Option<String>, _>(i)?.map(Value::String),
                ColumnType::Json => row.try_get::<Option<String>, _>(i)?.map(json_from_text),
            }
            .unwrap_or(Value::Null))
        })
        .collect()
}
