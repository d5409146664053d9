//! Builds a fresh [`Stores`] per test: SQLite in a temp dir, or PostgreSQL at
//! `LLS_TEST_POSTGRES_URL` with table names unique to the test.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lls_api_common::store::{KvStore, KvStoreRef, SqlStore, StoreResolver};
use lls_storage::{BackendSpec, Stores};
use tempfile::TempDir;

pub const POSTGRES_ENV: &str = "LLS_TEST_POSTGRES_URL";

pub struct Harness {
    pub stores: Stores,
    suffix: String,
    _dir: Option<TempDir>,
}

impl Harness {
    pub async fn sqlite() -> Option<Harness> {
        let dir = tempfile::tempdir().unwrap();
        let stores = Stores::new([
            (
                "kv".to_owned(),
                BackendSpec::SqliteKv {
                    path: dir.path().join("kv.db"),
                },
            ),
            (
                "sql".to_owned(),
                BackendSpec::SqliteSql {
                    path: dir.path().join("sql.db"),
                },
            ),
        ])
        .unwrap();
        Some(Harness {
            stores,
            suffix: String::new(),
            _dir: Some(dir),
        })
    }

    /// `None` (with a note) when the env var is unset; when it is set the test must connect.
    pub async fn postgres() -> Option<Harness> {
        let Some(url) = postgres_url() else {
            eprintln!("skipping: {POSTGRES_ENV} is not set (scripts/postgres.sh start prints one)");
            return None;
        };
        let suffix = unique_suffix();
        let stores = Stores::new([
            (
                "kv".to_owned(),
                BackendSpec::PostgresKv {
                    url: url.clone(),
                    table: Some(format!("kv{suffix}")),
                },
            ),
            ("sql".to_owned(), BackendSpec::PostgresSql { url }),
        ])
        .unwrap();
        Some(Harness {
            stores,
            suffix,
            _dir: None,
        })
    }

    pub async fn kv(&self, namespace: &str) -> Arc<dyn KvStore> {
        let reference = KvStoreRef {
            backend: "kv".into(),
            namespace: namespace.into(),
        };
        self.stores.kv(&reference).await.expect("kv store")
    }

    pub async fn sql(&self) -> Arc<dyn SqlStore> {
        self.stores.sql("sql").await.expect("sql store")
    }

    /// A table name no other test (or earlier run against the same database) uses.
    pub fn table(&self, base: &str) -> String {
        let base: String = base.chars().take(30).collect();
        format!("{base}{}", self.suffix)
    }

    /// Writer tasks for queue tests. Several even on SQLite (where `Stores::queued_writer` would
    /// give one), to show its writes serialize without busy errors.
    pub fn writers(&self) -> usize {
        4
    }
}

pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000_000)
        .unwrap_or_default();
    format!(
        "_{}_{nanos}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
