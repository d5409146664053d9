//! The in-memory state of one vector store: its chunks by label and by id, and the faiss
//! index over their embeddings. Mutated under a write lock, searched under a read lock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use lls_api_common::Result;
use lls_api_vector_io::{Chunk, ScoredChunk};

use crate::index::{Centroids, VectorIndex};

/// A chunk ready for the index: its id, the chunk (with `chunk_id` set) and its vector.
pub(crate) struct Row {
    pub id: String,
    pub chunk: Chunk,
    pub embedding: Vec<f32>,
}

/// Which index [`Contents::build`] makes.
pub(crate) enum Plan {
    Flat,
    /// IVF over these centroids.
    Ivf(Centroids),
    /// IVF over centroids trained on the rows.
    TrainIvf,
}

/// One store's chunks and index.
pub(crate) struct Contents {
    index: VectorIndex,
    chunks: HashMap<u64, Arc<Chunk>>,
    labels: HashMap<String, u64>,
    next_label: u64,
}

impl std::fmt::Debug for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contents").field("index", &self.index).field("chunks", &self.chunks.len()).finish()
    }
}

/// `1 / squared L2 distance`, as 0.3.5's faiss provider scores; an exact match scores the
/// largest finite `f32` (JSON has no infinity).
pub(crate) fn score(distance: f32) -> f32 {
    if distance > 0.0 { 1.0 / distance } else { f32::MAX }
}

impl Contents {
    /// Contents holding `rows` (ids unique) in the index `plan` names.
    pub(crate) fn build(dim: usize, rows: Vec<Row>, plan: Plan) -> Result<Self> {
        let labels: Vec<u64> = (0..rows.len() as u64).collect();
        let mut vectors = Vec::with_capacity(rows.len() * dim);
        rows.iter().for_each(|r| vectors.extend_from_slice(&r.embedding));
        let index = match plan {
            Plan::Flat => {
                let mut index = VectorIndex::flat(dim)?;
                index.add(&vectors, &labels)?;
                index
            }
            Plan::Ivf(centroids) => VectorIndex::ivf(dim, &vectors, &labels, centroids)?,
            Plan::TrainIvf => VectorIndex::ivf(dim, &vectors, &labels, Centroids::train(dim, &vectors)?)?,
        };
        let mut contents =
            Contents { index, chunks: HashMap::with_capacity(rows.len()), labels: HashMap::with_capacity(rows.len()), next_label: 0 };
        for (row, label) in rows.into_iter().zip(labels) {
            contents.labels.insert(row.id, label);
            contents.chunks.insert(label, Arc::new(row.chunk));
            contents.next_label = label + 1;
        }
        Ok(contents)
    }

    pub(crate) fn len(&self) -> usize {
        self.chunks.len()
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.labels.contains_key(id)
    }

    /// The label a chunk id is stored under.
    pub(crate) fn label(&self, id: &str) -> Option<u64> {
        self.labels.get(id).copied()
    }

    pub(crate) fn index(&self) -> &VectorIndex {
        &self.index
    }

    /// Adds `rows` (ids unique within the batch); an id already stored is replaced, old vector
    /// included.
    pub(crate) fn upsert(&mut self, rows: Vec<Row>) -> Result<()> {
        let replaced: HashSet<u64> = rows.iter().filter_map(|r| self.labels.get(&r.id).copied()).collect();
        self.index.remove(&replaced)?;
        for label in &replaced {
            self.chunks.remove(label);
        }
        let dim = self.index.dim();
        let mut vectors = Vec::with_capacity(rows.len() * dim);
        let mut labels = Vec::with_capacity(rows.len());
        for row in &rows {
            vectors.extend_from_slice(&row.embedding);
            labels.push(self.next_label + labels.len() as u64);
        }
        self.index.add(&vectors, &labels)?;
        self.next_label += labels.len() as u64;
        for (row, label) in rows.into_iter().zip(labels) {
            self.labels.insert(row.id, label);
            self.chunks.insert(label, Arc::new(row.chunk));
        }
        Ok(())
    }

    /// Removes the chunks with these ids; unknown ids are ignored.
    pub(crate) fn remove(&mut self, ids: &[String]) -> Result<()> {
        let labels: HashSet<u64> = ids.iter().filter_map(|id| self.labels.get(id).copied()).collect();
        self.index.remove(&labels)?;
        for id in ids {
            if let Some(label) = self.labels.remove(id) {
                self.chunks.remove(&label);
            }
        }
        Ok(())
    }

    /// Swaps in a rebuilt index holding the same labels.
    pub(crate) fn set_index(&mut self, index: VectorIndex) {
        self.index = index;
    }

    /// The `k` nearest chunks scoring at least `threshold`, best first.
    pub(crate) fn query(&self, embedding: &[f32], k: usize, threshold: f32, probe_fraction: f64) -> Result<Vec<ScoredChunk>> {
        let hits = self.index.search(embedding, k, probe_fraction)?;
        Ok(hits
            .into_iter()
            .map(|(distance, label)| (score(distance), label))
            .filter(|(s, _)| *s >= threshold)
            .filter_map(|(score, label)| self.chunks.get(&label).map(|c| ScoredChunk { chunk: Chunk::clone(c), score }))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn row(id: &str, x: f32) -> Row {
        let mut chunk = Chunk::text(format!("text {id}"), Map::new());
        chunk.chunk_id = Some(id.into());
        Row { id: id.into(), chunk, embedding: vec![x, 0.0] }
    }

    fn ids(r: &[ScoredChunk]) -> Vec<&str> {
        r.iter().map(ScoredChunk::id).collect()
    }

    #[test]
    fn scores_follow_upstream() {
        assert_eq!(score(0.0), f32::MAX);
        assert_eq!(score(4.0), 0.25);
    }

    #[test]
    fn upsert_replaces_and_remove_forgets() {
        let mut c = Contents::build(2, vec![row("a", 0.0), row("b", 1.0), row("c", 2.0)], Plan::Flat).unwrap();
        c.upsert(vec![row("b", 10.0), row("d", 3.0)]).unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c.index().len(), 4);
        assert_eq!(ids(&c.query(&[0.9, 0.0], 2, 0.0, 1.0).unwrap()), ["a", "c"]);
        assert_eq!(ids(&c.query(&[10.0, 0.0], 1, 0.0, 1.0).unwrap()), ["b"]);
        c.remove(&["a".into(), "zzz".into()]).unwrap();
        assert!(!c.contains("a"));
        assert_eq!(ids(&c.query(&[0.0, 0.0], 10, 0.0, 1.0).unwrap()), ["c", "d", "b"]);
        let r = c.query(&[2.0, 0.0], 10, 0.5, 1.0).unwrap();
        assert_eq!(ids(&r), ["c", "d"], "scores {:?}", r.iter().map(|s| s.score).collect::<Vec<_>>());
        assert_eq!(r[0].score, f32::MAX);
    }
}
