//! [`VectorStoresService`]: the state shared by every operation (providers, dependencies, the
//! kv records and this process's view of them), its startup, and the [`VectorStores`]
//! implementation, which delegates to the per-topic modules.
//!
//! The kv records are the truth: several server processes may share them (replicas on one
//! PostgreSQL), so every operation reads the store's records afresh before it acts, and the
//! in-memory state only serialises this process's operations on a store. Ingestion is work a
//! replica records as its own (see `work.rs`); another replica takes over what a dead one left.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::store::KvStore;
use lls_api_common::access::Action;
use lls_api_common::replicas::Presence;
use lls_api_common::{Error, ErrorKind, RequestContext, Result, Tasks};
use lls_api_files::Files;
use lls_api_inference::Inference;
use lls_api_models::Model;
use lls_api_vector_io::{
    AttachFileRequest, Chunk, CreateFileBatchRequest, CreateVectorStoreRequest, ListFilesQuery, ListPage, ListQuery,
    QueryChunksResponse, QueryParams, SearchRequest, SearchResultsPage, UpdateFileRequest, UpdateVectorStoreRequest,
    VectorIo, VectorStoreDeleted, VectorStoreFileBatchObject, VectorStoreFileContents, VectorStoreFileDeleted,
    VectorStoreFileObject, VectorStoreObject, VectorStores,
};
use parking_lot::RwLock;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::records::{BatchRow, FileRow, Records, StoreRow, keys};

/// One vector_io provider as the service knows it.
#[derive(Clone)]
pub struct VectorIoProvider {
    pub provider: Arc<dyn VectorIo>,
    /// `inline::faiss`, …, for messages.
    pub provider_type: String,
}

/// run.yaml's `vector_stores:` defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defaults {
    pub provider_id: Option<String>,
    /// A model identifier (`provider_id/model_id`).
    pub embedding_model: Option<String>,
}

/// Registered models, to check a store's embedding model and read its dimension.
#[async_trait]
pub trait EmbeddingModels: Send + Sync {
    /// The model registered under `identifier`, if the caller may read it; a not-found error
    /// otherwise.
    async fn get(&self, ctx: &RequestContext, identifier: &str) -> Result<Model>;
}

/// What the service calls: the other APIs it depends on.
#[derive(Clone)]
pub struct Dependencies {
    pub inference: Arc<dyn Inference>,
    pub files: Option<Arc<dyn Files>>,
    pub models: Arc<dyn EmbeddingModels>,
}

