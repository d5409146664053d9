//! An in-memory [`VectorIo`] by brute force, for the vector stores service's tests and as the
//! reference the vector_io conformance suite runs against.
//!
//! Vector scores are `1 / L2 distance` (`f32::MAX` for an exact match), as `inline::sqlite-vec`
//! scores them; keyword scores are the number of query-term occurrences in the chunk's text
//! (case-insensitive, words split on anything not alphanumeric). [`FakeVectorIo::reopen`] gives a
//! second handle on the same state, standing in for a restart on persistent storage.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{Error, Result};
use lls_api_vector_io::{EmbeddedChunk, IndexSpec, ScoredChunk, SearchModes, VectorIo};
use parking_lot::RwLock;

/// One store: its spec and its chunks in insertion order.
#[derive(Debug, Clone)]
struct Index {
    spec: IndexSpec,
    chunks: Vec<EmbeddedChunk>,
    positions: HashMap<String, usize>,
}

impl Index {
    fn upsert(&mut self, chunk: EmbeddedChunk) {
        match self.positions.get(&chunk.chunk_id) {
            Some(&i) => self.chunks[i] = chunk,
            None => {
                self.positions
                    .insert(chunk.chunk_id.clone(), self.chunks.len());
                self.chunks.push(chunk);
            }
        }
    }

    fn remove(&mut self, ids: &[String]) {
        self.chunks.retain(|c| !ids.contains(&c.chunk_id));
        self.positions = self
            .chunks
            .iter()
            .enumerate()
            .map(|(i, c)| (c.chunk_id.clone(), i))
            .collect();
    }

    fn check_dimension(&self, len: usize, what: &str) -> Result<()> {
        let dim = self.spec.embedding_dimension;
        if len == dim {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "{what} has dimension {len}, but vector store '{}' has dimension {dim}",
            self.spec.vector_store_id
        )))
    }
}

/// The in-memory vector database; cheap to clone (clones share the stores).
#[derive(Debug, Clone)]
pub struct FakeVectorIo {
    stores: Arc<RwLock<HashMap<String, Index>>>,
    keyword: bool,
}

impl Default for FakeVectorIo {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeVectorIo {
    /// A fake answering vector, keyword and hybrid queries.
    pub fn new() -> Self {
        FakeVectorIo {
            stores: Arc::default(),
            keyword: true,
        }
    }

    /// A fake without keyword search (`query_keyword` is unsupported), like `inline::faiss`.
    pub fn vector_only() -> Self {
        FakeVectorIo {
            keyword: false,
            ..Self::new()
        }
    }

    /// A new provider over the same stores, as if the process had restarted on the same disk.
    pub fn reopen(&self) -> Self {
        self.clone()
    }

    fn read<T>(&self, id: &str, f: impl FnOnce(&Index) -> Result<T>) -> Result<T> {
        let stores = self.stores.read();
        f(stores.get(id).ok_or_else(|| not_found(id))?)
    }

