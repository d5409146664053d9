//! [`QueuedWriter`]: writes rows off the request path. `submit` never waits: rows go into a
//! bounded queue, and when it is full they are dropped and counted. Writer tasks insert (or
//! upsert) batches: a writer that finds fewer rows than a full batch waits up to [`LINGER`]
//! for more, so a steady trickle of requests costs one database round trip per batch rather
//! than one per row; a flush cuts the wait short. Queue depth, dropped and failed rows are
//! Prometheus metrics per table.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lls_api_common::ErrorKind;
use lls_api_common::store::{Row, SqlStore};
use tokio::sync::{Mutex, RwLock, mpsc, oneshot};

/// The most rows one writer inserts in one transaction.
pub const MAX_BATCH: usize = 256;
/// How long a writer holding a partial batch waits for more rows before writing it.
pub const LINGER: Duration = Duration::from_millis(5);
/// Drop warnings are logged at most this often.
const WARN_INTERVAL_MS: u64 = 1_000;
const NEVER: u64 = u64::MAX;

/// Rows waiting in a writer's queue, by `table`.
pub const QUEUE_DEPTH: &str = "llama_stack_store_queue_depth";
/// Rows dropped because a writer's queue was full, by `table`.
pub const DROPPED_ROWS: &str = "llama_stack_store_dropped_rows_total";
/// Rows the database refused, by `table`.
pub const FAILED_ROWS: &str = "llama_stack_store_failed_rows_total";

/// Registers the help text of the writers' metrics with the installed recorder.
pub fn describe_metrics() {
    metrics::describe_gauge!(QUEUE_DEPTH, "Rows waiting in a queued store writer, by table.");
    metrics::describe_counter!(DROPPED_ROWS, "Rows a queued store writer dropped because its queue was full, by table.");
    metrics::describe_counter!(FAILED_ROWS, "Rows the database refused to a queued store writer, by table.");
}

enum Item {
    Row(Row),
    /// Answered once every row queued before it has been written (or has failed).
    Flush(oneshot::Sender<()>),
}

/// A handle to a table's background writers; cloning it shares the same queue. The writers
/// finish the queue and stop once every handle is dropped.
#[derive(Clone)]
pub struct QueuedWriter {
    tx: mpsc::Sender<Item>,
    stats: Arc<Stats>,
}

struct Stats {
    table: String,
    dropped: AtomicU64,
    failed: AtomicU64,
    started: Instant,
    last_warning_ms: AtomicU64,
    /// The queue's size, and its metrics (handles taken once: the recorder is installed before
    /// a stack builds its writers).
    max_queue: usize,
    depth: metrics::Gauge,
    dropped_rows: metrics::Counter,
    failed_rows: metrics::Counter,
}

impl Stats {
    /// The depth gauge, from the room left in the queue.
    fn set_depth(&self, room: usize) {
        self.depth.set(self.max_queue.saturating_sub(room) as f64);
    }

    fn count_failed(&self, rows: u64) {
        self.failed.fetch_add(rows, Ordering::Relaxed);
        self.failed_rows.increment(rows);
    }
}

impl std::fmt::Debug for QueuedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedWriter")
            .field("table", &self.stats.table)
            .field("dropped", &self.dropped())
            .field("failed", &self.failed())
            .finish()
    }
}

impl QueuedWriter {
    /// Starts `writers` tasks (at least one) inserting into `table` of `store`, behind a queue of
    /// `max_queue` rows (at least one). Call it inside a tokio runtime; without one, nothing is
    /// written and every row counts as dropped.
    pub fn spawn(
        store: Arc<dyn SqlStore>,
        table: impl Into<String>,
        max_queue: usize,
        writers: usize,
    ) -> Self {
        Self::start(store, table.into(), Mode::Insert, max_queue, writers)
    }

    /// Like [`QueuedWriter::spawn`], but a row whose `key_columns` match a stored row replaces
    /// it (and within a batch the last of equal keys wins) instead of failing.
    pub fn spawn_upsert(
        store: Arc<dyn SqlStore>,
        table: impl Into<String>,
        key_columns: &'static [&'static str],
        max_queue: usize,
        writers: usize,
    ) -> Self {
        Self::start(store, table.into(), Mode::Upsert(key_columns), max_queue, writers)
    }

    fn start(store: Arc<dyn SqlStore>, table: String, mode: Mode, max_queue: usize, writers: usize) -> Self {
        let (tx, rx) = mpsc::channel(max_queue.max(1));
        let stats = Arc::new(Stats {
            depth: metrics::gauge!(QUEUE_DEPTH, "table" => table.clone()),
            dropped_rows: metrics::counter!(DROPPED_ROWS, "table" => table.clone()),
            failed_rows: metrics::counter!(FAILED_ROWS, "table" => table.clone()),
            table,
            dropped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            started: Instant::now(),
            last_warning_ms: AtomicU64::new(NEVER),
            max_queue: max_queue.max(1),
        });
        let writer = Writer {
            store,
            mode,
            rx: Arc::new(Mutex::new(rx)),
            gate: Arc::new(RwLock::new(())),
            stats: stats.clone(),
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                for _ in 0..writers.max(1) {
                    runtime.spawn(writer.clone().run());
                }
            }
            Err(_) => {
                tracing::error!(table = %stats.table, "queued writer created outside a tokio runtime; rows will be dropped")
            }
        }
        QueuedWriter { tx, stats }
    }

    /// Queues `row` for writing. Never blocks: when the queue is full the row is dropped and counted.
    pub fn submit(&self, row: Row) {
        let sent = self.tx.try_send(Item::Row(row));
        self.stats.set_depth(self.tx.capacity());
        if sent.is_err() {
            let dropped = self.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            self.stats.dropped_rows.increment(1);
            if self.stats.may_warn() {
                tracing::warn!(table = %self.stats.table, dropped, "write queue full; dropping rows");
            }
        }
    }

    /// Rows dropped because the queue was full (or the writers were gone).
    pub fn dropped(&self) -> u64 {
        self.stats.dropped.load(Ordering::Relaxed)
    }

    /// Rows the database refused (logged); each counts once.
    pub fn failed(&self) -> u64 {
        self.stats.failed.load(Ordering::Relaxed)
    }

    /// Waits until every row submitted before this call has been written or has failed.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Item::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

