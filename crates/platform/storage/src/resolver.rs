//! [`Stores`]: the named storage backends of a run.yaml, connected lazily (one pool per backend,
//! shared by every store on it) and handed out as kv stores, SQL stores and queued writers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::store::{KvStore, KvStoreRef, QueuedSqlStoreRef, SqlStore, StoreResolver};
use lls_api_common::{Error, Result};
use tokio::sync::{Mutex, OnceCell};

use crate::address::redact_url;
use crate::db::Db;
use crate::dialect::quote_ident;
use crate::kv::{KvTable, POSTGRES_KV_TABLE, SQLITE_KV_TABLE, SqlKvStore};
use crate::queue::QueuedWriter;
use crate::sql::SqlTableStore;
use crate::sqlite;

/// Where one named backend lives. The config crate maps run.yaml's `kv_*`/`sql_*` backends here
/// ([`PostgresAddress`](crate::PostgresAddress) builds the URL). Debug output hides passwords.
#[derive(Clone, PartialEq, Eq)]
pub enum BackendSpec {
    /// A kv backend in a SQLite file (`~` expanded, parent directories created; `:memory:` works).
    SqliteKv { path: PathBuf },
    /// A kv backend in a PostgreSQL table (default `llamastack_kvstore`).
    PostgresKv { url: String, table: Option<String> },
    /// A SQL backend in a SQLite file.
    SqliteSql { path: PathBuf },
    /// A SQL backend in a PostgreSQL database.
    PostgresSql { url: String },
}

impl std::fmt::Debug for BackendSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendSpec::SqliteKv { path } => {
                f.debug_struct("SqliteKv").field("path", path).finish()
            }
            BackendSpec::SqliteSql { path } => {
                f.debug_struct("SqliteSql").field("path", path).finish()
            }
            BackendSpec::PostgresKv { url, table } => f
                .debug_struct("PostgresKv")
                .field("url", &redact_url(url))
                .field("table", table)
                .finish(),
            BackendSpec::PostgresSql { url } => f
                .debug_struct("PostgresSql")
                .field("url", &redact_url(url))
                .finish(),
        }
    }
}

impl BackendSpec {
    fn is_kv(&self) -> bool {
        matches!(
            self,
            BackendSpec::SqliteKv { .. } | BackendSpec::PostgresKv { .. }
        )
    }

    fn is_sqlite(&self) -> bool {
        matches!(
            self,
            BackendSpec::SqliteKv { .. } | BackendSpec::SqliteSql { .. }
        )
    }

    fn kv_table(&self) -> &str {
        match self {
            BackendSpec::PostgresKv {
                table: Some(table), ..
            } => table,
            BackendSpec::PostgresKv { table: None, .. } => POSTGRES_KV_TABLE,
            _ => SQLITE_KV_TABLE,
        }
    }

    /// Checks what can be checked without I/O: the table name and the URL's syntax.
    fn validate(&self, name: &str) -> Result<()> {
        match self {
            BackendSpec::PostgresKv { url, .. } | BackendSpec::PostgresSql { url } => {
                lls_sql::postgres::connect_options(url).map_err(|e| {
                    Error::invalid(format!("storage backend '{name}': bad PostgreSQL URL: {e}"))
                })?;
            }
            BackendSpec::SqliteKv { .. } | BackendSpec::SqliteSql { .. } => {}
        }
        if self.is_kv() {
            quote_ident(self.kv_table()).map_err(|e| {
                Error::invalid(format!("storage backend '{name}': {}", e.message()))
            })?;
        }
        Ok(())
    }

    async fn connect(&self, name: &str) -> Result<Db> {
        match self {
            BackendSpec::SqliteKv { path } | BackendSpec::SqliteSql { path } => {
                Db::sqlite(name, path).await
            }
            BackendSpec::PostgresKv { url, .. } | BackendSpec::PostgresSql { url } => {
                Db::postgres(name, url).await
            }
        }
    }
}

/// One backend: its spec and what has been built on it so far.
struct Backend {
    spec: BackendSpec,
    db: OnceCell<Arc<Db>>,
    kv_table: OnceCell<Arc<KvTable>>,
    sql: OnceCell<Arc<SqlTableStore>>,
    kv_stores: Mutex<HashMap<String, Arc<dyn KvStore>>>,
}

impl Backend {
    fn new(spec: BackendSpec) -> Self {
        Backend {
            spec,
            db: OnceCell::new(),
            kv_table: OnceCell::new(),
            sql: OnceCell::new(),
            kv_stores: Mutex::new(HashMap::new()),
        }
    }
}

/// The storage backends of one stack, by name. Implements [`StoreResolver`].
pub struct Stores {
    backends: HashMap<String, Backend>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.backends.keys().collect();
        names.sort();
        f.debug_struct("Stores").field("backends", &names).finish()
    }
}

