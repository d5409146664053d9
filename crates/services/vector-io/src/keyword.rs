//! Keyword search for stores on vector-only providers (`inline::faiss`): BM25 over the copies
//! of the store's chunks that the service keeps (file contents, and natively inserted chunks on
//! such providers). It reads the whole store per query, so it suits small and medium stores;
//! providers with their own keyword index never come here.

use std::collections::{HashMap, HashSet};

use lls_api_common::{Error, Result};
use lls_api_vector_io::{Chunk, ScoredChunk};

use crate::records::keys;
use crate::service::Inner;

/// BM25's term-frequency saturation and length normalisation (the usual values).
const K1: f64 = 1.2;
const B: f64 = 0.75;

impl Inner {
    pub async fn keyword_fallback(&self, store_id: &str, query: &str, k: usize, score_threshold: f32) -> Result<Vec<ScoredChunk>> {
        let files = self.records.all_raw(&keys::contents_of(store_id)).await?;
        let natives = self.records.all_raw(&keys::natives_of(store_id)).await?;
        let query = query.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut chunks: Vec<Chunk> = files.iter().filter_map(|raw| serde_json::from_str::<Vec<Chunk>>(raw).ok()).flatten().collect();
            chunks.extend(natives.iter().filter_map(|raw| serde_json::from_str::<Chunk>(raw).ok()));
            bm25(&query, chunks, k, score_threshold)
        })
            .await
            .map_err(|e| Error::internal(format!("keyword search failed: {e}")))
    }
}

/// Lower-cased alphanumeric words.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// The `k` best chunks for `query` by BM25 (chunks sharing no word with it score nothing and are
/// left out), keeping scores of at least `score_threshold`. Duplicate ids count once.
pub(crate) fn bm25(query: &str, chunks: Vec<Chunk>, k: usize, score_threshold: f32) -> Vec<ScoredChunk> {
    let terms: HashSet<String> = words(query).collect();
    let mut seen = HashSet::new();
    let docs: Vec<(Chunk, HashMap<String, usize>, usize)> = chunks
        .into_iter()
        .filter(|c| c.chunk_id.as_ref().is_none_or(|id| seen.insert(id.clone())))
        .map(|c| {
            let mut tf: HashMap<String, usize> = HashMap::new();
            let mut len = 0;
            for w in words(&c.content_text()) {
                len += 1;
                if terms.contains(&w) {
                    *tf.entry(w).or_default() += 1;
                }
            }
            (c, tf, len)
        })
        .collect();
    if docs.is_empty() || terms.is_empty() {
        return Vec::new();
    }
    let n = docs.len() as f64;
    let avg_len = (docs.iter().map(|d| d.2).sum::<usize>() as f64 / n).max(1.0);
    let idf: HashMap<&String, f64> = terms
        .iter()
        .map(|t| {
            let df = docs.iter().filter(|d| d.1.contains_key(t)).count() as f64;
            (t, (1.0 + (n - df + 0.5) / (df + 0.5)).ln())
        })
        .collect();
    let mut scored: Vec<ScoredChunk> = docs
        .into_iter()
        .filter(|d| !d.1.is_empty())
        .map(|(chunk, tf, len)| {
            let score: f64 = tf
                .iter()
                .map(|(t, &f)| {
                    let f = f as f64;
                    idf.get(t).copied().unwrap_or_default() * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * len as f64 / avg_len))
                })
                .sum();
            ScoredChunk { chunk, score: score as f32 }
        })
        .filter(|s| s.score >= score_threshold)
        .collect();
    scored.sort_by(|a, b| b.score.total_cmp(&a.score));
    scored.truncate(k);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn chunk(id: &str, text: &str) -> Chunk {
        let mut c = Chunk::text(text, Map::new());
        c.chunk_id = Some(id.into());
        c
    }

    #[test]
    fn best_match_first_and_misses_left_out() {
        let chunks = vec![
            chunk("a", "Python is a programming language"),
            chunk("b", "Neural networks learn patterns"),
            chunk("c", "Python python python snakes"),
            chunk("c", "duplicate id"),
        ];
        let r = bm25("python language", chunks, 10, 0.0);
        let ids: Vec<&str> = r.iter().map(|s| s.id()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert!(r[0].score > r[1].score);
    }

    #[test]
    fn k_and_threshold_apply() {
        let chunks = vec![chunk("a", "x y"), chunk("b", "x"), chunk("c", "z")];
        assert_eq!(bm25("x", chunks.clone(), 1, 0.0).len(), 1);
        assert!(bm25("x", chunks.clone(), 10, 100.0).is_empty());
        assert!(bm25("", chunks, 10, 0.0).is_empty());
    }
}
