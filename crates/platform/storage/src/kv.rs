//! The key-value store over one SQL table (`key`, `value`, `expiration` in unix seconds).
//! Namespaces share the table: each store prefixes its keys with `"{namespace}:"`.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::store::{ColumnType, KvStore};
use lls_api_common::{Error, Result, unix_now};
use serde_json::Value;

use crate::db::Db;
use crate::dialect::{Dialect, Param, StatementBuilder, quote_ident};

/// The SQLite kv table's name (fixed, as upstream's).
pub const SQLITE_KV_TABLE: &str = "kvstore";
/// The default PostgreSQL kv table name (upstream's `table_name` default).
pub const POSTGRES_KV_TABLE: &str = "llamastack_kvstore";

/// One kv table in one backend, created on open; shared by the namespaces stored in it.
pub(crate) struct KvTable {
    db: Arc<Db>,
    /// Already validated and quoted.
    table: String,
}

impl KvTable {
    pub(crate) async fn open(db: Arc<Db>, table: &str) -> Result<Arc<Self>> {
        let table = quote_ident(table)?;
        let key_type = match db.dialect() {
            Dialect::Sqlite => "TEXT",
            Dialect::Postgres => "TEXT COLLATE \"C\"",
        };
        let expiration_type = db.dialect().type_name(ColumnType::Integer);
        let mut b = StatementBuilder::new(db.dialect());
        b.sql(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (\"key\" {key_type} PRIMARY KEY, \"value\" TEXT, \"expiration\" {expiration_type})"
        ));
        db.change_schema(b.build()).await?;
        Ok(Arc::new(KvTable { db, table }))
    }
}

/// A namespaced view of a [`KvTable`].
pub(crate) struct SqlKvStore {
    table: Arc<KvTable>,
    prefix: String,
}

impl SqlKvStore {
    /// An empty namespace means no prefix: the whole table.
    pub(crate) fn new(table: Arc<KvTable>, namespace: &str) -> Self {
        let prefix = if namespace.is_empty() {
            String::new()
        } else {
            format!("{namespace}:")
        };
        SqlKvStore { table, prefix }
    }

    fn key(&self, key: &str) -> Param {
        Param::Text(format!("{}{key}", self.prefix))
    }

    fn builder(&self) -> StatementBuilder {
        StatementBuilder::new(self.table.db.dialect())
    }

    /// `SELECT {column} ... WHERE key in [start, end] and not expired ORDER BY key`.
    async fn range(&self, column: &str, start: &str, end: &str) -> Result<Vec<String>> {
        let collate = self.table.db.dialect().bytewise_collation();
        let mut b = self.builder();
        b.sql(&format!("SELECT {column} FROM {}", self.table.table));
        b.and_where()
            .sql(&format!("\"key\"{collate} >= "))
            .param(self.key(start));
        b.and_where()
            .sql(&format!("\"key\"{collate} <= "))
            .param(self.key(end));
        b.and_where()
            .sql("(\"expiration\" IS NULL OR \"expiration\" > ")
            .param(Param::Int(unix_now()))
            .sql(")");
        b.sql(&format!(" ORDER BY \"key\"{collate}"));
        let rows = self.table.db.fetch(b.build(), &[ColumnType::Text]).await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| row.into_iter().next().and_then(into_string))
            .collect())
    }
}

fn into_string(value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

#[async_trait]
impl KvStore for SqlKvStore {
    async fn get(&self, key: &str) -> Result<Option<String>> {
        let mut b = self.builder();
        b.sql(&format!("SELECT \"value\" FROM {}", self.table.table));
        b.and_where().sql("\"key\" = ").param(self.key(key));
        b.and_where()
            .sql("(\"expiration\" IS NULL OR \"expiration\" > ")
            .param(Param::Int(unix_now()))
            .sql(")");
        let rows = self.table.db.fetch(b.build(), &[ColumnType::Text]).await?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next())
            .and_then(into_string))
    }

    async fn set(&self, key: &str, value: &str, expires_at: Option<i64>) -> Result<()> {
        let mut b = self.builder();
        b.sql(&format!(
            "INSERT INTO {} (\"key\", \"value\", \"expiration\") VALUES (",
            self.table.table
        ));
        b.param(self.key(key))
            .sql(", ")
            .param(Param::Text(value.to_owned()))
            .sql(", ");
        b.param(expires_at.map_or(Param::Null(ColumnType::Integer), Param::Int));
        b.sql(") ON CONFLICT (\"key\") DO UPDATE SET \"value\" = excluded.\"value\", \"expiration\" = excluded.\"expiration\"");
        self.table.db.execute(b.build()).await.map(|_| ())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let mut b = self.builder();
        b.sql(&format!("DELETE FROM {}", self.table.table));
        b.and_where().sql("\"key\" = ").param(self.key(key));
        self.table.db.execute(b.build()).await.map(|_| ())
    }

    async fn incr(&self, key: &str, by: i64, expires_at: Option<i64>) -> Result<i64> {
        let table = &self.table.table;
        let integer = self.table.db.dialect().type_name(ColumnType::Integer);
        let now = unix_now();
        // One upsert: the database serializes concurrent increments of a key. An expired row
        // starts again from `by` with the new expiry.
        let expired = format!("{table}.\"expiration\" IS NOT NULL AND {table}.\"expiration\" <= ");
        let mut b = self.builder();
        b.sql(&format!("INSERT INTO {table} (\"key\", \"value\", \"expiration\") VALUES ("));
        b.param(self.key(key)).sql(", ").param(Param::Text(by.to_string())).sql(", ");
        b.param(expires_at.map_or(Param::Null(ColumnType::Integer), Param::Int));
        b.sql(") ON CONFLICT (\"key\") DO UPDATE SET \"value\" = CASE WHEN ");
        b.sql(&expired).param(Param::Int(now));
        b.sql(&format!(" THEN excluded.\"value\" ELSE CAST(CAST({table}.\"value\" AS {integer}) + "));
        b.param(Param::Int(by));
        b.sql(" AS TEXT) END, \"expiration\" = CASE WHEN ").sql(&expired).param(Param::Int(now));
        b.sql(&format!(" THEN excluded.\"expiration\" ELSE {table}.\"expiration\" END"));
        // SQLite's CAST reads a word as 0: leave a value that is not an integer alone (no row
        // comes back). PostgreSQL's CAST fails on it instead.
        b.sql(" WHERE ").sql(&expired).param(Param::Int(now));
        b.sql(&format!(" OR CAST(CAST({table}.\"value\" AS {integer}) AS TEXT) = {table}.\"value\" RETURNING \"value\""));
        let rows = self.table.db.fetch_written(b.build(), &[ColumnType::Text]).await?;
        let value = rows.into_iter().next().and_then(|row| row.into_iter().next()).and_then(into_string);
        value
            .as_deref()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .ok_or_else(|| Error::internal(format!("kv key '{key}' does not hold an integer after increment: {value:?}")))
    }

    async fn values_in_range(&self, start: &str, end: &str) -> Result<Vec<String>> {
        self.range("\"value\"", start, end).await
    }

    async fn keys_in_range(&self, start: &str, end: &str) -> Result<Vec<String>> {
        let keys = self.range("\"key\"", start, end).await?;
        keys.into_iter()
            .map(|key| match key.strip_prefix(&self.prefix) {
                Some(rest) => Ok(rest.to_owned()),
                None => Err(Error::internal(format!(
                    "kv key '{key}' lies outside namespace '{}'",
                    self.prefix
                ))),
            })
            .collect()
    }
}
