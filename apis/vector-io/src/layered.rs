//! A vector_io provider behind the registry's call layers: every index operation goes through
//! the provider's `CallStack` (error context, metrics, retry of idempotent reads, timeout), so a
//! remote vector database that stalls is cut off with a 504 naming it.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::call::CallStack;
use lls_api_common::{HealthStatus, Result};

use crate::{EmbeddedChunk, Filter, IndexSpec, Ranker, ScoredChunk, SearchModes, VectorIo};

pub(crate) struct Layered {
    pub inner: Arc<dyn VectorIo>,
    pub calls: CallStack,
}

#[async_trait]
impl VectorIo for Layered {
    fn search_modes(&self) -> SearchModes {
        self.inner.search_modes()
    }

    /// The provider's filtered view, behind the same layers.
    fn filtered(self: Arc<Self>, filter: &Filter) -> Option<Arc<dyn VectorIo>> {
        let inner = self.inner.clone().filtered(filter)?;
        Some(Arc::new(Layered { inner, calls: self.calls.clone() }))
    }

    async fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        self.calls
            .repeatable("create_index", None, || {
                let (inner, spec) = (self.inner.clone(), spec.clone());
                async move { inner.create_index(&spec).await }
            })
            .await
    }

    async fn delete_index(&self, vector_store_id: &str) -> Result<()> {
        self.calls
            .repeatable("delete_index", None, || {
                let (inner, id) = (self.inner.clone(), vector_store_id.to_owned());
                async move { inner.delete_index(&id).await }
            })
            .await
    }

    async fn insert(&self, vector_store_id: &str, chunks: Vec<EmbeddedChunk>) -> Result<()> {
        // Not retried: a batch can be large, and one attempt avoids copying it.
        let (inner, id) = (self.inner.clone(), vector_store_id.to_owned());
        self.calls
            .once(
                "insert",
                None,
                async move { inner.insert(&id, chunks).await },
            )
            .await
    }

    async fn delete_chunks(&self, vector_store_id: &str, chunk_ids: &[String]) -> Result<()> {
        self.calls
            .repeatable("delete_chunks", None, || {
                let (inner, id, ids) = (
                    self.inner.clone(),
                    vector_store_id.to_owned(),
                    chunk_ids.to_vec(),
                );
                async move { inner.delete_chunks(&id, &ids).await }
            })
            .await
    }

    async fn query_vector(
        &self,
        vector_store_id: &str,
        embedding: &[f32],
        k: usize,
        score_threshold: f32,
    ) -> Result<Vec<ScoredChunk>> {
        self.calls
            .repeatable("query_vector", None, || {
                let (inner, id, embedding) = (
                    self.inner.clone(),
                    vector_store_id.to_owned(),
                    embedding.to_vec(),
                );
                async move {
                    inner
                        .query_vector(&id, &embedding, k, score_threshold)
                        .await
                }
            })
            .await
    }

    async fn query_keyword(
        &self,
        vector_store_id: &str,
        query: &str,
        k: usize,
        score_threshold: f32,
    ) -> Result<Vec<ScoredChunk>> {
        self.calls
            .repeatable("query_keyword", None, || {
                let (inner, id, query) = (
                    self.inner.clone(),
                    vector_store_id.to_owned(),
                    query.to_owned(),
                );
                async move { inner.query_keyword(&id, &query, k, score_threshold).await }
            })
            .await
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
        self.calls
            .repeatable("query_hybrid", None, || {
                let (inner, id, embedding, query, ranker) = (
                    self.inner.clone(),
                    vector_store_id.to_owned(),
                    embedding.to_vec(),
                    query.to_owned(),
                    ranker,
                );
                async move {
                    inner
                        .query_hybrid(&id, &embedding, &query, k, score_threshold, ranker)
                        .await
                }
            })
            .await
    }

    async fn health(&self) -> HealthStatus {
        self.inner.health().await
    }
}
