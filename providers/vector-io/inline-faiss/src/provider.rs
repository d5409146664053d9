//! [`FaissVectorIo`]: the `VectorIo` trait over one faiss index per vector store, persisted in a
//! kv store one chunk per key and rebuilt from the stored vectors when a store is first used.
//!
//! Writes to a store are serialised by its `writer` lock and reach the kv store before memory,
//! so memory never shows what a restart would lose. Searches share a read lock and run on the
//! blocking pool, so they run in parallel with each other and never stall the runtime.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use lls_api_common::store::KvStore;
use lls_api_common::{BuildContext, Error, Result};
use lls_api_vector_io::{EmbeddedChunk, IndexSpec, ScoredChunk, SearchModes, VectorIo};
use parking_lot::RwLock;
use tokio::sync::{Mutex, OnceCell};

use crate::config::{FaissConfig, IndexKind};
use crate::contents::{Contents, Row};
use crate::index::{VectorIndex, blocking};
use crate::record;

/// What the provider needs from its config at run time.
#[derive(Debug, Clone, Copy)]
struct Settings {
    /// Store size at which a flat index becomes IVF; `None` keeps every store exact.
    ivf_min_chunks: Option<usize>,
    probe_fraction: f64,
}

impl Settings {
    fn from_config(config: &FaissConfig) -> Self {
        let ivf_min_chunks = match config.index {
            IndexKind::Auto => Some(config.ivf_min_chunks),
            IndexKind::Flat => None,
        };
        Settings { ivf_min_chunks, probe_fraction: config.ivf_probe_fraction }
    }

    fn wants_ivf(&self, len: usize) -> bool {
        self.ivf_min_chunks.is_some_and(|min| len >= min)
    }
}

type SharedContents = Arc<RwLock<Contents>>;
/// A kv key and the value to store under it.
type KvRecord = (String, String);

/// One vector store: its spec, its contents (loaded on first use), and its writer lock.
struct Store {
    spec: IndexSpec,
    contents: OnceCell<SharedContents>,
    writer: Mutex<()>,
    deleted: AtomicBool,
}

impl Store {
    fn new(spec: IndexSpec, contents: Option<Contents>) -> Self {
        let contents = OnceCell::new_with(contents.map(|c| Arc::new(RwLock::new(c))));
        Store { spec, contents, writer: Mutex::new(()), deleted: AtomicBool::new(false) }
    }

    fn id(&self) -> &str {
        &self.spec.vector_store_id
    }

    fn dim(&self) -> usize {
        self.spec.embedding_dimension
    }

    /// Fails once the store was deleted (checked under the writer lock).
    fn ensure_live(&self) -> Result<()> {
        if self.deleted.load(Ordering::Acquire) { Err(not_found(self.id())) } else { Ok(()) }
    }

    /// The contents, read from the kv store and indexed on first use.
    async fn contents(&self, kv: &Arc<dyn KvStore>, settings: Settings) -> Result<SharedContents> {
        let contents = self.contents.get_or_try_init(|| self.load(kv.clone(), settings)).await?;
        Ok(contents.clone())
    }

    async fn load(&self, kv: Arc<dyn KvStore>, settings: Settings) -> Result<SharedContents> {
        let started = std::time::Instant::now();
        let (start, end) = record::chunk_range(self.id());
        let values = kv.values_in_range(&start, &end).await?;
        let (id, dim) = (self.id().to_owned(), self.dim());
        let contents = blocking(move || {
            let mut rows = Vec::with_capacity(values.len());
            let mut skipped = 0usize;
            for value in &values {
                match record::decode(value) {
                    Ok((chunk, embedding)) if embedding.len() == dim => {
                        let id = chunk.chunk_id.clone().unwrap_or_default();
                        rows.push(Row { id, chunk, embedding });
                    }
                    Ok(_) | Err(_) => skipped += 1,
                }
            }
            if skipped > 0 {
                tracing::warn!(vector_store_id = %id, skipped, "inline::faiss skipped stored chunks it could not read");
            }
            drop(values);
            let ivf = settings.wants_ivf(rows.len());
            Contents::build(dim, rows, ivf)
        })
        .await?;
        tracing::info!(
            vector_store_id = %self.id(),
            chunks = contents.len(),
            index = contents.index().kind(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "inline::faiss loaded a vector store"
        );
        Ok(Arc::new(RwLock::new(contents)))
    }
}

fn not_found(id: &str) -> Error {
    Error::not_found(format!("Vector store '{id}' not found"))
}

/// A vector of the store's dimension with only finite values.
fn check_vector(store: &Store, vector: &[f32], what: &str) -> Result<()> {
    if vector.len() != store.dim() {
        return Err(Error::invalid(format!(
            "Embedding dimension mismatch: vector store '{}' expects dimension {}, but {what} has dimension {}",
            store.id(),
            store.dim(),
            vector.len()
        )));
    }
    if vector.iter().any(|x| !x.is_finite()) {
        return Err(Error::invalid(format!("{what} contains a NaN or infinite value")));
    }
    Ok(())
}

/// The `inline::faiss` provider.
pub struct FaissVectorIo {
    kv: Arc<dyn KvStore>,
    settings: Settings,
    stores: RwLock<HashMap<String, Arc<Store>>>,
    /// Serialises creating and deleting stores.
    admin: Mutex<()>,
}

impl std::fmt::Debug for FaissVectorIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaissVectorIo").field("settings", &self.settings).field("stores", &self.stores.read().len()).finish()
    }
}