/// The vector stores service; cheap to clone.
#[derive(Clone)]
pub struct VectorStoresService {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct StoreState {
    pub row: StoreRow,
    pub files: BTreeMap<String, FileRow>,
    /// Files whose ingestion is running now (claimed under this lock).
    pub ingesting: HashSet<String>,
    /// Set when the store is deleted, for operations that got its handle before.
    pub deleted: bool,
}

impl StoreState {
    fn new(row: StoreRow) -> StoreState {
        StoreState { row, files: BTreeMap::new(), ingesting: HashSet::new(), deleted: false }
    }
}

pub(crate) type StoreHandle = Arc<tokio::sync::Mutex<StoreState>>;

pub(crate) struct Inner {
    pub providers: BTreeMap<String, VectorIoProvider>,
    pub defaults: Defaults,
    pub records: Records,
    deps: Dependencies,
    /// Supervises ingestion, file batches and the expiry sweeper.
    pub tasks: Tasks,
    /// This process's lock (and last view) of each store it has touched.
    pub stores: RwLock<BTreeMap<String, StoreHandle>>,
    /// This process among the replicas sharing the records.
    pub presence: Arc<Presence>,
    /// Bounds CPU-heavy parsing and chunking running at once on the blocking pool.
    pub parse_slots: Semaphore,
    clock: AtomicI64,
}

impl VectorStoresService {
    /// Loads the stores, files and batches kept in `kv`; call [`Self::start`] next.
    pub async fn open(
        providers: BTreeMap<String, VectorIoProvider>,
        kv: Arc<dyn KvStore>,
        defaults: Defaults,
        deps: Dependencies,
        tasks: Tasks,
    ) -> Result<Self> {
        if providers.is_empty() {
            return Err(Error::invalid("the vector stores service needs at least one vector_io provider"));
        }
        if let Some(p) = &defaults.provider_id
            && !providers.contains_key(p)
        {
            return Err(Error::invalid(format!(
                "vector_stores.default_provider_id: '{p}' is not a vector_io provider of this stack (available: {})",
                providers.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let records = Records::new(kv.clone());
        let now = lls_api_common::unix_now();
        for batch in records.all::<BatchRow>(keys::BATCHES).await? {
            if batch.expires_at < now || records.get::<StoreRow>(&keys::store(&batch.vector_store_id)).await?.is_none() {
                records.delete(&keys::batch(&batch.id)).await?;
            }
        }
        let presence = Presence::join(kv, &tasks, keys::REPLICAS).await?;
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let inner = Inner {
            providers,
            defaults,
            records,
            deps,
            tasks,
            stores: RwLock::new(BTreeMap::new()),
            presence,
            parse_slots: Semaphore::new(cpus),
            clock: AtomicI64::new(0),
        };
        Ok(VectorStoresService { inner: Arc::new(inner) })
    }

    /// Takes over ingestion that no running replica does (interrupted by a restart, or left by
    /// a replica that died), and starts the sweepers that keep doing so and remove expired
    /// chunks.
    pub async fn start(&self) -> Result<()> {
        self.inner.record_unowned_work().await?;
        self.inner.take_over_abandoned().await?;
        crate::work::spawn_takeover_sweeper(&self.inner.tasks, Arc::downgrade(&self.inner));
        crate::native::spawn_expiry_sweeper(&self.inner.tasks, Arc::downgrade(&self.inner));
        Ok(())
    }

    /// Takes over, once, the ingestion of files whose replica is gone (the sweeper does this
    /// every few seconds); answers how many files it took.
    pub async fn take_over_abandoned(&self) -> Result<usize> {
        self.inner.take_over_abandoned().await
    }

    /// Removes natively inserted chunks whose `ttl_seconds` ran out by `now` (the sweeper calls
    /// this periodically).
    pub async fn sweep_expired(&self, now: i64) -> Result<usize> {
        self.inner.sweep_expired(now).await
    }

    /// Waits until no file of any store is being ingested or waiting for it (for tests and
    /// orderly shutdown).
    pub async fn idle(&self) {
        loop {
            match self.inner.records.all_raw(keys::WORK).await {
                Ok(work) if work.is_empty() => return,
                Ok(_) => {}
                Err(e) => tracing::warn!("could not read the ingestion work records: {e}"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

impl Inner {
    pub fn deps(&self) -> Result<&Dependencies> {
        Ok(&self.deps)
    }

    /// A strictly increasing nanosecond clock, for stable ordering.
    pub fn now_ns(&self) -> i64 {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or_default();
        let prev = self.clock.fetch_max(wall, Ordering::SeqCst);
        if prev >= wall { self.clock.fetch_add(1, Ordering::SeqCst) + 1 } else { wall }
    }

    /// The store, its records read afresh under this process's lock, or 0.3.5's error for an
    /// id no provider serves (a 400, as its clients expect).
    pub async fn store(&self, id: &str) -> Result<StoreHandle> {
        lls_api_vector_io::limits::check_store_id(id)?;
        let known = self.stores.read().get(id).cloned();
        let handle = match known {
            Some(handle) => handle,
            // A store this process has not touched yet: a handle only for one that exists.
            None => {
                let Some(row) = self.records.get::<StoreRow>(&keys::store(id)).await? else {
                    return Err(self.not_served(id));
                };
                let fresh = Arc::new(tokio::sync::Mutex::new(StoreState::new(row)));
                self.stores.write().entry(id.to_owned()).or_insert(fresh).clone()
            }
        };
        {
            // Read under the lock: what this process's earlier operations wrote is in the
            // records by then.
            let mut state = handle.lock().await;
            let Some(row) = self.records.get::<StoreRow>(&keys::store(id)).await? else {
                drop(state);
                return Err(self.forget(id).await);
            };
            let files = self.records.all::<FileRow>(&keys::files_of(id)).await?;
            state.row = row;
            state.files = files.into_iter().map(|f| (f.object.id.clone(), f)).collect();
            state.deleted = false;
        }
        Ok(handle)
    }

    /// The store's record alone, read afresh (for operations that need neither its files nor
    /// this process's lock).
    pub async fn row(&self, id: &str) -> Result<StoreRow> {
        lls_api_vector_io::limits::check_store_id(id)?;
        self.records.get::<StoreRow>(&keys::store(id)).await?.ok_or_else(|| self.not_served(id))
    }

    /// Drops this process's view of a store that no longer exists; answers the not-served error.
    async fn forget(&self, id: &str) -> Error {
        let gone = self.stores.write().remove(id);
        if let Some(handle) = gone {
            handle.lock().await.deleted = true;
        }
        self.not_served(id)
    }

    pub fn not_served(&self, id: &str) -> Error {
        let ids: Vec<&str> = self.providers.keys().map(String::as_str).collect();
        let served_by = match ids.as_slice() {
            [only] => format!("provider: `{only}`"),
            many => format!("any of the providers: {}", many.join(", ")),
        };
        Error::invalid(format!(
            "Vector_store `{id}` not served by {served_by}. Make sure there is an VectorIO provider serving this vector_store."
        ))
        .with_param("vector_store_id")
    }

    /// The provider keeping a store's index.
    pub fn provider(&self, row: &StoreRow) -> Result<&VectorIoProvider> {
        self.providers.get(&row.provider_id).ok_or_else(|| {
            Error::new(
                ErrorKind::UpstreamUnavailable,
                format!(
                    "vector store '{}' is kept by vector_io provider '{}', which this stack no longer configures",
                    row.id, row.provider_id
                ),
            )
        })
    }
}

/// "File x not found in vector store y", as 0.3.5 words it (a 400).
pub(crate) fn file_not_in_store(file_id: &str, store_id: &str) -> Error {
    Error::invalid(format!("File {file_id} not found in vector store {store_id}")).with_param("file_id")
}

#[async_trait]
impl VectorStores for VectorStoresService {
    async fn create_vector_store(&self, ctx: &RequestContext, request: CreateVectorStoreRequest) -> Result<VectorStoreObject> {
        self.inner.create_store(ctx, request).await
    }

    async fn list_vector_stores(&self, ctx: &RequestContext, query: ListQuery) -> Result<ListPage<VectorStoreObject>> {
        self.inner.list_stores(ctx, query).await
    }

    async fn retrieve_vector_store(&self, ctx: &RequestContext, vector_store_id: &str) -> Result<VectorStoreObject> {
        self.inner.authorize(ctx, vector_store_id, Action::Read).await?;
        self.inner.retrieve_store(vector_store_id).await
    }

    async fn update_vector_store(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        request: UpdateVectorStoreRequest,
    ) -> Result<VectorStoreObject> {
        self.inner.authorize(ctx, vector_store_id, Action::Update).await?;
        self.inner.update_store(vector_store_id, request).await
    }

    async fn delete_vector_store(&self, ctx: &RequestContext, vector_store_id: &str) -> Result<VectorStoreDeleted> {
        self.inner.authorize(ctx, vector_store_id, Action::Delete).await?;
        self.inner.delete_store(vector_store_id).await
    }

    async fn search_vector_store(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        request: SearchRequest,
    ) -> Result<SearchResultsPage> {
        self.inner.authorize(ctx, vector_store_id, Action::Read).await?;
        self.inner.search(ctx, vector_store_id, request).await
    }

    async fn attach_file(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        request: AttachFileRequest,
    ) -> Result<VectorStoreFileObject> {
        self.inner.authorize(ctx, vector_store_id, Action::Update).await?;
        self.inner.attach_file(ctx, vector_store_id, request).await
    }

    async fn list_files(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        query: ListFilesQuery,
    ) -> Result<ListPage<VectorStoreFileObject>> {
        self.inner.authorize(ctx, vector_store_id, Action::Read).await?;
        self.inner.list_files(vector_store_id, query).await
    }

    async fn retrieve_file(&self, ctx: &RequestContext, vector_store_id: &str, file_id: &str) -> Result<VectorStoreFileObject> {
        self.inner.authorize(ctx, vector_store_id, Action::Read).await?;
        self.inner.retrieve_file(vector_store_id, file_id).await
    }

    async fn file_contents(&self, ctx: &RequestContext, vector_store_id: &str, file_id: &str) -> Result<VectorStoreFileContents> {
        self.inner.authorize(ctx, vector_store_id, Action::Read).await?;
        self.inner.file_contents(vector_store_id, file_id).await
    }

    async fn update_file(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        file_id: &str,
        request: UpdateFileRequest,
    ) -> Result<VectorStoreFileObject> {
        self.inner.authorize(ctx, vector_store_id, Action::Update).await?;
        self.inner.update_file(vector_store_id, file_id, request).await
    }

    async fn delete_file(&self, ctx: &RequestContext, vector_store_id: &str, file_id: &str) -> Result<VectorStoreFileDeleted> {
        self.inner.authorize(ctx, vector_store_id, Action::Delete).await?;
        self.inner.delete_file(vector_store_id, file_id).await
    }

    async fn create_file_batch(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        request: CreateFileBatchRequest,
    ) -> Result<VectorStoreFileBatchObject> {
        self.inner.authorize(ctx, vector_store_id, Action::Update).await?;
        self.inner.create_batch(ctx, vector_store_id, request).await
    }

    async fn retrieve_file_batch(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        batch_id: &str,
    ) -> Result<VectorStoreFileBatchObject> {
        self.inner.authorize(ctx, vector_store_id, Action::Read).await?;
        self.inner.retrieve_batch(vector_store_id, batch_id).await
    }

    async fn list_files_in_batch(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        batch_id: &str,
        query: ListFilesQuery,
    ) -> Result<ListPage<VectorStoreFileObject>> {
        self.inner.authorize(ctx, vector_store_id, Action::Read).await?;
        self.inner.list_batch_files(vector_store_id, batch_id, query).await
    }

    async fn cancel_file_batch(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        batch_id: &str,
    ) -> Result<VectorStoreFileBatchObject> {
        self.inner.authorize(ctx, vector_store_id, Action::Update).await?;
        self.inner.cancel_batch(vector_store_id, batch_id).await
    }

    async fn insert_chunks(
        &self,
        ctx: &RequestContext,
        vector_db_id: &str,
        chunks: Vec<Chunk>,
        ttl_seconds: Option<i64>,
    ) -> Result<()> {
        self.inner.authorize(ctx, vector_db_id, Action::Update).await?;
        self.inner.insert_chunks(ctx, vector_db_id, chunks, ttl_seconds).await
    }

    async fn query_chunks(
        &self,
        ctx: &RequestContext,
        vector_db_id: &str,
        query: &Value,
        params: QueryParams,
    ) -> Result<QueryChunksResponse> {
        self.inner.authorize(ctx, vector_db_id, Action::Read).await?;
        self.inner.query_chunks(ctx, vector_db_id, query, params).await
    }
}