impl Stores {
    /// Validates the specs (no I/O); nothing connects until a store is asked for.
    pub fn new(specs: impl IntoIterator<Item = (String, BackendSpec)>) -> Result<Self> {
        let mut backends = HashMap::new();
        for (name, spec) in specs {
            spec.validate(&name)?;
            backends.insert(name, Backend::new(spec));
        }
        Ok(Stores { backends })
    }

    /// In-memory SQLite backends named `kv_default` and `sql_default`, for tests elsewhere.
    pub fn in_memory() -> Self {
        let memory = PathBuf::from(sqlite::IN_MEMORY);
        let backends = HashMap::from([
            (
                "kv_default".to_owned(),
                Backend::new(BackendSpec::SqliteKv {
                    path: memory.clone(),
                }),
            ),
            (
                "sql_default".to_owned(),
                Backend::new(BackendSpec::SqliteSql { path: memory }),
            ),
        ]);
        Stores { backends }
    }

    fn backend(&self, name: &str, want_kv: bool) -> Result<&Backend> {
        let family = if want_kv { "kv" } else { "sql" };
        let Some(backend) = self.backends.get(name) else {
            let mut known: Vec<&str> = self.backends.keys().map(String::as_str).collect();
            known.sort_unstable();
            return Err(Error::invalid(format!(
                "unknown storage backend '{name}' (a {family} store was asked for); configured backends: [{}]",
                known.join(", ")
            )));
        };
        if backend.spec.is_kv() != want_kv {
            let other = if want_kv { "sql" } else { "kv" };
            return Err(Error::invalid(format!(
                "storage backend '{name}' is a {other} backend, but a {family} store was asked for"
            )));
        }
        Ok(backend)
    }

    async fn db(name: &str, backend: &Backend) -> Result<Arc<Db>> {
        let db = backend
            .db
            .get_or_try_init(|| async { backend.spec.connect(name).await.map(Arc::new) })
            .await?;
        Ok(db.clone())
    }

    /// A background writer into `reference.table_name` (the table must have been created).
    /// SQLite gets one writer whatever `num_writers` says: more would only fight over its lock.
    pub async fn queued_writer(&self, reference: &QueuedSqlStoreRef) -> Result<QueuedWriter> {
        let backend = self.backend(&reference.backend, false)?;
        let writers = if backend.spec.is_sqlite() {
            1
        } else {
            reference.num_writers
        };
        let store = self.sql(&reference.backend).await?;
        Ok(QueuedWriter::spawn(
            store,
            &reference.table_name,
            reference.max_write_queue_size,
            writers,
        ))
    }

    /// Closes every pool opened so far (at shutdown, after queued writers are flushed).
    pub async fn close(&self) {
        for backend in self.backends.values() {
            if let Some(db) = backend.db.get() {
                db.close().await;
            }
        }
    }
}

#[async_trait]
impl StoreResolver for Stores {
    async fn kv(&self, reference: &KvStoreRef) -> Result<Arc<dyn KvStore>> {
        let backend = self.backend(&reference.backend, true)?;
        let mut stores = backend.kv_stores.lock().await;
        if let Some(store) = stores.get(&reference.namespace) {
            return Ok(store.clone());
        }
        let db = Self::db(&reference.backend, backend).await?;
        let table = backend
            .kv_table
            .get_or_try_init(|| KvTable::open(db, backend.spec.kv_table()))
            .await?;
        let store: Arc<dyn KvStore> =
            Arc::new(SqlKvStore::new(table.clone(), &reference.namespace));
        stores.insert(reference.namespace.clone(), store.clone());
        Ok(store)
    }

    async fn sql(&self, name: &str) -> Result<Arc<dyn SqlStore>> {
        let backend = self.backend(name, false)?;
        let db = Self::db(name, backend).await?;
        let store = backend
            .sql
            .get_or_init(|| async { Arc::new(SqlTableStore::new(db)) })
            .await;
        Ok(store.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::ErrorKind;

    #[test]
    fn bad_specs_fail_without_io() {
        let bad_table = BackendSpec::PostgresKv {
            url: "postgres://u@h/db".into(),
            table: Some("x;y".into()),
        };
        let err = Stores::new([("kv_pg".to_owned(), bad_table)]).err();
        assert_eq!(
            err.as_ref().map(|e| e.kind()),
            Some(ErrorKind::InvalidRequest)
        );
        assert!(err.is_some_and(|e| e.message().contains("kv_pg")));
        let spec = BackendSpec::PostgresKv {
            url: "postgres://u:hunter2@h/db".into(),
            table: None,
        };
        assert!(!format!("{spec:?}").contains("hunter2"));
        let bad_url = BackendSpec::PostgresSql {
            url: "mysql://nope".into(),
        };
        assert!(Stores::new([("sql_pg".to_owned(), bad_url)]).is_err());
        let bad_port = BackendSpec::PostgresSql {
            url: "postgres://u@h:port/db".into(),
        };
        assert!(Stores::new([("sql_pg".to_owned(), bad_port)]).is_err());
    }
}
