//! Builds a fresh [`Stores`] per test: SQLite in a temp dir, or PostgreSQL at
//! `LLS_TEST_POSTGRES_URL` with table names unique to the test. Without the URL a PostgreSQL
//! test fails, unless `LLS_TEST_NO_POSTGRES=1` opts out (and each test then says it did not run).

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lls_api_common::store::{KvStore, KvStoreRef, SqlStore, StoreResolver};
use lls_storage::{BackendSpec, Stores};
use tempfile::TempDir;

pub const POSTGRES_ENV: &str = "LLS_TEST_POSTGRES_URL";
/// Set to `1` to run without PostgreSQL: its tests pass without running, each saying so.
pub const NO_POSTGRES_ENV: &str = "LLS_TEST_NO_POSTGRES";

pub struct Harness {
    pub stores: Stores,
    suffix: String,
    _dir: Option<TempDir>,
}

impl Harness {
    pub async fn sqlite(_test: &str) -> Option<Harness> {
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

    /// The PostgreSQL at [`POSTGRES_ENV`] (see [`postgres_url`]); `None` only when opted out.
    pub async fn postgres(test: &str) -> Option<Harness> {
        let url = postgres_url(test)?;
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

/// The URL in [`POSTGRES_ENV`]. Without it, panics with how to get one, unless
/// [`NO_POSTGRES_ENV`]` = 1`: then `None`, after a "NOT RUN" line for `test` on the process's
/// stderr (written past the test harness's output capture, so it shows in every run).
#[allow(clippy::panic)] // called from tests: failing the test is the point
pub fn postgres_url(test: &str) -> Option<String> {
    let url = std::env::var(POSTGRES_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty());
    if url.is_some() {
        return url;
    }
    if std::env::var(NO_POSTGRES_ENV).is_ok_and(|v| v == "1") {
        let _ = writeln!(
            std::io::stderr(),
            "NOT RUN: lls-storage {test}: {NO_POSTGRES_ENV}=1 ({POSTGRES_ENV} missing)"
        );
        return None;
    }
    panic!(
        "{test} needs PostgreSQL: set {POSTGRES_ENV} (`export {POSTGRES_ENV}=$(scripts/postgres.sh start)`), \
         or set {NO_POSTGRES_ENV}=1 to not run the PostgreSQL tests"
    );
}

pub fn unique_suffix() -> String {
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