impl Stats {
    /// True at most once per [`WARN_INTERVAL_MS`].
    fn may_warn(&self) -> bool {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(NEVER - 1);
        let last = self.last_warning_ms.load(Ordering::Relaxed);
        let due = last == NEVER || now.saturating_sub(last) >= WARN_INTERVAL_MS;
        due && self
            .last_warning_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

/// How a batch is written.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Insert,
    Upsert(&'static [&'static str]),
}

/// One writer task's view. Writers take batches in queue order under `rx`; each holds a read
/// guard on `gate` until its batch is written, so a flush that takes the write guard knows
/// every earlier batch is done.
#[derive(Clone)]
struct Writer {
    store: Arc<dyn SqlStore>,
    mode: Mode,
    rx: Arc<Mutex<mpsc::Receiver<Item>>>,
    gate: Arc<RwLock<()>>,
    stats: Arc<Stats>,
}

impl Writer {
    async fn run(self) {
        let mut items = Vec::with_capacity(MAX_BATCH);
        loop {
            let in_flight = {
                let mut rx = self.rx.lock().await;
                if rx.recv_many(&mut items, MAX_BATCH).await == 0 {
                    return; // every handle is gone and the queue is empty
                }
                linger(&mut rx, &mut items).await;
                self.stats.set_depth(self.stats.max_queue.saturating_sub(rx.len()));
                self.gate.clone().read_owned().await
            };
            let mut rows = Vec::with_capacity(items.len());
            let mut flushes = Vec::new();
            for item in items.drain(..) {
                match item {
                    Item::Row(row) => rows.push(row),
                    Item::Flush(done) => flushes.push(done),
                }
            }
            self.write(rows).await;
            drop(in_flight);
            if !flushes.is_empty() {
                let _earlier_batches_done = self.gate.write().await;
                for done in flushes {
                    let _ = done.send(());
                }
            }
        }
    }

    async fn insert(&self, rows: &[Row]) -> lls_api_common::Result<()> {
        match self.mode {
            Mode::Insert => self.store.insert(&self.stats.table, rows).await,
            Mode::Upsert(keys) => self.store.upsert_many(&self.stats.table, rows, keys).await,
        }
    }

    async fn write(&self, rows: Vec<Row>) {
        if rows.is_empty() {
            return; // a batch of flush markers only
        }
        // A trace of its own: a batch carries rows of many requests.
        let span = lls_telemetry::span_if_exporting(|| {
            let table = &self.stats.table;
            tracing::info_span!("store_batch", otel.name = %format!("batch_write {table}"), %table, rows = rows.len())
        });
        tracing::Instrument::instrument(self.write_batch(rows), span).await;
    }

    async fn write_batch(&self, rows: Vec<Row>) {
        let table = &self.stats.table;
        let err = match self.insert(&rows).await {
            Ok(()) => return,
            Err(err) => err,
        };
        // A row-specific refusal (duplicate id, bad value) must not sink the rest of the batch;
        // anything else (database down) would fail row by row too.
        let row_specific = matches!(err.kind(), ErrorKind::Conflict | ErrorKind::InvalidRequest);
        if rows.len() == 1 || !row_specific {
            self.stats.count_failed(rows.len() as u64);
            tracing::error!(table = %table, rows = rows.len(), error = %err, "queued write failed");
            return;
        }
        for row in rows {
            if let Err(err) = self.insert(std::slice::from_ref(&row)).await {
                self.stats.count_failed(1);
                tracing::error!(table = %table, error = %err, "queued write of one row failed");
            }
        }
    }
}

/// Tops a partial batch up with rows that arrive within [`LINGER`]; a flush marker (someone
/// waits to read) or a full batch ends the wait at once.
async fn linger(rx: &mut mpsc::Receiver<Item>, items: &mut Vec<Item>) {
    let deadline = tokio::time::Instant::now() + LINGER;
    while items.len() < MAX_BATCH && !items.iter().any(|i| matches!(i, Item::Flush(_))) {
        match tokio::time::timeout_at(deadline, rx.recv_many(items, MAX_BATCH - items.len())).await {
            Ok(0) | Err(_) => return, // closed, or time is up
            Ok(_) => {}
        }
    }
}