impl FaissVectorIo {
    /// The registry's build function: opens the kv store named by `persistence`, reads the
    /// stores' specs, and loads their chunks in the background.
    pub async fn build(ctx: BuildContext, config: FaissConfig) -> Result<Arc<dyn VectorIo>> {
        let kv = ctx.stores.kv(&config.persistence).await?;
        let provider = Arc::new(Self::open(kv, &config).await?);
        provider.warm_up();
        Ok(provider)
    }

    /// A provider over `kv`, knowing every store persisted there; chunks load on first use.
    pub async fn open(kv: Arc<dyn KvStore>, config: &FaissConfig) -> Result<Self> {
        let (start, end) = record::spec_range();
        let mut stores = HashMap::new();
        for value in kv.values_in_range(&start, &end).await? {
            match record::decode_spec(&value) {
                Ok(spec) => {
                    stores.insert(spec.vector_store_id.clone(), Arc::new(Store::new(spec, None)));
                }
                Err(e) => tracing::warn!(error = %e, "inline::faiss skipped a vector store spec it could not read"),
            }
        }
        Ok(FaissVectorIo { kv, settings: Settings::from_config(config), stores: RwLock::new(stores), admin: Mutex::new(()) })
    }

    /// Loads every known store in a background task, so first queries find them ready.
    pub fn warm_up(&self) {
        let stores: Vec<Arc<Store>> = self.stores.read().values().cloned().collect();
        if stores.is_empty() {
            return;
        }
        let (kv, settings) = (self.kv.clone(), self.settings);
        tokio::spawn(async move {
            for store in stores {
                if let Err(e) = store.contents(&kv, settings).await {
                    tracing::warn!(vector_store_id = %store.id(), error = %e, "inline::faiss could not load a vector store");
                }
            }
        });
    }

    /// Which index a store uses now (`flat` or `ivf`), and how many chunks it holds.
    pub async fn index_info(&self, vector_store_id: &str) -> Result<(&'static str, usize)> {
        let store = self.store(vector_store_id)?;
        let contents = store.contents(&self.kv, self.settings).await?;
        let c = contents.read();
        Ok((c.index().kind(), c.len()))
    }

    fn store(&self, id: &str) -> Result<Arc<Store>> {
        self.stores.read().get(id).cloned().ok_or_else(|| not_found(id))
    }

    /// Writes `records` in order; returns how many were written and the error that stopped it.
    async fn persist(&self, records: &[KvRecord]) -> (usize, Option<Error>) {
        for (i, (key, value)) in records.iter().enumerate() {
            if let Err(e) = self.kv.set(key, value, None).await {
                return (i, Some(e));
            }
        }
        (records.len(), None)
    }

    /// Replaces a large store's exact index with an IVF one, trained off the lock (the caller
    /// holds the store's writer lock, so nothing changes meanwhile).
    async fn convert_to_ivf(&self, store: &Store, contents: SharedContents) {
        let dim = store.dim();
        let converted = blocking(move || {
            let Some((vectors, labels)) = contents.read().index().flat_snapshot() else { return Ok(None) };
            let started = std::time::Instant::now();
            let ivf = VectorIndex::ivf(dim, &vectors, &labels)?;
            contents.write().set_index(ivf);
            Ok(Some((labels.len(), started.elapsed())))
        })
        .await;
        match converted {
            Ok(Some((chunks, elapsed))) => tracing::info!(
                vector_store_id = %store.id(),
                chunks,
                elapsed_ms = elapsed.as_millis() as u64,
                "inline::faiss moved a vector store to an IVF index"
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(vector_store_id = %store.id(), error = %e, "inline::faiss keeps an exact index: IVF training failed"),
        }
    }
}

/// Rows for the index and `(key, record)` pairs for the kv store; an id given twice keeps its
/// last chunk, at its first position.
fn prepare(store_id: &str, chunks: Vec<EmbeddedChunk>) -> Result<(Vec<Row>, Vec<KvRecord>)> {
    let mut rows: Vec<Row> = Vec::with_capacity(chunks.len());
    let mut positions: HashMap<String, usize> = HashMap::with_capacity(chunks.len());
    for c in chunks {
        let mut chunk = c.chunk;
        chunk.chunk_id = Some(c.chunk_id.clone());
        let row = Row { id: c.chunk_id, chunk, embedding: c.embedding };
        match positions.get(&row.id) {
            Some(&at) => rows[at] = row,
            None => {
                positions.insert(row.id.clone(), rows.len());
                rows.push(row);
            }
        }
    }
    let mut records = Vec::with_capacity(rows.len());
    for row in &mut rows {
        let value = record::encode(&mut row.chunk, &row.embedding)?;
        records.push((record::chunk_key(store_id, &row.id), value));
    }
    Ok((rows, records))
}

#[async_trait]
impl VectorIo for FaissVectorIo {
    fn search_modes(&self) -> SearchModes {
        SearchModes { vector: true, keyword: false }
    }

