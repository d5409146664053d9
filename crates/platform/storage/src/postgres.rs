//! PostgreSQL backend: binding parameters with their declared types and decoding rows (types
//! are checked: PostgreSQL is strictly typed). The pool is opened by `lls_sql::postgres`.

use lls_api_common::store::ColumnType;
use serde_json::Value;
use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::{AssertSqlSafe, Postgres, Row};

use crate::dialect::{Param, Statement};
use crate::value::{float, json_from_text};

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

/// The advisory lock key schema changes take turns on ("llsschem" in ASCII): one key for
/// the whole database, as schema changes are rare and quick.
const SCHEMA_LOCK: i64 = 0x6c6c_7373_6368_656d;

pub(crate) async fn change_schema(pool: &PgPool, stmt: Statement) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SCHEMA_LOCK)
        .execute(&mut *tx)
        .await?;
    query(stmt).execute(&mut *tx).await?;
    tx.commit().await
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
