//! Keyword and hybrid search scenarios, for providers whose `search_modes()` include keyword.

use anyhow::{anyhow, ensure};
use lls_api_vector_io::{Ranker, ScoredChunk, VectorIo};

use super::data::{check_well_formed, chunk, ids, insert, new_store, on_axis};
use super::{Outcome, ScenarioResult, VectorIoHarness, require};

const DIM: usize = 4;

async fn keyword(
    p: &dyn VectorIo,
    store: &str,
    q: &str,
    k: usize,
    threshold: f32,
) -> anyhow::Result<Vec<ScoredChunk>> {
    p.query_keyword(store, q, k, threshold)
        .await
        .map_err(|e| anyhow!("query_keyword({q:?}, k {k}) failed: {e}"))
}

/// Term matches rank first and only matching chunks come back; matching ignores case; any text
/// is a valid query (no query-syntax errors); `k` and the threshold apply; no match is empty.
pub async fn keyword_search(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    require!(p.search_modes().keyword, "keyword search");
    let store = new_store(p, DIM).await?;
    insert(
        p,
        &store,
        vec![
            chunk(
                "andes",
                "The llama grazes high in the Andes mountains",
                on_axis(0.0, DIM),
            ),
            chunk(
                "rust",
                "Rust is a systems programming language",
                on_axis(1.0, DIM),
            ),
            chunk(
                "pasta",
                "Cooking pasta with fresh tomatoes",
                on_axis(2.0, DIM),
            ),
            chunk(
                "alpaca",
                "A llama and an alpaca are relatives; the llama is larger",
                on_axis(3.0, DIM),
            ),
        ],
    )
    .await?;

    let r = keyword(p, &store, "llama", 10, 0.0).await?;
    check_well_formed(&r)?;
    let mut found = ids(&r);
    found.sort();
    ensure!(
        found == ["alpaca", "andes"],
        "\"llama\" matched {:?}, expected alpaca and andes",
        ids(&r)
    );
    ensure!(
        r.iter().all(|c| c.score > 0.0),
        "keyword scores are not positive: {:?}",
        r.iter().map(|c| c.score).collect::<Vec<_>>()
    );

    let r = keyword(p, &store, "programming", 10, 0.0).await?;
    ensure!(ids(&r) == ["rust"], "\"programming\" matched {:?}", ids(&r));
    let r = keyword(p, &store, "Andes MOUNTAINS llama", 10, 0.0).await?;
    check_well_formed(&r)?;
    ensure!(
        r.first().map(|c| c.id()) == Some("andes"),
        "the chunk with every term is not first: {:?}",
        ids(&r)
    );
    let r = keyword(p, &store, "llama", 1, 0.0).await?;
    ensure!(r.len() == 1, "k = 1 gave {} results", r.len());

    for odd in [
        "what about \"pasta\" AND (tomatoes)?",
        "NOT OR * : ^ -",
        "llama's",
    ] {
        keyword(p, &store, odd, 10, 0.0).await?;
    }
    let none = keyword(p, &store, "xylophone", 10, 0.0).await?;
    ensure!(none.is_empty(), "\"xylophone\" matched {:?}", ids(&none));
    let top = keyword(p, &store, "pasta", 10, 0.0).await?;
    ensure!(ids(&top) == ["pasta"], "\"pasta\" matched {:?}", ids(&top));
    let above = top[0].score * 2.0 + 1.0;
    let none = keyword(p, &store, "pasta", 10, above).await?;
    ensure!(
        none.is_empty(),
        "threshold {above} above every keyword score still gave {:?}",
        ids(&none)
    );
    Ok(Outcome::Passed)
}

/// Hybrid search fuses both lists: with reciprocal rank fusion a chunk found by both searches
/// beats the nearest vector found by one; the weighted ranker follows `alpha`; `k` applies.
pub async fn hybrid_search(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    require!(p.search_modes().keyword, "keyword search");
    let store = new_store(p, DIM).await?;
    insert(
        p,
        &store,
        vec![
            chunk("llama", "facts about the llama", on_axis(0.0, DIM)),
            chunk("rust", "notes on rust code", on_axis(1.0, DIM)),
            chunk("pasta", "pasta recipes for dinner", on_axis(2.0, DIM)),
        ],
    )
    .await?;
    let q = on_axis(1.9, DIM);
    let hybrid = |ranker: Ranker, k: usize| {
        let store = store.clone();
        let q = q.clone();
        async move {
            p.query_hybrid(&store, &q, "llama", k, 0.0, ranker)
                .await
                .map_err(|e| anyhow!("query_hybrid ({ranker:?}, k {k}) failed: {e}"))
        }
    };
    let r = hybrid(Ranker::default(), 3).await?;
    check_well_formed(&r)?;
    ensure!(
        r.first().map(|c| c.id()) == Some("llama"),
        "RRF did not put the chunk both searches found first: {:?}",
        ids(&r)
    );
    ensure!(r.len() == 3, "RRF with k = 3 gave {:?}", ids(&r));
    let r = hybrid(Ranker::Weighted { alpha: 1.0 }, 3).await?;
    ensure!(
        r.first().map(|c| c.id()) == Some("pasta"),
        "weighted alpha 1 (vector only) ranked {:?}",
        ids(&r)
    );
    let r = hybrid(Ranker::Weighted { alpha: 0.0 }, 3).await?;
    ensure!(
        r.first().map(|c| c.id()) == Some("llama"),
        "weighted alpha 0 (keyword only) ranked {:?}",
        ids(&r)
    );
    let r = hybrid(Ranker::default(), 1).await?;
    ensure!(r.len() == 1, "k = 1 gave {:?}", ids(&r));
    Ok(Outcome::Passed)
}
