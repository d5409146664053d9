//! Backends for the tests: a fresh SQLite file, or the PostgreSQL at `LLS_TEST_POSTGRES_URL`
//! with a kv namespace of its own. Each gives two services on separate connections to the
//! same database, as two replicas have.

use std::sync::Arc;

use lls_api_common::store::{KvStore, KvStoreRef, StoreResolver};
use lls_service_prompts::KvPrompts;
use lls_storage::{BackendSpec, Stores};
use lls_testkit::Prerequisite;
use tempfile::TempDir;

pub const POSTGRES: Prerequisite = Prerequisite {
    what: "PostgreSQL (LLS_TEST_POSTGRES_URL)",
    how: "export LLS_TEST_POSTGRES_URL=$(scripts/postgres.sh start)",
    opt_out: "LLS_TEST_NO_POSTGRES",
};

/// Two services on one database, the raw kv store under them, and what keeps it alive.
pub struct Backend {
    pub service: KvPrompts,
    /// Another replica: its own `Stores`, hence its own connections.
    pub replica: KvPrompts,
    pub kv: Arc<dyn KvStore>,
    _dir: Option<TempDir>,
}

async fn open(spec: BackendSpec, namespace: &str) -> Arc<dyn KvStore> {
    let stores = Stores::new([("kv".to_owned(), spec)]).unwrap();
    stores
        .kv(&KvStoreRef {
            backend: "kv".into(),
            namespace: namespace.into(),
        })
        .await
        .unwrap()
}

async fn backend(spec: impl Fn() -> BackendSpec, namespace: &str, dir: Option<TempDir>) -> Backend {
    let kv = open(spec(), namespace).await;
    let replica = open(spec(), namespace).await;
    Backend {
        service: KvPrompts::new(kv.clone()),
        replica: KvPrompts::new(replica),
        kv,
        _dir: dir,
    }
}

pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.db");
    backend(
        || BackendSpec::SqliteKv { path: path.clone() },
        lls_service_prompts::NAMESPACE,
        Some(dir),
    )
    .await
}

/// `None` only when PostgreSQL is opted out (the test then says it did not run).
pub async fn postgres(test: &str) -> Option<Backend> {
    let url = std::env::var("LLS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let url = POSTGRES.require(test, url, "the prompts store is checked on PostgreSQL too")?;
    // Listings read the whole namespace: each test gets one of its own.
    let namespace = format!("prompts_test_{}", unique());
    Some(
        backend(
            || BackendSpec::PostgresKv {
                url: url.clone(),
                table: None,
            },
            &namespace,
            None,
        )
        .await,
    )
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000_000)
}

/// Runs an async scenario taking a [`Backend`] on SQLite and on PostgreSQL.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(crate::support::sqlite().await).await; })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() {
                if let Some(b) = crate::support::postgres(stringify!($name)).await { super::$name(b).await; }
            })*
        }
    };
}
pub(crate) use on_both;