    fn write<T>(&self, id: &str, f: impl FnOnce(&mut Index) -> Result<T>) -> Result<T> {
        let mut stores = self.stores.write();
        f(stores.get_mut(id).ok_or_else(|| not_found(id))?)
    }
}

fn not_found(id: &str) -> Error {
    Error::not_found(format!("Vector store '{id}' not found"))
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// `1 / distance`, with an exact match scoring the largest finite `f32` (JSON has no infinity).
pub fn score_from_distance(distance: f32) -> f32 {
    if distance > 0.0 {
        1.0 / distance
    } else {
        f32::MAX
    }
}

/// Lowercased alphanumeric words.
fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The best `k` of `(score, insertion position, chunk)` at or above `threshold`, best first.
fn best(
    mut scored: Vec<(f32, usize, &EmbeddedChunk)>,
    k: usize,
    threshold: f32,
) -> Vec<ScoredChunk> {
    scored.retain(|(s, _, _)| *s >= threshold);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(k)
        .map(|(score, _, c)| {
            let mut chunk = c.chunk.clone();
            chunk.chunk_id = Some(c.chunk_id.clone());
            ScoredChunk { chunk, score }
        })
        .collect()
}

#[async_trait]
impl VectorIo for FakeVectorIo {
    fn search_modes(&self) -> SearchModes {
        SearchModes {
            vector: true,
            keyword: self.keyword,
        }
    }

    async fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        if spec.embedding_dimension == 0 {
            return Err(Error::invalid("embedding_dimension must be at least 1"));
        }
        let mut stores = self.stores.write();
        if let Some(existing) = stores.get(&spec.vector_store_id) {
            if existing.spec.embedding_dimension != spec.embedding_dimension {
                return Err(Error::conflict(format!(
                    "Vector store '{}' exists with dimension {}, not {}",
                    spec.vector_store_id,
                    existing.spec.embedding_dimension,
                    spec.embedding_dimension
                )));
            }
            return Ok(());
        }
        stores.insert(
            spec.vector_store_id.clone(),
            Index {
                spec: spec.clone(),
                chunks: Vec::new(),
                positions: HashMap::new(),
            },
        );
        Ok(())
    }

    async fn delete_index(&self, vector_store_id: &str) -> Result<()> {
        self.stores.write().remove(vector_store_id);
        Ok(())
    }

    async fn insert(&self, vector_store_id: &str, chunks: Vec<EmbeddedChunk>) -> Result<()> {
        self.write(vector_store_id, |index| {
            for c in &chunks {
                index.check_dimension(
                    c.embedding.len(),
                    &format!("the embedding of chunk '{}'", c.chunk_id),
                )?;
            }
            chunks.into_iter().for_each(|c| index.upsert(c));
            Ok(())
        })
    }

    async fn delete_chunks(&self, vector_store_id: &str, chunk_ids: &[String]) -> Result<()> {
        self.write(vector_store_id, |index| {
            index.remove(chunk_ids);
            Ok(())
        })
    }

    async fn query_vector(
        &self,
        vector_store_id: &str,
        embedding: &[f32],
        k: usize,
        score_threshold: f32,
    ) -> Result<Vec<ScoredChunk>> {
        self.read(vector_store_id, |index| {
            index.check_dimension(embedding.len(), "the query embedding")?;
            let scored = index
                .chunks
                .iter()
                .enumerate()
                .map(|(i, c)| (score_from_distance(l2(&c.embedding, embedding)), i, c))
                .collect();
            Ok(best(scored, k, score_threshold))
        })
    }

    async fn query_keyword(
        &self,
        vector_store_id: &str,
        query: &str,
        k: usize,
        score_threshold: f32,
    ) -> Result<Vec<ScoredChunk>> {
        if !self.keyword {
            return Err(Error::unsupported(
                "Keyword search is not supported by this vector_io provider",
            ));
        }
        let wanted = terms(query);
        self.read(vector_store_id, |index| {
            let scored = index
                .chunks
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    let hits = terms(&c.chunk.content_text())
                        .iter()
                        .filter(|t| wanted.contains(t))
                        .count();
                    (hits > 0).then_some((hits as f32, i, c))
                })
                .collect();
            Ok(best(scored, k, score_threshold))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::ErrorKind;
    use lls_api_vector_io::Chunk;
    use serde_json::Map;

    fn spec(id: &str, dim: usize) -> IndexSpec {
        IndexSpec {
            vector_store_id: id.into(),
            embedding_model: "m".into(),
            embedding_dimension: dim,
        }
    }

    fn ec(id: &str, text: &str, v: Vec<f32>) -> EmbeddedChunk {
        EmbeddedChunk {
            chunk_id: id.into(),
            chunk: Chunk::text(text, Map::new()),
            embedding: v,
        }
    }

    #[tokio::test]
    async fn exact_match_scores_max_and_others_one_over_distance() {
        let f = FakeVectorIo::new();
        f.create_index(&spec("s", 2)).await.unwrap();
        f.insert(
            "s",
            vec![ec("a", "a", vec![0.0, 0.0]), ec("b", "b", vec![3.0, 4.0])],
        )
        .await
        .unwrap();
        let r = f.query_vector("s", &[0.0, 0.0], 2, 0.0).await.unwrap();
        assert_eq!(r[0].score, f32::MAX);
        assert!((r[1].score - 0.2).abs() < 1e-6);
        assert_eq!(r[1].chunk.chunk_id.as_deref(), Some("b"));
    }

    #[tokio::test]
    async fn keyword_scores_count_term_occurrences() {
        let f = FakeVectorIo::new();
        f.create_index(&spec("s", 1)).await.unwrap();
        f.insert(
            "s",
            vec![
                ec("a", "Llama llama red", vec![0.0]),
                ec("b", "one llama", vec![1.0]),
            ],
        )
        .await
        .unwrap();
        let r = f.query_keyword("s", "LLAMA red", 5, 0.0).await.unwrap();
        assert_eq!(
            r.iter().map(|c| (c.id(), c.score)).collect::<Vec<_>>(),
            [("a", 3.0), ("b", 1.0)]
        );
    }

    #[tokio::test]
    async fn vector_only_refuses_keyword_and_conflicting_specs_are_refused() {
        let f = FakeVectorIo::vector_only();
        f.create_index(&spec("s", 2)).await.unwrap();
        assert_eq!(
            f.query_keyword("s", "x", 1, 0.0).await.unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(
            f.create_index(&spec("s", 3)).await.unwrap_err().kind(),
            ErrorKind::Conflict
        );
        assert_eq!(
            f.create_index(&spec("t", 0)).await.unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
    }
}
