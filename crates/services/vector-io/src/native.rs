//! The native vector_io operations: insert chunks (ids as 0.3.5 makes them, embeddings for
//! chunks without one, optional expiry) and query chunks; and the sweeper that removes expired
//! chunks.

use std::sync::{Arc, Weak};
use std::time::Duration;

use lls_api_common::{Error, RequestContext, Result, Tasks, unix_now};
use lls_api_vector_io::{Chunk, EmbeddedChunk, QueryChunksResponse, QueryParams};
use serde_json::Value;

use crate::embedding::embed_texts;
use crate::ingestion::insert_all;
use crate::records::{ExpiryRow, keys};
use crate::search::Query;
use crate::service::Inner;

/// How often expired chunks are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

impl Inner {
    pub async fn insert_chunks(
        &self,
        ctx: &RequestContext,
        store_id: &str,
        chunks: Vec<Chunk>,
        ttl_seconds: Option<i64>,
    ) -> Result<()> {
        if let Some(ttl) = ttl_seconds
            && ttl <= 0
        {
            return Err(Error::invalid(format!("ttl_seconds must be positive, got {ttl}")).with_param("ttl_seconds"));
        }
        let target = {
            let row = self.row(store_id).await?;
            self.target(&row)?
        };
        if chunks.is_empty() {
            return Ok(());
        }
        let dimension = target.embedding.dimension;
        let mut chunks: Vec<Chunk> = chunks.into_iter().map(Chunk::normalized).collect();
        let mut to_embed = Vec::new();
        for (i, c) in chunks.iter_mut().enumerate() {
            if let Some(doc) = c.metadata.get("document_id")
                && !doc.is_string()
            {
                return Err(Error::invalid(format!("chunks[{i}].metadata.document_id must be a string, got {doc}"))
                    .with_param(format!("chunks[{i}].metadata.document_id")));
            }
            if c.chunk_id.is_none() {
                c.chunk_id = Some(generated_id(c));
            }
            match &c.embedding {
                Some(e) if e.len() != dimension => {
                    return Err(Error::invalid(format!(
                        "chunks[{i}].embedding has dimension {}, but vector store '{store_id}' has dimension {dimension}",
                        e.len()
                    ))
                    .with_param(format!("chunks[{i}].embedding")));
                }
                Some(_) => {}
                None => {
                    let text = c.content_text();
                    if text.trim().is_empty() {
                        return Err(Error::invalid(format!("chunks[{i}] has no text to embed; give it an embedding"))
                            .with_param(format!("chunks[{i}].content")));
                    }
                    if let Some(m) = c.chunk_metadata.as_mut() {
                        m.chunk_embedding_model = Some(target.embedding.model.clone());
                        m.chunk_embedding_dimension = Some(dimension);
                    }
                    to_embed.push((i, text));
                }
            }
        }
        let (positions, texts): (Vec<usize>, Vec<String>) = to_embed.into_iter().unzip();
        let inference = self.deps()?.inference.clone();
        let vectors = embed_texts(inference.as_ref(), ctx, &target.embedding, texts).await?;
        let mut vectors_by_position: Vec<Option<Vec<f32>>> = vec![None; chunks.len()];
        for (p, v) in positions.into_iter().zip(vectors) {
            if let Some(slot) = vectors_by_position.get_mut(p) {
                *slot = Some(v);
            }
        }
        let keep_copies = !target.provider.search_modes().keyword;
        let mut embedded = Vec::with_capacity(chunks.len());
        for (mut chunk, computed) in chunks.into_iter().zip(vectors_by_position) {
            let embedding = match (chunk.embedding.take(), computed) {
                (Some(given), _) => given,
                (None, Some(v)) => v,
                (None, None) => return Err(Error::internal("a chunk was left without an embedding")),
            };
            let chunk_id = chunk.chunk_id.clone().unwrap_or_default();
            embedded.push(EmbeddedChunk { chunk_id, chunk, embedding });
        }
        let copies: Vec<Chunk> = if keep_copies { embedded.iter().map(|e| e.chunk.clone()).collect() } else { Vec::new() };
        let ids: Vec<String> = embedded.iter().map(|e| e.chunk_id.clone()).collect();
        insert_all(&target, embedded).await?;
        for c in &copies {
            self.records.put(&keys::native(store_id, c.chunk_id.as_deref().unwrap_or_default()), c).await?;
        }
        if let Some(ttl) = ttl_seconds {
            let row = ExpiryRow { vector_store_id: store_id.to_owned(), chunk_ids: ids };
            let key = keys::expiry(unix_now().saturating_add(ttl), &uuid::Uuid::new_v4().to_string());
            self.records.put(&key, &row).await?;
        }
        Ok(())
    }

    pub async fn query_chunks(
        &self,
        ctx: &RequestContext,
        store_id: &str,
        query: &Value,
        params: QueryParams,
    ) -> Result<QueryChunksResponse> {
        let plan = params.plan(query)?;
        let target = {
            let row = self.row(store_id).await?;
            self.target(&row)?
        };
        let query = Query {
            text: &plan.query,
            mode: plan.mode,
            k: plan.max_chunks,
            score_threshold: plan.score_threshold,
            ranker: plan.ranker,
        };
        let hits = self.run_query(ctx, &target, &query).await?;
        let (chunks, scores) = hits
            .into_iter()
            .map(|mut h| {
                h.chunk.embedding = None;
                (h.chunk, h.score)
            })
            .unzip();
        Ok(QueryChunksResponse { chunks, scores })
    }

    /// Removes chunks whose expiry is at or before `now`; answers how many expiry records ran out.
    pub async fn sweep_expired(&self, now: i64) -> Result<usize> {
        let due = self.records.keys_until(keys::EXPIRIES, &format!("{now:020}:\u{10FFFF}")).await?;
        for key in &due {
            if let Some(row) = self.records.get::<ExpiryRow>(key).await? {
                let target = match self.row(&row.vector_store_id).await {
                    Ok(store) => self.target(&store).ok(),
                    Err(_) => None,
                };
                if let Some(target) = target {
                    target
                        .provider
                        .delete_chunks(&row.vector_store_id, &row.chunk_ids)
                        .await
                        .map_err(|e| e.with_provider(target.provider_id.clone()))?;
                    for id in &row.chunk_ids {
                        self.records.delete(&keys::native(&row.vector_store_id, id)).await?;
                    }
                }
            }
            self.records.delete(key).await?;
        }
        Ok(due.len())
    }
}

/// 0.3.5's id for a chunk that has none: from its document id (or a random one) and its content.
fn generated_id(chunk: &Chunk) -> String {
    let content = match &chunk.content {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let document = chunk.document_id().map(str::to_owned).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    lls_ingest::chunk_id(&document, &content, None)
}

/// Sweeps expired chunks every [`SWEEP_EVERY`] until the service is dropped or the stack stops.
pub(crate) fn spawn_expiry_sweeper(tasks: &Tasks, inner: Weak<Inner>) {
    let stop = tasks.stop_token();
    tasks.spawn("sweep expired vector store chunks", async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let Some(inner) = inner.upgrade() else { return };
            if let Err(e) = inner.sweep_expired(unix_now()).await {
                tracing::warn!("removing expired vector store chunks failed: {e}");
            }
            drop::<Arc<Inner>>(inner);
        }
    });
}
