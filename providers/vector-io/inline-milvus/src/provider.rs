//! [`InlineMilvus`]: the Milvus Lite this provider started, and the shared Milvus index over it.
//! Dropping it (or the server shutting down) stops Milvus Lite.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::{BuildContext, HealthStatus, Result};
use lls_api_vector_io::{EmbeddedChunk, Filter, IndexSpec, Ranker, ScoredChunk, SearchModes, VectorIo};
use lls_milvus::{ConnectOptions, MilvusIndex};

use crate::PROVIDER_TYPE;
use crate::config::InlineMilvusConfig;
use crate::server::{MilvusLite, find_executable};

/// The `inline::milvus` vector_io provider.
#[derive(Debug)]
pub struct InlineMilvus {
    // Declared first so it is dropped first: the client goes before the server it talks to.
    index: Arc<MilvusIndex>,
    server: Arc<MilvusLite>,
}

impl InlineMilvus {
    /// The descriptor's build function: starts Milvus Lite and stops it on shutdown.
    pub async fn build(ctx: BuildContext, config: InlineMilvusConfig) -> Result<Arc<dyn VectorIo>> {
        let provider = Self::start(&config).await?;
        let server = provider.server.clone();
        ctx.tasks.on_shutdown("inline::milvus: stop Milvus Lite", move || async move {
            let _ = tokio::task::spawn_blocking(move || server.stop()).await;
        });
        Ok(Arc::new(provider))
    }

    /// Starts Milvus Lite on the config's data directory and connects to it.
    pub async fn start(config: &InlineMilvusConfig) -> Result<InlineMilvus> {
        let executable = find_executable(config.milvus_lite_command.as_deref())?;
        let timeout = Duration::from_secs_f64(config.startup_timeout);
        let server = Arc::new(MilvusLite::start(&executable, &config.data_dir(), timeout).await?);
        let mut options = ConnectOptions::new(server.uri());
        options.connect_timeout = timeout;
        let index = MilvusIndex::connect(PROVIDER_TYPE, &options, config.index_settings()).await?;
        Ok(InlineMilvus { index: Arc::new(index), server })
    }

    /// The Milvus Lite address (`http://127.0.0.1:<port>`).
    pub fn uri(&self) -> &str {
        self.server.uri()
    }

    /// Vector search with metadata filters pushed down where Milvus can evaluate them.
    pub async fn query_vector_filtered(&self, id: &str, embedding: &[f32], k: usize, threshold: f32, filter: Option<&Filter>) -> Result<Vec<ScoredChunk>> {
        self.index.query_vector_filtered(id, embedding, k, threshold, filter).await
    }

    /// Stops Milvus Lite now (blocking until it exits); later calls fail with a 503-kind error.
    pub fn stop(&self) {
        self.server.stop();
    }
}

#[async_trait]
impl VectorIo for InlineMilvus {
    fn search_modes(&self) -> SearchModes {
        self.index.search_modes()
    }
    fn filtered(self: Arc<Self>, filter: &Filter) -> Option<Arc<dyn VectorIo>> {
        self.index.clone().filtered(filter)
    }
    async fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        self.index.create_index(spec).await
    }
    async fn delete_index(&self, vector_store_id: &str) -> Result<()> {
        self.index.delete_index(vector_store_id).await
    }
    async fn insert(&self, vector_store_id: &str, chunks: Vec<EmbeddedChunk>) -> Result<()> {
        self.index.insert(vector_store_id, chunks).await
    }
    async fn delete_chunks(&self, vector_store_id: &str, chunk_ids: &[String]) -> Result<()> {
        self.index.delete_chunks(vector_store_id, chunk_ids).await
    }
    async fn query_vector(&self, vector_store_id: &str, embedding: &[f32], k: usize, score_threshold: f32) -> Result<Vec<ScoredChunk>> {
        self.index.query_vector(vector_store_id, embedding, k, score_threshold).await
    }
    async fn query_keyword(&self, vector_store_id: &str, query: &str, k: usize, score_threshold: f32) -> Result<Vec<ScoredChunk>> {
        self.index.query_keyword(vector_store_id, query, k, score_threshold).await
    }
    async fn query_hybrid(
        &self,
        vector_store_id: &str,
        embedding: &[f32],
        query: &str,
        k: usize,
        score_threshold: f32,
        ranker: Ranker,
    ) -> Result<Vec<ScoredChunk>> {
        self.index.query_hybrid(vector_store_id, embedding, query, k, score_threshold, ranker).await
    }
    async fn health(&self) -> HealthStatus {
        match self.server.exited() {
            Some(status) => HealthStatus::error(format!("inline::milvus: Milvus Lite exited ({status}); its last output:\n{}", self.server.output())),
            None => self.index.health().await,
        }
    }
}
