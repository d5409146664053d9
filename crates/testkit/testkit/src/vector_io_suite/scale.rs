//! Scenarios about durability and load: a restart on the same storage, concurrent writers and
//! readers, and one large insert batch.

use std::sync::Arc;

use anyhow::{Context, anyhow, ensure};
use lls_api_common::ErrorKind;
use lls_api_vector_io::{EmbeddedChunk, VectorIo};

use super::data::{
    all_chunks, check_well_formed, chunk, expect_kind, ids, insert, line_chunks, new_store,
    on_axis, query, text_of,
};
use super::{Outcome, ScenarioResult, VectorIoHarness};

const DIM: usize = 4;

/// Stores, chunks, deletions and dropped stores survive rebuilding the provider on the same
/// storage; the store's dimension is still enforced and it still takes inserts.
pub async fn persistence_across_reopen(h: VectorIoHarness) -> ScenarioResult {
    let VectorIoHarness {
        provider,
        reopen,
        _guard,
    } = h;
    let Some(reopen) = reopen else {
        return Ok(Outcome::Skipped(
            "persistent storage (the harness gives no reopen)",
        ));
    };
    let keyword = provider.search_modes().keyword;
    let kept = new_store(&*provider, DIM).await?;
    let dropped = new_store(&*provider, DIM).await?;
    insert(&*provider, &kept, line_chunks(DIM)).await?;
    insert(&*provider, &dropped, line_chunks(DIM)).await?;
    provider
        .delete_chunks(&kept, &["c1".to_owned()])
        .await
        .map_err(|e| anyhow!("delete_chunks failed: {e}"))?;
    provider
        .delete_index(&dropped)
        .await
        .map_err(|e| anyhow!("delete_index failed: {e}"))?;
    drop(provider);

    let p = reopen().await;
    let r = query(&*p, &kept, &on_axis(1.2, DIM), 10, 0.0).await?;
    check_well_formed(&r)?;
    ensure!(
        ids(&r) == ["c2", "c0", "c3", "c4"],
        "after the restart the store answers {:?}",
        ids(&r)
    );
    ensure!(
        text_of(&r[0]) == Some("chunk number 2"),
        "after the restart c2's content is {:?}",
        r[0].chunk.content
    );
    let gone = p.query_vector(&dropped, &on_axis(1.0, DIM), 3, 0.0).await;
    expect_kind(
        "query_vector on a store dropped before the restart",
        gone,
        ErrorKind::NotFound,
    )?;
    expect_kind(
        "inserting a wrong-dimension vector after the restart",
        p.insert(&kept, vec![chunk("x", "x", on_axis(1.0, DIM + 1))])
            .await,
        ErrorKind::InvalidRequest,
    )?;
    insert(
        &*p,
        &kept,
        vec![chunk("c9", "added after the restart", on_axis(9.0, DIM))],
    )
    .await?;
    ensure!(
        all_chunks(&*p, &kept, DIM).await?.len() == 5,
        "the store does not hold 4 old chunks plus 1 new one"
    );
    if keyword {
        let r = p
            .query_keyword(&kept, "restart", 5, 0.0)
            .await
            .map_err(|e| anyhow!("query_keyword after the restart failed: {e}"))?;
        ensure!(
            ids(&r) == ["c9"],
            "keyword search after the restart found {:?}",
            ids(&r)
        );
        let r = p
            .query_keyword(&kept, "number", 10, 0.0)
            .await
            .map_err(|e| anyhow!("query_keyword after the restart failed: {e}"))?;
        let mut found = ids(&r);
        found.sort();
        ensure!(
            found == ["c0", "c2", "c3", "c4"],
            "keyword search over pre-restart chunks found {:?}",
            ids(&r)
        );
    }
    Ok(Outcome::Passed)
}

