//! [`FaissVectorIo`]: the `VectorIo` trait over one faiss index per vector store, each store
//! persisted as an append-only log in a kv store and replayed when the store is first used.
//!
//! Searches share a store's read lock and run on the blocking pool, so they run in parallel
//! with each other and never stall the runtime; writers are serialised per store.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::store::KvStore;
use lls_api_common::{BuildContext, Error, Result, Tasks};
use lls_api_vector_io::{EmbeddedChunk, IndexSpec, ScoredChunk, SearchModes, VectorIo};
use parking_lot::RwLock;
use tokio::sync::Mutex;

use crate::config::FaissConfig;
use crate::contents::Row;
use crate::index::blocking;
use crate::{owner, record};
use crate::store::{Settings, Store, not_found};

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

/// How much longer than a heartbeat's lifetime a starting server waits for another to leave.
const OWNER_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

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
    /// The registry's build function: opens the kv store named by `persistence`, becomes the
    /// one server serving it (see `owner`), reads the stores' specs, and loads their chunks in
    /// the background.
    pub async fn build(ctx: BuildContext, config: FaissConfig) -> Result<Arc<dyn VectorIo>> {
        let kv = ctx.stores.kv(&config.persistence).await?;
        owner::claim(kv.clone(), &ctx.tasks, owner::TTL + OWNER_GRACE, &config.persistence.namespace).await?;
        let provider = Arc::new(Self::open(kv, &config).await?);
        provider.warm_up(&ctx.tasks);
        Ok(provider)
    }

    /// A provider over `kv`, knowing every store persisted there; chunks load on first use.
    pub async fn open(kv: Arc<dyn KvStore>, config: &FaissConfig) -> Result<Self> {
        let (start, end) = record::spec_range();
        let mut stores = HashMap::new();
        for value in kv.values_in_range(&start, &end).await? {
            match record::decode_spec(&value) {
                Ok(spec) => {
                    stores.insert(spec.vector_store_id.clone(), Arc::new(Store::persisted(spec)));
                }
                Err(e) => tracing::warn!(error = %e, "inline::faiss skipped a vector store spec it could not read"),
            }
        }
        Ok(FaissVectorIo { kv, settings: Settings::from_config(config), stores: RwLock::new(stores), admin: Mutex::new(()) })
    }

    /// Loads every known store in a background task supervised by `tasks`, so first queries
    /// find them ready; shutdown stops it between stores (a store not loaded loads on first use).
    pub fn warm_up(&self, tasks: &Tasks) {
        let stores: Vec<Arc<Store>> = self.stores.read().values().cloned().collect();
        if stores.is_empty() {
            return;
        }
        let (kv, settings, stop) = (self.kv.clone(), self.settings, tasks.stop_token());
        tasks.spawn("load inline::faiss vector stores", async move {
            for store in stores {
                if stop.is_cancelled() {
                    return;
                }
                if let Err(e) = store.loaded(&kv, settings).await {
                    tracing::warn!(vector_store_id = %store.id(), error = %e, "inline::faiss could not load a vector store");
                }
            }
        });
    }

    /// Which index a store uses now (`flat` or `ivf`), and how many chunks it holds.
    pub async fn index_info(&self, vector_store_id: &str) -> Result<(&'static str, usize)> {
        let loaded = self.store(vector_store_id)?.loaded(&self.kv, self.settings).await?;
        let c = loaded.contents.read();
        Ok((c.index().kind(), c.len()))
    }

    fn store(&self, id: &str) -> Result<Arc<Store>> {
        self.stores.read().get(id).cloned().ok_or_else(|| not_found(id))
    }
}

/// Rows for the index; an id given twice keeps its last chunk, at its first position.
fn dedupe(chunks: Vec<EmbeddedChunk>) -> Vec<Row> {
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
    rows
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
        let store = Store::fresh(spec.clone())?;
        // Entries left behind by a delete that stopped halfway must not join the new store.
        Store::erase(&*self.kv, id).await?;
        self.kv.set(&record::spec_key(id), &record::encode_spec(spec)?, None).await?;
        self.stores.write().insert(id.clone(), Arc::new(store));
        Ok(())
    }

    async fn delete_index(&self, vector_store_id: &str) -> Result<()> {
        let _admin = self.admin.lock().await;
        let Ok(store) = self.store(vector_store_id) else { return Ok(()) };
        let _writer = store.writer.lock().await;
        self.kv.delete(&record::spec_key(vector_store_id)).await?;
        store.mark_deleted();
        self.stores.write().remove(vector_store_id);
        if let Err(e) = Store::erase(&*self.kv, vector_store_id).await {
            // The store is gone; leftovers are cleared if the id is ever created again.
            tracing::warn!(vector_store_id, error = %e, "inline::faiss left log entries of a deleted store in the kv store");
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
        let loaded = store.loaded(&self.kv, self.settings).await?;
        let (rows, failure) = store.append_insert(&*self.kv, &loaded, dedupe(chunks)).await;
        let shared = loaded.clone();
        blocking(move || shared.contents.write().upsert(rows)).await?;
        if let Some(e) = failure {
            return Err(e);
        }
        store.reindex_if_due(&self.kv, &loaded, self.settings).await;
        store.compact_if_due(&self.kv, &loaded).await;
        Ok(())
    }

    async fn delete_chunks(&self, vector_store_id: &str, chunk_ids: &[String]) -> Result<()> {
        let store = self.store(vector_store_id)?;
        let _writer = store.writer.lock().await;
        store.ensure_live()?;
        let loaded = store.loaded(&self.kv, self.settings).await?;
        let mut present: Vec<String> = {
            let c = loaded.contents.read();
            chunk_ids.iter().filter(|id| c.contains(id)).cloned().collect()
        };
        present.sort();
        present.dedup();
        if present.is_empty() {
            return Ok(());
        }
        store.append_delete(&*self.kv, &loaded, &present).await?;
        let shared = loaded.clone();
        blocking(move || shared.contents.write().remove(&present)).await?;
        store.compact_if_due(&self.kv, &loaded).await;
        Ok(())
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
        let loaded = store.loaded(&self.kv, self.settings).await?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let query = embedding.to_vec();
        let fraction = self.settings.probe_fraction;
        blocking(move || loaded.contents.read().query(&query, k, score_threshold, fraction)).await
    }
}
