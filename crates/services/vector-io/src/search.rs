//! Searching a store: embed the query, ask the provider for vector, keyword or hybrid results
//! (keyword search falls back to the service's own index for vector-only providers), then
//! apply attribute filters and shape OpenAI's results page.

use lls_api_common::{RequestContext, Result};
use lls_api_vector_io::{
    Ranker, ScoredChunk, SearchMode, SearchRequest, SearchResult, SearchResultsPage, VectorStoreContent, combine_hybrid,
};
use serde_json::Value;

use crate::embedding::embed_texts;
use crate::ingestion::Target;
use crate::service::Inner;

/// Candidates fetched per wanted result, so attribute filters still leave enough (0.3.5's
/// `CHUNK_MULTIPLIER`).
const CANDIDATES_PER_RESULT: usize = 5;

/// What to ask the index.
pub(crate) struct Query<'a> {
    pub text: &'a str,
    pub mode: SearchMode,
    pub k: usize,
    pub score_threshold: f32,
    pub ranker: Ranker,
}

impl Inner {
    pub async fn search(&self, ctx: &RequestContext, store_id: &str, request: SearchRequest) -> Result<SearchResultsPage> {
        let plan = request.plan()?;
        let target = {
            let row = self.row(store_id).await?;
            let mut target = self.target(&row)?;
            // A provider that evaluates the filter itself picks the best among the chunks that
            // pass; every hit is still checked below.
            if let Some(filtered) = plan.filter.as_ref().and_then(|f| target.provider.clone().filtered(f)) {
                target.provider = filtered;
            }
            target
        };
        let query = Query {
            text: &plan.query,
            mode: plan.mode,
            k: plan.max_num_results * CANDIDATES_PER_RESULT,
            score_threshold: plan.score_threshold,
            ranker: plan.ranker,
        };
        let hits = self.run_query(ctx, &target, &query).await?;
        let data = hits
            .into_iter()
            .filter(|h| plan.filter.as_ref().is_none_or(|f| f.matches(&h.chunk.metadata)))
            .take(plan.max_num_results)
            .map(|h| {
                let metadata = h.chunk.metadata;
                let text_of = |key: &str| metadata.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
                SearchResult {
                    file_id: text_of("document_id"),
                    filename: text_of("filename"),
                    score: f64::from(h.score),
                    content: VectorStoreContent::from_content(&h.chunk.content),
                    attributes: metadata,
                }
            })
            .collect();
        Ok(SearchResultsPage::new(plan.query, data))
    }

    /// Runs a query against a store's index, best first, and times it.
    pub async fn run_query(&self, ctx: &RequestContext, target: &Target, query: &Query<'_>) -> Result<Vec<ScoredChunk>> {
        let started = std::time::Instant::now();
        let hits = self.query_index(ctx, target, query).await;
        crate::metrics::searched(&target.provider_id, query.mode, started.elapsed(), hits.is_ok());
        hits
    }

    async fn query_index(&self, ctx: &RequestContext, target: &Target, query: &Query<'_>) -> Result<Vec<ScoredChunk>> {
        let store = target.embedding.store_id.as_str();
        let native_keyword = target.provider.search_modes().keyword;
        let with_provider = |e: lls_api_common::Error| e.with_provider(target.provider_id.clone());
        if query.mode == SearchMode::Keyword {
            return if native_keyword {
                target.provider.query_keyword(store, query.text, query.k, query.score_threshold).await.map_err(with_provider)
            } else {
                self.keyword_fallback(store, query.text, query.k, query.score_threshold).await
            };
        }
        let inference = self.deps()?.inference.clone();
        let embedding = embed_texts(inference.as_ref(), ctx, &target.embedding, vec![query.text.to_owned()])
            .await?
            .pop()
            .unwrap_or_default();
        match query.mode {
            SearchMode::Hybrid if native_keyword => target
                .provider
                .query_hybrid(store, &embedding, query.text, query.k, query.score_threshold, query.ranker)
                .await
                .map_err(with_provider),
            SearchMode::Hybrid => {
                let vector = target
                    .provider
                    .query_vector(store, &embedding, query.k, f32::NEG_INFINITY)
                    .await
                    .map_err(with_provider)?;
                let keyword = self.keyword_fallback(store, query.text, query.k, f32::NEG_INFINITY).await?;
                Ok(combine_hybrid(vector, keyword, query.ranker, query.k, query.score_threshold))
            }
            _ => target
                .provider
                .query_vector(store, &embedding, query.k, query.score_threshold)
                .await
                .map_err(with_provider),
        }
    }
}
