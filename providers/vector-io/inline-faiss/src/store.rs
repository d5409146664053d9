//! One vector store inside the provider: its spec, its contents (replayed from its kv log on
//! first use), where its log stands, and the lock that serialises its writers.
//!
//! Writers hold `writer` across the kv write and the memory update, and write the kv store
//! first, so memory never shows what a restart would lose.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use lls_api_common::store::KvStore;
use lls_api_common::{Error, Result};
use lls_api_vector_io::IndexSpec;
use parking_lot::{Mutex, RwLock};
use tokio::sync::OnceCell;

use crate::config::{FaissConfig, IndexKind};
use crate::contents::{Contents, Plan, Row};
use crate::index::{Centroids, VectorIndex, blocking};
use crate::record::{self, SEGMENT_CHUNKS};

/// Dead chunk records a log may hold before compaction is considered.
const COMPACT_MIN_DEAD: usize = 1000;

/// What the provider needs from its config at run time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// Store size at which a flat index becomes IVF; `None` keeps every store exact.
    pub ivf_min_chunks: Option<usize>,
    pub probe_fraction: f64,
}

impl Settings {
    pub(crate) fn from_config(config: &FaissConfig) -> Self {
        let ivf_min_chunks = match config.index {
            IndexKind::Auto => Some(config.ivf_min_chunks),
            IndexKind::Flat => None,
        };
        Settings { ivf_min_chunks, probe_fraction: config.ivf_probe_fraction }
    }

    pub(crate) fn wants_ivf(&self, len: usize) -> bool {
        self.ivf_min_chunks.is_some_and(|min| len >= min)
    }
}

/// Where a store's log stands.
#[derive(Debug, Clone, Copy)]
struct LogState {
    next_seq: u64,
    /// Chunk records in the log, live or dead.
    stored: usize,
}

/// A loaded store: its contents and its log position.
pub(crate) struct Loaded {
    pub contents: RwLock<Contents>,
    log: Mutex<LogState>,
}

/// One vector store.
pub(crate) struct Store {
    pub spec: IndexSpec,
    loaded: OnceCell<Arc<Loaded>>,
    /// Held by every writer of this store (inserts, deletes, compaction, dropping it).
    pub writer: tokio::sync::Mutex<()>,
    deleted: AtomicBool,
}

pub(crate) fn not_found(id: &str) -> Error {
    Error::not_found(format!("Vector store '{id}' not found"))
}

impl Store {
    /// A store known from its spec; its log is replayed on first use.
    pub(crate) fn persisted(spec: IndexSpec) -> Self {
        Store { spec, loaded: OnceCell::new(), writer: tokio::sync::Mutex::new(()), deleted: AtomicBool::new(false) }
    }

    /// A store just created: empty, with an empty log.
    pub(crate) fn fresh(spec: IndexSpec) -> Result<Self> {
        let contents = Contents::build(spec.embedding_dimension, Vec::new(), Plan::Flat)?;
        let loaded = Loaded { contents: RwLock::new(contents), log: Mutex::new(LogState { next_seq: 0, stored: 0 }) };
        let store = Store::persisted(spec);
        store.loaded.set(Arc::new(loaded)).map_err(|_| Error::internal("a fresh store was already loaded"))?;
        Ok(store)
    }

    pub(crate) fn id(&self) -> &str {
        &self.spec.vector_store_id
    }

    pub(crate) fn dim(&self) -> usize {
        self.spec.embedding_dimension
    }

    /// Fails once the store was deleted (checked under the writer lock).
    pub(crate) fn ensure_live(&self) -> Result<()> {
        if self.deleted.load(Ordering::Acquire) { Err(not_found(self.id())) } else { Ok(()) }
    }

    pub(crate) fn mark_deleted(&self) {
        self.deleted.store(true, Ordering::Release);
    }

    /// The loaded store, replayed from the kv store on first use.
    pub(crate) async fn loaded(&self, kv: &Arc<dyn KvStore>, settings: Settings) -> Result<Arc<Loaded>> {
        let loaded = self.loaded.get_or_try_init(|| self.load(kv.clone(), settings)).await?;
        Ok(loaded.clone())
    }

