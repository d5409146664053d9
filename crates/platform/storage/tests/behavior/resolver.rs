//! `Stores` as a `StoreResolver`: lookups, errors that name the backend, sharing, and SQLite
//! file handling. These run on SQLite (and a refused loopback port) only.

use std::sync::Arc;

use lls_api_common::ErrorKind;
use lls_api_common::store::{
    Column, ColumnType, Filter, KvStoreRef, QueuedSqlStoreRef, StoreResolver,
};
use lls_storage::{BackendSpec, Stores};
use serde_json::json;

use crate::harness::{Harness, postgres_url};
use crate::suite::row;

fn kv_ref(backend: &str, namespace: &str) -> KvStoreRef {
    KvStoreRef {
        backend: backend.into(),
        namespace: namespace.into(),
    }
}

#[tokio::test]
async fn unknown_backend_and_wrong_family_are_invalid() {
    let h = Harness::sqlite("resolver").await.unwrap();
    let err = h.stores.kv(&kv_ref("kv_nope", "x")).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert!(
        err.message().contains("'kv_nope'") && err.message().contains("kv, sql"),
        "{err}"
    );
    let err = h.stores.sql("sql_nope").await.err().unwrap();
    assert!(err.message().contains("'sql_nope'"), "{err}");

    let err = h.stores.kv(&kv_ref("sql", "x")).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert!(err.message().contains("'sql' is a sql backend"), "{err}");
    let err = h.stores.sql("kv").await.err().unwrap();
    assert!(err.message().contains("'kv' is a kv backend"), "{err}");
}

#[tokio::test]
async fn stores_are_shared() {
    let h = Harness::sqlite("resolver").await.unwrap();
    let a = h.stores.kv(&kv_ref("kv", "registry")).await.unwrap();
    let b = h.stores.kv(&kv_ref("kv", "registry")).await.unwrap();
    let c = h.stores.kv(&kv_ref("kv", "other")).await.unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert!(!Arc::ptr_eq(&a, &c));
    assert!(Arc::ptr_eq(
        &h.stores.sql("sql").await.unwrap(),
        &h.stores.sql("sql").await.unwrap()
    ));
    // One schema registry per backend: a table created through one handle is known to the other.
    let columns = [Column::primary_key("id", ColumnType::Text)];
    h.stores
        .sql("sql")
        .await
        .unwrap()
        .create_table("t", &columns)
        .await
        .unwrap();
    h.stores
        .sql("sql")
        .await
        .unwrap()
        .insert("t", &[row(json!({"id": "x"}))])
        .await
        .unwrap();
}

#[tokio::test]
async fn sqlite_files_are_created_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/er/kv.db");
    let spec = || {
        [(
            "kv".to_owned(),
            BackendSpec::SqliteKv { path: path.clone() },
        )]
    };
    let stores = Stores::new(spec()).unwrap();
    let kv = stores.kv(&kv_ref("kv", "ns")).await.unwrap();
    kv.set("k", "v", None).await.unwrap();
    assert!(path.exists());
    assert!(dir.path().join("deep/er/kv.db-wal").exists(), "WAL mode");
    drop(kv);
    stores.close().await;

    let reopened = Stores::new(spec()).unwrap();
    let kv = reopened.kv(&kv_ref("kv", "ns")).await.unwrap();
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some("v"));
}

#[tokio::test]
async fn in_memory_stores_work() {
    let stores = Stores::in_memory();
    let kv = stores.kv(&kv_ref("kv_default", "ns")).await.unwrap();
    kv.set("k", "v", None).await.unwrap();
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some("v"));
    let sql = stores.sql("sql_default").await.unwrap();
    sql.create_table("t", &[Column::primary_key("id", ColumnType::Integer)])
        .await
        .unwrap();
    sql.insert("t", &[row(json!({"id": 7}))]).await.unwrap();
    assert_eq!(
        sql.fetch_one("t", &Filter::eq("id", 7))
            .await
            .unwrap()
            .unwrap()["id"],
        7
    );
}

#[tokio::test]
async fn queued_writer_from_stores() {
    let h = Harness::sqlite("resolver").await.unwrap();
    let sql = h.stores.sql("sql").await.unwrap();
    sql.create_table("log", &[Column::primary_key("id", ColumnType::Integer)])
        .await
        .unwrap();
    let reference = QueuedSqlStoreRef {
        backend: "sql".into(),
        table_name: "log".into(),
        max_write_queue_size: 100,
        num_writers: 8,
    };
    let writer = h.stores.queued_writer(&reference).await.unwrap();
    for i in 0..50 {
        writer.submit(row(json!({"id": i})));
    }
    writer.flush().await;
    assert!(
        sql.fetch_one("log", &Filter::eq("id", 49))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(writer.dropped(), 0);
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable_and_named() {
    // Port 1 on loopback: nothing listens, so the connection is refused at once.
    let spec = BackendSpec::PostgresSql {
        url: "postgres://postgres@127.0.0.1:1/llamastack".into(),
    };
    let stores = Stores::new([("sql_down".to_owned(), spec)]).unwrap();
    let err = stores.sql("sql_down").await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable, "{err}");
    assert!(err.message().contains("'sql_down'"), "{err}");
    assert!(err.is_retryable());
}

/// With the env var set, the PostgreSQL half of the suite must really reach the server.
#[tokio::test]
async fn postgres_env_reaches_a_server() {
    let Some(url) = postgres_url("resolver::postgres_env_reaches_a_server") else {
        return;
    };
    let stores = Stores::new([("sql".to_owned(), BackendSpec::PostgresSql { url })]).unwrap();
    stores
        .sql("sql")
        .await
        .expect("the PostgreSQL at LLS_TEST_POSTGRES_URL answers");
}
