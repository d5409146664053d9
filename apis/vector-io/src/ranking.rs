//! Fusing vector and keyword results for hybrid search: reciprocal rank fusion (the default,
//! `k = 60`) and a weighted sum of min-max normalised scores, as 0.3.5's providers rank them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::ScoredChunk;

/// How hybrid search combines its two result lists.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum Ranker {
    /// Reciprocal rank fusion: `Σ 1 / (k + rank)` over the lists a chunk appears in (ranks from 1).
    Rrf { k: f64 },
    /// `alpha · vector + (1 − alpha) · keyword`, each score set min-max normalised first.
    Weighted { alpha: f64 },
}

impl Ranker {
    pub const DEFAULT_RRF_K: f64 = 60.0;
    pub const DEFAULT_ALPHA: f64 = 0.5;
}

impl Default for Ranker {
    fn default() -> Self {
        Ranker::Rrf {
            k: Self::DEFAULT_RRF_K,
        }
    }
}

/// Combines two result lists (each best first) into the `k` best by the fused score, keeping
/// those scoring at least `score_threshold`. A chunk in both lists appears once.
pub fn combine_hybrid(
    vector: Vec<ScoredChunk>,
    keyword: Vec<ScoredChunk>,
    ranker: Ranker,
    k: usize,
    score_threshold: f32,
) -> Vec<ScoredChunk> {
    let vector_scores = match ranker {
        Ranker::Rrf { k } => rrf_scores(&vector, k),
        Ranker::Weighted { .. } => normalized_scores(&vector),
    };
    let keyword_scores = match ranker {
        Ranker::Rrf { k } => rrf_scores(&keyword, k),
        Ranker::Weighted { .. } => normalized_scores(&keyword),
    };
    let (wv, wk) = match ranker {
        Ranker::Rrf { .. } => (1.0, 1.0),
        Ranker::Weighted { alpha } => (alpha, 1.0 - alpha),
    };
    let mut chunks: HashMap<String, ScoredChunk> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for c in vector.into_iter().chain(keyword) {
        let id = c.id().to_owned();
        if let std::collections::hash_map::Entry::Vacant(slot) = chunks.entry(id.clone()) {
            order.push(id);
            slot.insert(c);
        }
    }
    let mut fused: Vec<(f64, usize, String)> = order
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let s = wv * vector_scores.get(&id).copied().unwrap_or(0.0)
                + wk * keyword_scores.get(&id).copied().unwrap_or(0.0);
            (s, i, id)
        })
        .collect();
    // Best first; ties keep first-seen order (vector results before keyword-only ones).
    fused.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    fused
        .into_iter()
        .filter(|(s, _, _)| *s as f32 >= score_threshold)
        .take(k)
        .filter_map(|(s, _, id)| {
            chunks.remove(&id).map(|mut c| {
                c.score = s as f32;
                c
            })
        })
        .collect()
}

fn rrf_scores(results: &[ScoredChunk], k: f64) -> HashMap<String, f64> {
    let mut sorted: Vec<&ScoredChunk> = results.iter().collect();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = HashMap::new();
    for (rank, c) in sorted.into_iter().enumerate() {
        out.entry(c.id().to_owned())
            .or_insert(1.0 / (k + rank as f64 + 1.0));
    }
    out
}

fn normalized_scores(results: &[ScoredChunk]) -> HashMap<String, f64> {
    let (min, max) = results
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
            (lo.min(c.score as f64), hi.max(c.score as f64))
        });
    let range = max - min;
    results
        .iter()
        .map(|c| {
            let n = if range > 0.0 && range.is_finite() {
                (c.score as f64 - min) / range
            } else {
                1.0
            };
            (c.id().to_owned(), n)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Chunk;
    use serde_json::Map;

    fn sc(id: &str, score: f32) -> ScoredChunk {
        let mut chunk = Chunk::text(id, Map::new());
        chunk.chunk_id = Some(id.into());
        ScoredChunk { chunk, score }
    }

    fn ids(r: &[ScoredChunk]) -> Vec<&str> {
        r.iter().map(|c| c.id()).collect()
    }

    #[test]
    fn rrf_rewards_chunks_found_by_both_searches() {
        let vector = vec![sc("a", 0.9), sc("b", 0.8), sc("c", 0.7)];
        let keyword = vec![sc("c", 5.0), sc("d", 4.0)];
        let r = combine_hybrid(vector, keyword, Ranker::default(), 10, 0.0);
        assert_eq!(ids(&r), ["c", "a", "b", "d"]);
        let c = 1.0 / 63.0 + 1.0 / 61.0;
        assert!((r[0].score as f64 - c).abs() < 1e-6);
        assert!((r[1].score as f64 - 1.0 / 61.0).abs() < 1e-6);
    }

    #[test]
    fn weighted_uses_alpha_over_normalised_scores() {
        let vector = vec![sc("a", 0.9), sc("b", 0.1)];
        let keyword = vec![sc("b", 10.0), sc("c", 0.0)];
        let r = combine_hybrid(
            vector.clone(),
            keyword.clone(),
            Ranker::Weighted { alpha: 1.0 },
            10,
            0.0,
        );
        assert_eq!(ids(&r)[0], "a");
        let r = combine_hybrid(vector, keyword, Ranker::Weighted { alpha: 0.0 }, 10, 0.0);
        assert_eq!(ids(&r)[0], "b");
    }

    #[test]
    fn equal_scores_normalise_to_one() {
        let r = combine_hybrid(
            vec![sc("a", 2.0), sc("b", 2.0)],
            vec![],
            Ranker::Weighted { alpha: 0.5 },
            10,
            0.0,
        );
        assert!(r.iter().all(|c| (c.score - 0.5).abs() < 1e-6));
    }

    #[test]
    fn k_and_threshold_cut_the_list() {
        let vector = vec![sc("a", 0.9), sc("b", 0.8), sc("c", 0.7)];
        assert_eq!(
            combine_hybrid(vector.clone(), vec![], Ranker::default(), 2, 0.0).len(),
            2
        );
        assert!(combine_hybrid(vector, vec![], Ranker::default(), 10, 0.5).is_empty());
    }
}
