//! A connected storage backend: one connection pool, its dialect and its name, which every
//! error carries. Stores above this are written once for both databases. While traces are
//! exported, every write is a client span with the database semantic conventions.

use std::path::Path;

use lls_api_common::Result;
use lls_api_common::store::ColumnType;
use lls_sql::SqliteOpener;
use serde_json::Value;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use tokio::sync::Mutex;
use tracing::{Instrument, Span};

use crate::dialect::{Dialect, Statement};
use crate::error::from_sqlx;
use crate::{postgres, sqlite};

enum Pool {
    /// SQLite allows one writer at a time; writes from this process queue on the mutex
    /// instead of polling SQLite's lock (busy timeout), whatever the number of writer tasks.
    Sqlite(SqlitePool, Mutex<()>),
    Postgres(PgPool),
}

pub(crate) struct Db {
    name: String,
    pool: Pool,
}

impl Db {
    pub(crate) async fn sqlite(name: &str, path: &Path) -> Result<Self> {
        let pool = SqliteOpener::new()
            .open(path)
            .await
            .map_err(|e| from_sqlx(name, e))?;
        Ok(Db {
            name: name.to_owned(),
            pool: Pool::Sqlite(pool, Mutex::new(())),
        })
    }

    pub(crate) async fn postgres(name: &str, url: &str) -> Result<Self> {
        let pool = lls_sql::postgres::connect(url)
            .await
            .map_err(|e| from_sqlx(name, e))?;
        Ok(Db {
            name: name.to_owned(),
            pool: Pool::Postgres(pool),
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(..) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs one statement that writes (or changes the schema); returns the rows it affected.
    pub(crate) async fn execute(&self, stmt: Statement) -> Result<u64> {
        let span = self.write_span(&stmt.sql, 1);
        self.execute_once(stmt).instrument(span).await
    }

    async fn execute_once(&self, stmt: Statement) -> Result<u64> {
        let result = match &self.pool {
            Pool::Sqlite(pool, writes) => {
                let _one_writer = writes.lock().await;
                sqlite::execute(pool, stmt).await
            }
            Pool::Postgres(pool) => postgres::execute(pool, stmt).await,
        };
        result.map_err(|e| from_sqlx(&self.name, e))
    }

    /// Runs a schema change (`CREATE TABLE IF NOT EXISTS`, `ALTER TABLE`). On PostgreSQL,
    /// schema changes from every process on the database take turns on one advisory lock:
    /// two servers creating the same table at the same moment would otherwise collide in
    /// the catalog (a unique violation on `pg_type`, `IF NOT EXISTS` notwithstanding).
    pub(crate) async fn change_schema(&self, stmt: Statement) -> Result<()> {
        let result = match &self.pool {
            Pool::Sqlite(pool, writes) => {
                let _one_writer = writes.lock().await;
                sqlite::execute(pool, stmt).await.map(|_| ())
            }
            Pool::Postgres(pool) => postgres::change_schema(pool, stmt).await,
        };
        result.map_err(|e| from_sqlx(&self.name, e))
    }

    /// Runs all statements in one transaction: all of them take effect or none does.
    pub(crate) async fn execute_in_transaction(&self, stmts: Vec<Statement>) -> Result<u64> {
        let span = stmts.first().map_or_else(Span::none, |first| self.write_span(&first.sql, stmts.len()));
        self.transaction(stmts).instrument(span).await
    }

    async fn transaction(&self, stmts: Vec<Statement>) -> Result<u64> {
        let result = match &self.pool {
            Pool::Sqlite(pool, writes) => {
                let _one_writer = writes.lock().await;
                sqlite::execute_in_transaction(pool, stmts).await
            }
            Pool::Postgres(pool) => postgres::execute_in_transaction(pool, stmts).await,
        };
        result.map_err(|e| from_sqlx(&self.name, e))
    }

    /// Runs a query whose selected columns have the given types, in order.
    pub(crate) async fn fetch(
        &self,
        stmt: Statement,
        types: &[ColumnType],
    ) -> Result<Vec<Vec<Value>>> {
        let result = match &self.pool {
            Pool::Sqlite(pool, _) => sqlite::fetch(pool, stmt, types).await,
            Pool::Postgres(pool) => postgres::fetch(pool, stmt, types).await,
        };
        result.map_err(|e| from_sqlx(&self.name, e))
    }

    /// Runs a statement that writes and returns rows (`... RETURNING`), as [`Db::execute`] does
    /// for SQLite's one writer.
    pub(crate) async fn fetch_written(&self, stmt: Statement, types: &[ColumnType]) -> Result<Vec<Vec<Value>>> {
        let span = self.write_span(&stmt.sql, 1);
        self.fetch_written_once(stmt, types).instrument(span).await
    }

    async fn fetch_written_once(&self, stmt: Statement, types: &[ColumnType]) -> Result<Vec<Vec<Value>>> {
        let result = match &self.pool {
            Pool::Sqlite(pool, writes) => {
                let _one_writer = writes.lock().await;
                sqlite::fetch(pool, stmt, types).await
            }
            Pool::Postgres(pool) => postgres::fetch(pool, stmt, types).await,
        };
        result.map_err(|e| from_sqlx(&self.name, e))
    }

    /// Closes every connection (SQLite checkpoints its WAL on the last close).
    pub(crate) async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool, _) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// The operation and table of a write, from its SQL (`INSERT INTO t`, `UPDATE t`, `DELETE FROM t`).
fn operation_and_table(sql: &str) -> (&str, &str) {
    let mut words = sql.split_whitespace();
    let op = words.next().unwrap_or("");
    let table = match op.to_ascii_uppercase().as_str() {
        "INSERT" | "DELETE" => words.nth(1),
        "UPDATE" => words.next(),
        _ => None,
    };
    (op, table.map_or("", |t| t.trim_matches('"').split('(').next().unwrap_or("").trim_matches('"')))
}

impl Db {
    /// A client span for a write of `statements` statements, the first being `sql`, while
    /// traces are exported: `{operation} {table}` with `db.system.name`, `db.operation.name`,
    /// `db.collection.name` and `db.namespace` (the backend's name).
    fn write_span(&self, sql: &str, statements: usize) -> Span {
        lls_telemetry::span_if_exporting(|| {
            let (op, table) = operation_and_table(sql);
            let system = match self.dialect() {
                Dialect::Sqlite => "sqlite",
                Dialect::Postgres => "postgresql",
            };
            tracing::info_span!(
                "store_write",
                otel.name = %format!("{op} {table}").trim_end(),
                otel.kind = "client",
                db.system.name = system,
                db.operation.name = op,
                db.collection.name = table,
                db.namespace = %self.name,
                db.statements = statements,
            )
        })
    }
}

#[cfg(test)]
mod span_tests {
    use super::operation_and_table;

    #[test]
    fn writes_are_named_by_operation_and_table() {
        assert_eq!(operation_and_table("INSERT INTO \"kv_store\" (\"key\") VALUES ($1)"), ("INSERT", "kv_store"));
        assert_eq!(operation_and_table("INSERT INTO inference_store(\"id\") VALUES (?)"), ("INSERT", "inference_store"));
        assert_eq!(operation_and_table("UPDATE \"files\" SET \"a\" = $1"), ("UPDATE", "files"));
        assert_eq!(operation_and_table("DELETE FROM kv WHERE 1"), ("DELETE", "kv"));
        assert_eq!(operation_and_table("CREATE TABLE IF NOT EXISTS x"), ("CREATE", ""));
    }
}
