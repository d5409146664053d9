//! Background writer scenarios: everything lands after `flush`, a full queue drops (and counts)
//! instead of blocking, and one bad row does not cost the rest of its batch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use lls_api_common::Result;
use lls_api_common::store::{Column, ColumnType, Filter, Order, Page, PageQuery, Row, SqlStore};
use lls_storage::QueuedWriter;
use serde_json::json;
use tokio::sync::{Notify, Semaphore};

use super::row;

fn columns() -> [Column; 3] {
    [
        Column::primary_key("id", ColumnType::Text),
        Column::new("created", ColumnType::Integer),
        Column::new("body", ColumnType::Json),
    ]
}

fn item(i: usize) -> Row {
    row(json!({"id": format!("r{i:05}"), "created": i, "body": {"i": i}}))
}

async fn count(store: &dyn SqlStore, table: &str) -> usize {
    let query = PageQuery {
        filter: Filter::all(),
        order_by: "created".into(),
        order: Order::Asc,
        id_column: "id".into(),
        after: None,
        limit: None,
    };
    store.fetch_page(table, &query).await.unwrap().rows.len()
}

pub async fn queue_flush_writes_everything(store: Arc<dyn SqlStore>, table: &str, writers: usize) {
    store.create_table(table, &columns()).await.unwrap();
    let writer = QueuedWriter::spawn(store.clone(), table, 10_000, writers);
    let submitters: Vec<_> = (0..4)
        .map(|t| {
            let writer = writer.clone();
            tokio::spawn(async move {
                for i in (t * 250)..((t + 1) * 250) {
                    writer.submit(item(i));
                }
            })
        })
        .collect();
    for s in submitters {
        s.await.unwrap();
    }
    writer.flush().await;
    assert_eq!(count(&*store, table).await, 1000);
    assert_eq!((writer.dropped(), writer.failed()), (0, 0));
    let last = store
        .fetch_one(table, &Filter::eq("id", "r00999"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last["body"], json!({"i": 999}));
    // A flush with nothing queued returns at once; later rows need a later flush.
    writer.flush().await;
    writer.submit(item(1000));
    writer.flush().await;
    assert_eq!(count(&*store, table).await, 1001);
}

/// An upserting writer: a key submitted again replaces its row, within a batch and across
/// batches, and nothing is counted as failed.
pub async fn queue_upsert_replaces_repeated_keys(store: Arc<dyn SqlStore>, table: &str, writers: usize) {
    store.create_table(table, &columns()).await.unwrap();
    let writer = QueuedWriter::spawn_upsert(store.clone(), table, &["id"], 10_000, writers);
    for i in 0..400 {
        writer.submit(item(i % 200));
    }
    writer.flush().await;
    writer.submit(row(json!({"id": "r00007", "created": 7, "body": {"again": true}})));
    writer.flush().await;
    assert_eq!(count(&*store, table).await, 200);
    assert_eq!((writer.dropped(), writer.failed()), (0, 0));
    let again = store.fetch_one(table, &Filter::eq("id", "r00007")).await.unwrap().unwrap();
    assert_eq!(again["body"], json!({"again": true}));
}

pub async fn queue_drops_when_full_without_blocking(
    store: Arc<dyn SqlStore>,
    table: &str,
    _writers: usize,
) {
    store.create_table(table, &columns()).await.unwrap();
    let gated = Arc::new(GatedStore {
        inner: store.clone(),
        entered: Notify::new(),
        open: Semaphore::new(0),
    });
    let writer = QueuedWriter::spawn(gated.clone(), table, 4, 1);

    // The single writer takes row 0 and sticks inside insert, so the queue fills up.
    let entered = gated.entered.notified();
    writer.submit(item(0));
    tokio::time::timeout(Duration::from_secs(10), entered)
        .await
        .expect("writer reached the store");

    let started = Instant::now();
    for i in 1..=10 {
        writer.submit(item(i));
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "submit blocked for {:?}",
        started.elapsed()
    );
    assert_eq!(
        writer.dropped(),
        6,
        "4 rows fit in the queue, 6 are dropped"
    );

    gated.open.add_permits(1_000);
    tokio::time::timeout(Duration::from_secs(30), writer.flush())
        .await
        .expect("flush finished");
    assert_eq!(count(&*store, table).await, 5);
    assert_eq!((writer.dropped(), writer.failed()), (6, 0));
}

pub async fn queue_bad_row_does_not_sink_batch(
    store: Arc<dyn SqlStore>,
    table: &str,
    writers: usize,
) {
    store.create_table(table, &columns()).await.unwrap();
    store.insert(table, &[item(1)]).await.unwrap();
    let writer = QueuedWriter::spawn(store.clone(), table, 100, writers);
    for i in 0..5 {
        writer.submit(item(i)); // item 1 is a duplicate
    }
    writer.flush().await;
    assert_eq!(count(&*store, table).await, 5);
    assert_eq!((writer.dropped(), writer.failed()), (0, 1));
}

/// Passes everything through, but `insert` announces itself and then waits for a permit.
struct GatedStore {
    inner: Arc<dyn SqlStore>,
    entered: Notify,
    open: Semaphore,
}

#[async_trait]
impl SqlStore for GatedStore {
    async fn create_table(&self, table: &str, columns: &[Column]) -> Result<()> {
        self.inner.create_table(table, columns).await
    }
    async fn insert(&self, table: &str, rows: &[Row]) -> Result<()> {
        self.entered.notify_one();
        let _permit = self.open.acquire().await.unwrap();
        self.inner.insert(table, rows).await
    }
    async fn upsert(&self, table: &str, row: &Row, key_columns: &[&str]) -> Result<()> {
        self.inner.upsert(table, row, key_columns).await
    }
    async fn fetch_one(&self, table: &str, filter: &Filter) -> Result<Option<Row>> {
        self.inner.fetch_one(table, filter).await
    }
    async fn fetch_page(&self, table: &str, query: &PageQuery) -> Result<Page> {
        self.inner.fetch_page(table, query).await
    }
    async fn update(&self, table: &str, set: &Row, filter: &Filter) -> Result<u64> {
        self.inner.update(table, set, filter).await
    }
    async fn delete(&self, table: &str, filter: &Filter) -> Result<u64> {
        self.inner.delete(table, filter).await
    }
}
