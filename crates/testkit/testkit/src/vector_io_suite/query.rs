//! Vector query scenarios: nearest first, scores descending, `k` and `score_threshold` obeyed.

use anyhow::ensure;

use super::data::{
    check_well_formed, ids, insert, line_chunks, new_store, on_axis, query, text_of,
};
use super::{Outcome, ScenarioResult, VectorIoHarness};

const DIM: usize = 4;

/// Five chunks on a line, a query at `x = 2.1`: the order is c2, c3, c1, c4, c0, and each
/// result comes back with its own content.
pub async fn query_nearest_first(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    let store = new_store(p, DIM).await?;
    insert(p, &store, line_chunks(DIM)).await?;
    let r = query(p, &store, &on_axis(2.1, DIM), 5, 0.0).await?;
    check_well_formed(&r)?;
    ensure!(
        ids(&r) == ["c2", "c3", "c1", "c4", "c0"],
        "nearest-first order is {:?}",
        ids(&r)
    );
    for c in &r {
        let want = format!("chunk number {}", &c.id()[1..]);
        ensure!(
            text_of(c) == Some(want.as_str()),
            "chunk {} came back with content {:?}",
            c.id(),
            c.chunk.content
        );
    }
    Ok(Outcome::Passed)
}

/// Scores are positive (0.3.5's scores are similarities, higher is better) and strictly
/// decreasing here, since no two distances tie.
pub async fn query_scores_descending(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    let store = new_store(p, DIM).await?;
    insert(p, &store, line_chunks(DIM)).await?;
    let r = query(p, &store, &on_axis(-0.7, DIM), 5, 0.0).await?;
    check_well_formed(&r)?;
    ensure!(r.len() == 5, "expected 5 results, got {}", r.len());
    ensure!(
        ids(&r) == ["c0", "c1", "c2", "c3", "c4"],
        "order is {:?}",
        ids(&r)
    );
    for pair in r.windows(2) {
        ensure!(
            pair[0].score > pair[1].score,
            "distinct distances gave equal scores: {:?}",
            r.iter().map(|c| c.score).collect::<Vec<_>>()
        );
    }
    ensure!(
        r.iter().all(|c| c.score > 0.0),
        "scores are not all positive: {:?}",
        r.iter().map(|c| c.score).collect::<Vec<_>>()
    );
    Ok(Outcome::Passed)
}

/// `k` caps the results (1, 3, exactly the store size, more than the store holds).
pub async fn query_k_respected(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    let store = new_store(p, DIM).await?;
    insert(p, &store, line_chunks(DIM)).await?;
    for (k, want) in [(1, 1), (3, 3), (5, 5), (50, 5)] {
        let r = query(p, &store, &on_axis(0.2, DIM), k, 0.0).await?;
        check_well_formed(&r)?;
        ensure!(
            r.len() == want,
            "k = {k} gave {} results, expected {want}",
            r.len()
        );
        ensure!(
            r.first().map(|c| c.id()) == Some("c0"),
            "k = {k}: the best result is {:?}, not c0",
            ids(&r)
        );
    }
    Ok(Outcome::Passed)
}

/// A threshold equal to the third score keeps exactly the top three; one above the best score
/// keeps nothing. (Score scales differ between providers, so thresholds come from the scores.)
pub async fn query_score_threshold(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    let store = new_store(p, DIM).await?;
    insert(p, &store, line_chunks(DIM)).await?;
    let q = on_axis(1.3, DIM);
    let all = query(p, &store, &q, 5, 0.0).await?;
    check_well_formed(&all)?;
    ensure!(all.len() == 5, "threshold 0 gave {} of 5 chunks", all.len());
    let third = all[2].score;
    let top3 = query(p, &store, &q, 5, third).await?;
    check_well_formed(&top3)?;
    ensure!(
        ids(&top3) == ids(&all)[..3],
        "threshold {third} gave {:?}, expected {:?}",
        ids(&top3),
        &ids(&all)[..3]
    );
    ensure!(
        top3.iter().all(|c| c.score >= third),
        "a result scored under the threshold {third}"
    );
    let above = all[0].score * 2.0 + 1.0;
    let none = query(p, &store, &q, 5, above).await?;
    ensure!(
        none.is_empty(),
        "threshold {above} above every score still gave {:?}",
        ids(&none)
    );
    Ok(Outcome::Passed)
}