    async fn load(&self, kv: Arc<dyn KvStore>, settings: Settings) -> Result<Arc<Loaded>> {
        let started = std::time::Instant::now();
        let (start, end) = record::log_range(self.id());
        let values = kv.values_in_range(&start, &end).await?;
        let kept = match settings.ivf_min_chunks {
            Some(_) => kv.get(&record::centroids_key(self.id())).await?.as_deref().and_then(record::decode_centroids),
            None => None,
        };
        let dim = self.dim();
        let (contents, next_seq, stored, skipped, trained) = blocking(move || {
            let replayed = record::replay(&values, dim);
            drop(values);
            let n = replayed.rows.len();
            let plan = match kept.filter(|c| c.fit(dim, n)) {
                _ if !settings.wants_ivf(n) => Plan::Flat,
                Some(centroids) => Plan::Ivf(centroids),
                None => Plan::TrainIvf,
            };
            let train = matches!(plan, Plan::TrainIvf);
            let contents = Contents::build(dim, replayed.rows, plan)?;
            let trained = if train { contents.index().centroids().cloned() } else { None };
            Ok((contents, replayed.next_seq, replayed.stored, replayed.skipped, trained))
        })
        .await?;
        if skipped > 0 {
            tracing::warn!(vector_store_id = %self.id(), skipped, "inline::faiss skipped stored entries or chunks it could not read");
        }
        if let Some(centroids) = trained {
            tracing::info!(vector_store_id = %self.id(), nlist = centroids.nlist, imbalance = centroids.imbalance, "inline::faiss trained IVF lists");
            self.keep_centroids(&*kv, &centroids).await;
        }
        tracing::info!(
            vector_store_id = %self.id(),
            chunks = contents.len(),
            index = contents.index().kind(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "inline::faiss loaded a vector store"
        );
        Ok(Arc::new(Loaded { contents: RwLock::new(contents), log: Mutex::new(LogState { next_seq, stored }) }))
    }

    /// Stores trained centroids so a restart skips training; failing only costs that.
    async fn keep_centroids(&self, kv: &dyn KvStore, centroids: &Centroids) {
        let stored = match record::encode_centroids(centroids) {
            Ok(value) => kv.set(&record::centroids_key(self.id()), &value, None).await,
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            tracing::warn!(vector_store_id = %self.id(), error = %e, "inline::faiss could not store IVF centroids");
        }
    }

    /// Moves a store that grew to `ivf_min_chunks` from its exact index to IVF, and retrains an
    /// IVF index whose store outgrew its centroids. Training runs off the search lock; the
    /// caller holds `writer`, so nothing changes meanwhile. A failure keeps the old index.
    pub(crate) async fn reindex_if_due(&self, kv: &Arc<dyn KvStore>, loaded: &Arc<Loaded>, settings: Settings) {
        let dim = self.dim();
        let (flat, len, outgrown) = {
            let c = loaded.contents.read();
            (c.index().is_flat(), c.len(), c.index().centroids().is_some_and(|k| !k.fit(dim, c.len())))
        };
        let due = (flat && settings.wants_ivf(len)) || outgrown;
        if !due {
            return;
        }
        let started = std::time::Instant::now();
        let rebuilt = if flat { self.flat_to_ivf(loaded).await } else { self.retrain(kv, loaded).await };
        match rebuilt {
            Ok(centroids) => {
                tracing::info!(
                    vector_store_id = %self.id(),
                    chunks = len,
                    nlist = centroids.nlist,
                    imbalance = centroids.imbalance,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "inline::faiss moved a vector store to an IVF index"
                );
                self.keep_centroids(&**kv, &centroids).await;
            }
            Err(e) => tracing::warn!(vector_store_id = %self.id(), error = %e, "inline::faiss kept its index: IVF training failed"),
        }
    }

    async fn flat_to_ivf(&self, loaded: &Arc<Loaded>) -> Result<Centroids> {
        let (loaded, dim) = (loaded.clone(), self.dim());
        blocking(move || {
            let snapshot = loaded.contents.read().index().flat_snapshot();
            let (vectors, labels) = snapshot.ok_or_else(|| Error::internal("the index is no longer flat"))?;
            let centroids = Centroids::train(dim, &vectors)?;
            let ivf = VectorIndex::ivf(dim, &vectors, &labels, centroids.clone())?;
            loaded.contents.write().set_index(ivf);
            Ok(centroids)
        })
        .await
    }

    /// IVF lists keep no readable copy of the vectors: they come back from the log.
    async fn retrain(&self, kv: &Arc<dyn KvStore>, loaded: &Arc<Loaded>) -> Result<Centroids> {
        let (start, end) = record::log_range(self.id());
        let values = kv.values_in_range(&start, &end).await?;
        let (loaded, dim) = (loaded.clone(), self.dim());
        blocking(move || {
            let rows = record::replay(&values, dim).rows;
            drop(values);
            let (mut vectors, mut labels) = (Vec::with_capacity(rows.len() * dim), Vec::with_capacity(rows.len()));
            {
                let c = loaded.contents.read();
                for row in &rows {
                    if let Some(label) = c.label(&row.id) {
                        vectors.extend_from_slice(&row.embedding);
                        labels.push(label);
                    }
                }
                if labels.len() != c.len() {
                    return Err(Error::internal(format!("the log holds {} of the store's {} chunks", labels.len(), c.len())));
                }
            }
            let centroids = Centroids::train(dim, &vectors)?;
            let ivf = VectorIndex::ivf(dim, &vectors, &labels, centroids.clone())?;
            loaded.contents.write().set_index(ivf);
            Ok(centroids)
        })
        .await
    }

    /// Appends `rows` (ids unique) to the log, one entry per [`SEGMENT_CHUNKS`]. Returns the rows
    /// whose entries were written (all of them, or those before the entry that failed) and the
    /// failure. The caller holds `writer`.
    pub(crate) async fn append_insert(&self, kv: &dyn KvStore, loaded: &Loaded, rows: Vec<Row>) -> (Vec<Row>, Option<Error>) {
        let first_seq = loaded.log.lock().next_seq;
        let encoded = blocking(move || {
            let mut rows = rows;
            let entries = rows
                .chunks_mut(SEGMENT_CHUNKS)
                .enumerate()
                .map(|(j, segment)| record::encode_insert(first_seq + j as u64, segment))
                .collect::<Result<Vec<_>>>()?;
            Ok((rows, entries))
        })
        .await;
        let (mut rows, entries) = match encoded {
            Ok(done) => done,
            Err(e) => return (Vec::new(), Some(e)),
        };
        let mut failure = None;
        let mut written = 0usize;
        for (j, entry) in entries.iter().enumerate() {
            let seq = first_seq + j as u64;
            if let Err(e) = kv.set(&record::log_key(self.id(), seq), entry, None).await {
                failure = Some(e);
                break;
            }
            written += 1;
        }
        rows.truncate(written * SEGMENT_CHUNKS);
        let mut log = loaded.log.lock();
        log.next_seq = first_seq + written as u64;
        log.stored += rows.len();
        (rows, failure)
    }

    /// Appends the deletion of `ids` (all present) to the log. The caller holds `writer`.
    pub(crate) async fn append_delete(&self, kv: &dyn KvStore, loaded: &Loaded, ids: &[String]) -> Result<()> {
        let seq = loaded.log.lock().next_seq;
        kv.set(&record::log_key(self.id(), seq), &record::encode_delete(seq, ids)?, None).await?;
        loaded.log.lock().next_seq = seq + 1;
        Ok(())
    }

    /// Rewrites the log as its live chunks when most records in it are dead. The caller holds
    /// `writer`. A failure leaves a longer log that still replays to the same chunks.
    pub(crate) async fn compact_if_due(&self, kv: &Arc<dyn KvStore>, loaded: &Loaded) {
        let live = loaded.contents.read().len();
        let LogState { next_seq, stored } = *loaded.log.lock();
        let dead = stored.saturating_sub(live);
        if dead < COMPACT_MIN_DEAD || dead <= live {
            return;
        }
        match self.compact(kv, next_seq).await {
            Ok((entries, chunks)) => {
                *loaded.log.lock() = LogState { next_seq: next_seq + entries, stored: chunks };
                tracing::info!(vector_store_id = %self.id(), chunks, dropped = dead, "inline::faiss compacted a vector store's log");
            }
            Err(e) => tracing::warn!(vector_store_id = %self.id(), error = %e, "inline::faiss could not compact a vector store's log"),
        }
    }

    /// Writes the live chunks as new entries from `first_seq` on, then deletes the old entries.
    /// Replaying old and new entries, or new ones alone, gives the same chunks, so a crash
    /// anywhere in between loses nothing.
    async fn compact(&self, kv: &Arc<dyn KvStore>, first_seq: u64) -> Result<(u64, usize)> {
        let (start, end) = record::log_range(self.id());
        let old_keys = kv.keys_in_range(&start, &end).await?;
        let values = kv.values_in_range(&start, &end).await?;
        let dim = self.dim();
        let (entries, chunks) = blocking(move || {
            let mut rows = record::replay(&values, dim).rows;
            let entries = rows
                .chunks_mut(SEGMENT_CHUNKS)
                .enumerate()
                .map(|(j, segment)| record::encode_insert(first_seq + j as u64, segment))
                .collect::<Result<Vec<_>>>()?;
            Ok((entries, rows.len()))
        })
        .await?;
        for (j, entry) in entries.iter().enumerate() {
            kv.set(&record::log_key(self.id(), first_seq + j as u64), entry, None).await?;
        }
        for key in old_keys {
            kv.delete(&key).await?;
        }
        Ok((entries.len() as u64, chunks))
    }

    /// Deletes the log entries and centroids of the store with id `id` (also of one never
    /// loaded, or left behind by a delete that stopped halfway).
    pub(crate) async fn erase(kv: &dyn KvStore, id: &str) -> Result<()> {
        let (start, end) = record::log_range(id);
        for key in kv.keys_in_range(&start, &end).await? {
            kv.delete(&key).await?;
        }
        kv.delete(&record::centroids_key(id)).await
    }
}