/// Four writers (ten batches of five each) and four readers at once: no error, every result
/// well formed, and in the end all 200 chunks are there and findable.
pub async fn concurrent_inserts_and_queries(h: VectorIoHarness) -> ScenarioResult {
    const WRITERS: usize = 4;
    const BATCHES: usize = 10;
    const PER_BATCH: usize = 5;
    let dim = 8;
    let p: Arc<dyn VectorIo> = h.provider.clone();
    let store = new_store(&*p, dim).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let (p, store) = (p.clone(), store.clone());
        tasks.spawn(async move {
            for b in 0..BATCHES {
                let batch = (0..PER_BATCH)
                    .map(|i| {
                        let x = (w * BATCHES * PER_BATCH + b * PER_BATCH + i) as f32;
                        chunk(
                            &format!("w{w}-{b}-{i}"),
                            &format!("writer {w} batch {b} item {i}"),
                            on_axis(x, dim),
                        )
                    })
                    .collect();
                insert(&*p, &store, batch).await?;
                tokio::task::yield_now().await;
            }
            anyhow::Ok(())
        });
    }
    for r in 0..WRITERS {
        let (p, store) = (p.clone(), store.clone());
        tasks.spawn(async move {
            for i in 0..BATCHES {
                let res =
                    query(&*p, &store, &on_axis((r * 37 + i * 11) as f32, dim), 5, 0.0).await?;
                check_well_formed(&res)?;
                ensure!(res.len() <= 5, "k = 5 gave {} results", res.len());
                tokio::task::yield_now().await;
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a writer or reader task panicked")??;
    }
    let all = all_chunks(&*p, &store, dim).await?;
    ensure!(
        all.len() == WRITERS * BATCHES * PER_BATCH,
        "after concurrent inserts the store holds {} of 200 chunks",
        all.len()
    );
    let r = query(&*p, &store, &on_axis(123.0, dim), 1, 0.0).await?;
    ensure!(
        ids(&r) == ["w2-4-3"],
        "the chunk at x = 123 is not found first: {:?}",
        ids(&r)
    );
    Ok(Outcome::Passed)
}

/// A deterministic pseudo-random vector (a 64-bit LCG), components in [-1, 1).
fn pseudo_random(seed: u64, dim: usize) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (0..dim)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// 2,000 chunks in one insert: all stored, a chunk's own vector finds it first, and the top 10
/// agree with brute force on at least 8 (approximate indexes are allowed a little slack).
pub async fn large_batch_insert(h: VectorIoHarness) -> ScenarioResult {
    const N: usize = 2000;
    let dim = 32;
    let p = &*h.provider;
    let store = new_store(p, dim).await?;
    let chunks: Vec<EmbeddedChunk> = (0..N)
        .map(|i| {
            chunk(
                &format!("big-{i}"),
                &format!("bulk chunk {i}"),
                pseudo_random(i as u64, dim),
            )
        })
        .collect();
    let vectors: Vec<(String, Vec<f32>)> = chunks
        .iter()
        .map(|c| (c.chunk_id.clone(), c.embedding.clone()))
        .collect();
    insert(p, &store, chunks).await?;
    let all = all_chunks(p, &store, dim).await?;
    ensure!(all.len() == N, "a batch of {N} stored {} chunks", all.len());

    let target = &vectors[1234].1;
    let r = query(p, &store, target, 10, 0.0).await?;
    check_well_formed(&r)?;
    ensure!(r.len() == 10, "k = 10 gave {} results", r.len());
    ensure!(
        r[0].id() == "big-1234",
        "a chunk's own vector found {:?} first",
        r[0].id()
    );
    let mut brute: Vec<(f32, &str)> = vectors
        .iter()
        .map(|(id, v)| (l2(v, target), id.as_str()))
        .collect();
    brute.sort_by(|a, b| a.0.total_cmp(&b.0));
    let expected: Vec<&str> = brute.iter().take(10).map(|(_, id)| *id).collect();
    let hits = r.iter().filter(|c| expected.contains(&c.id())).count();
    ensure!(
        hits >= 8,
        "only {hits} of the 10 results are among the true 10 nearest ({expected:?} vs {:?})",
        ids(&r)
    );
    Ok(Outcome::Passed)
}