    async fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        let id = &spec.vector_store_id;
        if spec.embedding_dimension == 0 {
            return Err(Error::invalid("embedding_dimension must be at least 1").with_param("embedding_dimension"));
        }
        let _admin = self.admin.lock().await;
        if let Some(existing) = self.stores.read().get(id) {
            if existing.dim() != spec.embedding_dimension {
                return Err(Error::conflict(format!(
                    "Vector store '{id}' exists with embedding dimension {}, not {}",
                    existing.dim(),
                    spec.embedding_dimension
                )));
            }
            return Ok(());
        }
        let contents = Contents::build(spec.embedding_dimension, Vec::new(), false)?;
        // Chunks left behind by a delete that stopped halfway must not join the new store.
        let (start, end) = record::chunk_range(id);
        for key in self.kv.keys_in_range(&start, &end).await? {
            self.kv.delete(&key).await?;
        }
        self.kv.set(&record::spec_key(id), &record::encode_spec(spec)?, None).await?;
        self.stores.write().insert(id.clone(), Arc::new(Store::new(spec.clone(), Some(contents))));
        Ok(())
    }

    async fn delete_index(&self, vector_store_id: &str) -> Result<()> {
        let _admin = self.admin.lock().await;
        let Ok(store) = self.store(vector_store_id) else { return Ok(()) };
        let _writer = store.writer.lock().await;
        self.kv.delete(&record::spec_key(vector_store_id)).await?;
        store.deleted.store(true, Ordering::Release);
        self.stores.write().remove(vector_store_id);
        let (start, end) = record::chunk_range(vector_store_id);
        let mut removed = 0usize;
        let outcome = async {
            for key in self.kv.keys_in_range(&start, &end).await? {
                self.kv.delete(&key).await?;
                removed += 1;
            }
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = outcome {
            // The store is gone; leftovers are cleared if the id is ever created again.
            tracing::warn!(vector_store_id, removed, error = %e, "inline::faiss left chunks of a deleted store in the kv store");
        }
        Ok(())
    }

    async fn insert(&self, vector_store_id: &str, chunks: Vec<EmbeddedChunk>) -> Result<()> {
        let store = self.store(vector_store_id)?;
        for c in &chunks {
            if c.chunk_id.is_empty() {
                return Err(Error::invalid("every chunk needs a non-empty chunk_id"));
            }
            check_vector(&store, &c.embedding, &format!("the embedding of chunk '{}'", c.chunk_id))?;
        }
        if chunks.is_empty() {
            return Ok(());
        }
        let _writer = store.writer.lock().await;
        store.ensure_live()?;
        let contents = store.contents(&self.kv, self.settings).await?;
        let id = vector_store_id.to_owned();
        let (mut rows, records) = blocking(move || prepare(&id, chunks)).await?;
        let (written, failure) = self.persist(&records).await;
        rows.truncate(written);
        let settings = self.settings;
        let shared = contents.clone();
        let convert = blocking(move || {
            let mut c = shared.write();
            c.upsert(rows)?;
            Ok(c.index().is_flat() && settings.wants_ivf(c.len()))
        })
        .await?;
        if let Some(e) = failure {
            return Err(e);
        }
        if convert {
            self.convert_to_ivf(&store, contents).await;
        }
        Ok(())
    }

    async fn delete_chunks(&self, vector_store_id: &str, chunk_ids: &[String]) -> Result<()> {
        let store = self.store(vector_store_id)?;
        let _writer = store.writer.lock().await;
        store.ensure_live()?;
        let contents = store.contents(&self.kv, self.settings).await?;
        let mut present: Vec<String> = {
            let c = contents.read();
            chunk_ids.iter().filter(|id| c.contains(id)).cloned().collect()
        };
        present.sort();
        present.dedup();
        if present.is_empty() {
            return Ok(());
        }
        let mut failure = None;
        let mut deleted = Vec::with_capacity(present.len());
        for id in present {
            match self.kv.delete(&record::chunk_key(vector_store_id, &id)).await {
                Ok(()) => deleted.push(id),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        blocking(move || contents.write().remove(&deleted)).await?;
        failure.map_or(Ok(()), Err)
    }

    async fn query_vector(
        &self,
        vector_store_id: &str,
        embedding: &[f32],
        k: usize,
        score_threshold: f32,
    ) -> Result<Vec<ScoredChunk>> {
        let store = self.store(vector_store_id)?;
        check_vector(&store, embedding, "the query embedding")?;
        let contents = store.contents(&self.kv, self.settings).await?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let query = embedding.to_vec();
        let fraction = self.settings.probe_fraction;
        blocking(move || contents.read().query(&query, k, score_threshold, fraction)).await
    }
}
