//! The vector_io API: [`Chunk`]s as 0.3.5 shapes them, and the [`VectorIo`] trait that a vector
//! database provider (`inline::faiss`, `inline::sqlite-vec`, pgvector, Milvus, …) implements.
//!
//! Providers are index-level: they keep chunks with their embeddings per vector store and answer
//! vector and keyword queries. Everything OpenAI-shaped (vector store objects, file attachment,
//! chunking, embedding, filters, hybrid ranking) is done once, above them, by the vector stores
//! service, so every provider behaves the same. That service's contract is [`VectorStores`],
//! with OpenAI's vector store shapes in [`store`], [`file`], [`search`] and [`filter`], and the
//! native insert/query shapes in [`native`].

pub mod chunk;
pub mod file;
pub mod filter;
mod layered;
pub mod limits;
pub mod native;
pub mod ranking;
pub mod search;
pub mod store;
pub mod vector_stores;

pub use chunk::{Chunk, ChunkMetadata, QueryChunksResponse};
pub use file::{
    AttachFileRequest, ChunkingStrategy, CreateFileBatchRequest, FileLastError, FileStatus,
    LastErrorCode, ListFilesQuery, StaticChunking, UpdateFileRequest, VectorStoreFileBatchObject,
    VectorStoreFileContents, VectorStoreFileDeleted, VectorStoreFileObject,
};
pub use filter::Filter;
pub use native::{InsertChunksRequest, QueryChunksRequest, QueryParams, QueryPlan};
pub use ranking::{Ranker, combine_hybrid};
pub use search::{
    RankingOptions, SearchMode, SearchPlan, SearchQuery, SearchRequest, SearchResult,
    SearchResultsPage, VectorStoreContent,
};
pub use store::{
    CreateVectorStoreRequest, FileCounts, ListPage, ListQuery, StoreExpiresAfter, StoreStatus,
    UpdateVectorStoreRequest, VectorStoreDeleted, VectorStoreObject,
};
pub use vector_stores::VectorStores;

/// The vector_io API: providers build index-level `dyn VectorIo`; dependents get the vector
/// stores service as `dyn VectorStores`.
#[derive(Debug)]
pub struct VectorIoApi;

impl lls_api_common::ApiSpec for VectorIoApi {
    const API: lls_api_common::Api = lls_api_common::Api::VectorIo;
    type Provider = dyn VectorIo;
    type Service = dyn VectorStores;

    fn layer(provider: Arc<dyn VectorIo>, calls: &lls_api_common::CallStack) -> Arc<dyn VectorIo> {
        Arc::new(layered::Layered {
            inner: provider,
            calls: calls.clone(),
        })
    }

    fn health(provider: &dyn VectorIo) -> futures::future::BoxFuture<'_, HealthStatus> {
        provider.health()
    }
}

/// Registers a vector_io provider; `build` must return `Arc<dyn VectorIo>`.
#[macro_export]
macro_rules! register_provider {
    ($($body:tt)*) => {
        $crate::__common::__register_provider! { spec: $crate::VectorIoApi, $($body)* }
    };
}

#[doc(hidden)]
pub use lls_api_common as __common;

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{Error, HealthStatus, Result};
use serde::{Deserialize, Serialize};

/// What a provider is told when a vector store is created on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexSpec {
    pub vector_store_id: String,
    pub embedding_model: String,
    pub embedding_dimension: usize,
}

/// A chunk ready to store: its id is set and its embedding has the index's dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedChunk {
    pub chunk_id: String,
    pub chunk: Chunk,
    pub embedding: Vec<f32>,
}

/// A query result: the chunk (with `chunk_id` set) and its provider-specific score, higher is better.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredChunk {
    pub chunk: Chunk,
    pub score: f32,
}

impl ScoredChunk {
    /// The stored id (providers always return chunks with one).
    pub fn id(&self) -> &str {
        self.chunk.chunk_id.as_deref().unwrap_or_default()
    }

    /// A result from a chunk stored as JSON under `id` (providers that keep chunks as text).
    pub fn from_stored(id: String, json: &str, score: f32) -> Result<Self> {
        let mut chunk: Chunk = serde_json::from_str(json)
            .map_err(|e| Error::internal(format!("chunk '{id}' is stored as invalid JSON: {e}")))?;
        chunk.chunk_id = Some(id);
        Ok(ScoredChunk { chunk, score })
    }
}

