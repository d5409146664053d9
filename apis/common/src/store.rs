//! Store contracts used by the registry, routers and providers: a key-value store and a small
//! SQL table store. `crates/storage` implements them over SQLite and PostgreSQL.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Result;

/// run.yaml's `{backend, namespace}`: a kv store inside a named `kv_*` backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KvStoreRef {
    pub backend: String,
    pub namespace: String,
}

/// run.yaml's `{backend, table_name}`: a table inside a named `sql_*` backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlStoreRef {
    pub backend: String,
    pub table_name: String,
}

/// A SQL store reference whose writes go through a background queue (inference and responses stores).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueuedSqlStoreRef {
    pub backend: String,
    pub table_name: String,
    #[serde(default = "default_queue_size")]
    pub max_write_queue_size: usize,
    #[serde(default = "default_writers")]
    pub num_writers: usize,
}

fn default_queue_size() -> usize {
    10_000
}

fn default_writers() -> usize {
    4
}

/// A namespaced key-value store. Keys sort lexicographically.
#[async_trait]
pub trait KvStore: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<String>>;
    /// Stores `value`; `expires_at` (unix seconds) makes it vanish after that time.
    async fn set(&self, key: &str, value: &str, expires_at: Option<i64>) -> Result<()>;
    async fn delete(&self, key: &str) -> Result<()>;
    /// Adds `by` to the integer stored at `key` and returns the new value, atomically (one
    /// statement: several servers sharing a database count correctly). A missing or expired key
    /// starts at `by` with `expires_at`; an existing key keeps its expiry. A value that is not
    /// an integer is an error.
    async fn incr(&self, key: &str, by: i64, expires_at: Option<i64>) -> Result<i64>;
    /// Values whose keys lie in `[start, end]`, in key order.
    async fn values_in_range(&self, start: &str, end: &str) -> Result<Vec<String>>;
    /// Keys in `[start, end]`, in order.
    async fn keys_in_range(&self, start: &str, end: &str) -> Result<Vec<String>>;
}

/// Column types a [`SqlStore`] table may have; JSON is stored as text and returned parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Integer,
    Float,
    Text,
    Boolean,
    Json,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub primary_key: bool,
    pub nullable: bool,
}

impl Column {
    pub const fn new(name: &'static str, ty: ColumnType) -> Self {
        Column {
            name,
            ty,
            primary_key: false,
            nullable: true,
        }
    }

    pub const fn primary_key(name: &'static str, ty: ColumnType) -> Self {
        Column {
            name,
            ty,
            primary_key: true,
            nullable: false,
        }
    }
}

/// One row: column name to value (JSON columns hold any JSON value).
pub type Row = Map<String, Value>;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    Asc,
    #[default]
    Desc,
}

impl Order {
    /// A list route's `order` query parameter: `asc`, or `desc` (also when absent); else a 400.
    pub fn from_query(order: Option<&str>) -> crate::Result<Order> {
        match order {
            None | Some("desc") => Ok(Order::Desc),
            Some("asc") => Ok(Order::Asc),
            Some(other) => Err(crate::Error::invalid(format!(
                "'order' must be 'asc' or 'desc', got '{other}'"
            ))
            .with_param("order")),
        }
    }
}

/// A list route's `limit` query parameter: `default` when absent, else 1..=`max` or a 400.
pub fn page_limit(limit: Option<i64>, default: usize, max: usize) -> crate::Result<usize> {
    match limit {
        None => Ok(default),
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                crate::Error::invalid(format!("'limit' must be between 1 and {max}, got {n}"))
                    .with_param("limit")
            }),
    }
}

/// Which rows a statement touches: equality conditions, all of which must hold, and, when
/// reading for an authenticated caller, the [`OwnerFilter`](crate::access::OwnerFilter) the
/// database applies to the table's [`OWNER_COLUMNS`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub eq: Vec<(String, Value)>,
    pub owner: Option<crate::access::OwnerFilter>,
}

impl Filter {
    pub fn all() -> Self {
        Filter::default()
    }