impl EmbeddedChunk {
    /// The chunks of one write with each id once: a later chunk with an id replaces the
    /// earlier one in its place; every chunk's own `chunk_id` is set to its id.
    pub fn last_per_id(chunks: Vec<EmbeddedChunk>) -> Vec<EmbeddedChunk> {
        let mut position = std::collections::HashMap::with_capacity(chunks.len());
        let mut out: Vec<EmbeddedChunk> = Vec::with_capacity(chunks.len());
        for mut c in chunks {
            c.chunk.chunk_id = Some(c.chunk_id.clone());
            match position.get(&c.chunk_id) {
                Some(&i) => out[i] = c,
                None => {
                    position.insert(c.chunk_id.clone(), out.len());
                    out.push(c);
                }
            }
        }
        out
    }
}

/// Checks `v` against a store of `dimension`: its length, and finite values only.
pub fn check_embedding(store: &str, dimension: usize, v: &[f32], what: &str) -> Result<()> {
    if v.len() != dimension {
        return Err(Error::invalid(format!(
            "{what} has dimension {}, but vector store '{store}' has dimension {dimension}",
            v.len()
        )));
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(Error::invalid(format!(
            "{what} contains a value that is not a finite number"
        )));
    }
    Ok(())
}

/// Which search modes a provider answers itself. Hybrid is derived from vector + keyword by
/// [`combine_hybrid`] unless the provider overrides [`VectorIo::query_hybrid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchModes {
    pub vector: bool,
    pub keyword: bool,
}

/// A vector database holding one index per vector store.
///
/// Calls for a store that was never created (or was deleted) fail with a not-found error.
/// Implementations must be safe to call concurrently and must not block the async runtime
/// (run CPU-heavy or blocking work on `spawn_blocking`).
#[async_trait]
pub trait VectorIo: Send + Sync {
    fn search_modes(&self) -> SearchModes;

    /// Creates the index (idempotent: creating an existing one with the same spec is a no-op).
    async fn create_index(&self, spec: &IndexSpec) -> Result<()>;

    /// Drops the index and every chunk in it. Unknown ids are not an error.
    async fn delete_index(&self, vector_store_id: &str) -> Result<()>;

    /// Inserts chunks; a chunk whose id already exists is replaced.
    async fn insert(&self, vector_store_id: &str, chunks: Vec<EmbeddedChunk>) -> Result<()>;

    /// Removes chunks by id; unknown ids are ignored.
    async fn delete_chunks(&self, vector_store_id: &str, chunk_ids: &[String]) -> Result<()>;

    /// The `k` nearest chunks to `embedding` whose score is at least `score_threshold`, best first.
    async fn query_vector(
        &self,
        vector_store_id: &str,
        embedding: &[f32],
        k: usize,
        score_threshold: f32,
    ) -> Result<Vec<ScoredChunk>>;

    /// The `k` best keyword matches for `query`, best first (higher score is better).
    async fn query_keyword(
        &self,
        vector_store_id: &str,
        query: &str,
        k: usize,
        score_threshold: f32,
    ) -> Result<Vec<ScoredChunk>> {
        let _ = (vector_store_id, query, k, score_threshold);
        Err(Error::unsupported(
            "Keyword search is not supported by this vector_io provider",
        ))
    }

    /// This provider's queries restricted to chunks whose metadata passes `filter`, when it
    /// can evaluate (part of) the filter where the chunks are, as a database expression: the
    /// best `k` are then chosen among the chunks that pass instead of among all of them and
    /// filtered afterwards. `None` (the default) leaves filtering to the caller, which checks
    /// every result against the whole filter either way.
    fn filtered(self: Arc<Self>, filter: &Filter) -> Option<Arc<dyn VectorIo>> {
        let _ = filter;
        None
    }

    /// Vector and keyword results fused by `ranker`. The default runs both queries and combines them.
    async fn query_hybrid(
        &self,
        vector_store_id: &str,
        embedding: &[f32],
        query: &str,
        k: usize,
        score_threshold: f32,
        ranker: Ranker,
    ) -> Result<Vec<ScoredChunk>> {
        let vector = self
            .query_vector(vector_store_id, embedding, k, f32::NEG_INFINITY)
            .await?;
        let keyword = self
            .query_keyword(vector_store_id, query, k, f32::NEG_INFINITY)
            .await?;
        Ok(combine_hybrid(vector, keyword, ranker, k, score_threshold))
    }

    async fn health(&self) -> HealthStatus {
        HealthStatus::ok()
    }
}