    pub fn eq(column: impl Into<String>, value: impl Into<Value>) -> Self {
        Filter {
            eq: vec![(column.into(), value.into())],
            owner: None,
        }
    }

    pub fn and(mut self, column: impl Into<String>, value: impl Into<Value>) -> Self {
        self.eq.push((column.into(), value.into()));
        self
    }

    /// Also only rows `owner` admits (`None`: no owner condition). The table must have the
    /// [`OWNER_COLUMNS`].
    pub fn owned(mut self, owner: Option<crate::access::OwnerFilter>) -> Self {
        self.owner = owner;
        self
    }
}

/// The columns a table whose rows have owners carries: `owner_principal` (text, `""` for rows
/// written without authentication) and `access_attributes` (JSON, `null` when the owner had
/// no attributes), as 0.3.5's `AuthorizedSqlStore` writes them.
pub const OWNER_COLUMNS: [Column; 2] = [
    Column::new("owner_principal", ColumnType::Text),
    Column::new("access_attributes", ColumnType::Json),
];

/// The values of the [`OWNER_COLUMNS`] for a row created for `owner` (`None`: authentication
/// off).
pub fn owner_columns(owner: Option<&crate::access::Owner>) -> [(&'static str, Value); 2] {
    match owner {
        Some(owner) => [
            ("owner_principal", Value::String(owner.principal.clone())),
            ("access_attributes", owner.access_attributes_column()),
        ],
        None => [
            ("owner_principal", Value::String(String::new())),
            ("access_attributes", Value::Null),
        ],
    }
}

/// The owner recorded in a row's [`OWNER_COLUMNS`] (rows of a table created before owners were
/// recorded read as unowned).
pub fn row_owner(row: &Row) -> crate::access::Owner {
    let principal = row.get("owner_principal").and_then(Value::as_str);
    crate::access::User::from_columns(
        principal,
        row.get("access_attributes").unwrap_or(&Value::Null),
    )
}

/// A page of rows: filtered, ordered by one column (ties broken by `id_column`),
/// starting after the row whose `id_column` equals `after`.
#[derive(Debug, Clone)]
pub struct PageQuery {
    pub filter: Filter,
    pub order_by: String,
    pub order: Order,
    pub id_column: String,
    pub after: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct Page {
    pub rows: Vec<Row>,
    pub has_more: bool,
}

/// A small table store: enough for the inference, files, responses and conversations stores.
#[async_trait]
pub trait SqlStore: Send + Sync {
    /// Creates the table if missing, and adds columns an older version of it lacks.
    async fn create_table(&self, table: &str, columns: &[Column]) -> Result<()>;
    /// Inserts rows in one transaction; a duplicate primary key is a `Conflict` error.
    async fn insert(&self, table: &str, rows: &[Row]) -> Result<()>;
    /// Inserts or, on a primary key clash, replaces the given columns.
    async fn upsert(&self, table: &str, row: &Row, key_columns: &[&str]) -> Result<()>;
    /// Upserts many rows at once (a batch of a queued writer); among rows with equal keys the
    /// last wins. The default upserts row by row; SQL backends write few statements per batch.
    async fn upsert_many(&self, table: &str, rows: &[Row], key_columns: &[&str]) -> Result<()> {
        for row in rows {
            self.upsert(table, row, key_columns).await?;
        }
        Ok(())
    }
    async fn fetch_one(&self, table: &str, filter: &Filter) -> Result<Option<Row>>;
    async fn fetch_page(&self, table: &str, query: &PageQuery) -> Result<Page>;
    /// Sets the given columns on every matching row; returns how many matched.
    async fn update(&self, table: &str, set: &Row, filter: &Filter) -> Result<u64>;
    async fn delete(&self, table: &str, filter: &Filter) -> Result<u64>;
}

/// Turns run.yaml references into live stores; the storage crate implements it.
#[async_trait]
pub trait StoreResolver: Send + Sync {
    async fn kv(&self, reference: &KvStoreRef) -> Result<Arc<dyn KvStore>>;
    /// The SQL store behind a named `sql_*` backend.
    async fn sql(&self, backend: &str) -> Result<Arc<dyn SqlStore>>;
}
