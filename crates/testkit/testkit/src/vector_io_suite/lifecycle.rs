//! Index and chunk lifecycle scenarios: idempotent creation, replacement by id, deletion, unknown
//! stores, dimension checks, lossless round trips and isolation between stores.

use anyhow::{anyhow, ensure};
use lls_api_common::ErrorKind;
use lls_api_vector_io::ChunkMetadata;
use serde_json::{Map, json};

use super::data::{
    all_chunks, check_well_formed, chunk, expect_kind, ids, insert, line_chunks, new_store,
    on_axis, query, spec, store_id, text_of,
};
use super::{Outcome, ScenarioResult, VectorIoHarness};

const DIM: usize = 4;

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Creating an existing store again with the same spec keeps its chunks.
pub async fn create_index_idempotent(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    let store = new_store(p, DIM).await?;
    insert(p, &store, line_chunks(DIM)).await?;
    p.create_index(&spec(&store, DIM))
        .await
        .map_err(|e| anyhow!("creating {store} a second time failed: {e}"))?;
    let all = all_chunks(p, &store, DIM).await?;
    ensure!(
        all.len() == 5,
        "after re-creating the store it holds {} of 5 chunks",
        all.len()
    );
    Ok(Outcome::Passed)
}

/// Inserting a chunk id again replaces the chunk: one copy, the new content and the new vector.
pub async fn replace_chunk(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    let store = new_store(p, DIM).await?;
    insert(p, &store, line_chunks(DIM)).await?;
    insert(
        p,
        &store,
        vec![chunk("c2", "replaced content", on_axis(10.0, DIM))],
    )
    .await?;
    let all = all_chunks(p, &store, DIM).await?;
    ensure!(
        sorted(ids(&all)) == ["c0", "c1", "c2", "c3", "c4"],
        "after replacing c2 the store holds {:?}",
        ids(&all)
    );
    let near_new = query(p, &store, &on_axis(9.5, DIM), 1, 0.0).await?;
    ensure!(
        ids(&near_new) == ["c2"],
        "the query at the new vector found {:?}, not c2",
        ids(&near_new)
    );
    ensure!(
        text_of(&near_new[0]) == Some("replaced content"),
        "c2 kept its old content: {:?}",
        near_new[0].chunk.content
    );
    let near_old = query(p, &store, &on_axis(2.0, DIM), 1, 0.0).await?;
    ensure!(
        ids(&near_old) != ["c2"],
        "the old vector of c2 is still searchable"
    );
    // Replacing inside one batch: the last occurrence wins.
    insert(
        p,
        &store,
        vec![
            chunk("c9", "first", on_axis(20.0, DIM)),
            chunk("c9", "second", on_axis(20.0, DIM)),
        ],
    )
    .await?;
    let all = all_chunks(p, &store, DIM).await?;
    let nines: Vec<_> = all.iter().filter(|c| c.id() == "c9").collect();
    ensure!(
        nines.len() == 1,
        "a batch naming c9 twice stored {} copies",
        nines.len()
    );
    ensure!(
        text_of(nines[0]) == Some("second"),
        "the last c9 of the batch did not win: {:?}",
        nines[0].chunk.content
    );
    Ok(Outcome::Passed)
}

/// Deleted chunks are gone from queries; unknown ids and an empty list are ignored.
pub async fn delete_chunks(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    let store = new_store(p, DIM).await?;
    insert(p, &store, line_chunks(DIM)).await?;
    let doomed = ["c1".to_owned(), "c3".to_owned(), "no-such-chunk".to_owned()];
    p.delete_chunks(&store, &doomed)
        .await
        .map_err(|e| anyhow!("delete_chunks failed: {e}"))?;
    p.delete_chunks(&store, &[])
        .await
        .map_err(|e| anyhow!("delete_chunks with no ids failed: {e}"))?;
    let all = all_chunks(p, &store, DIM).await?;
    ensure!(
        sorted(ids(&all)) == ["c0", "c2", "c4"],
        "after deleting c1 and c3 the store holds {:?}",
        ids(&all)
    );
    let near = query(p, &store, &on_axis(1.0, DIM), 1, 0.0).await?;
    ensure!(
        ids(&near) != ["c1"],
        "deleted c1 is still the nearest to its own vector"
    );
    Ok(Outcome::Passed)
}

/// After `delete_index` the store is unknown; deleting it again is fine; re-creating it gives
/// an empty store.
pub async fn delete_index(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    let store = new_store(p, DIM).await?;
    insert(p, &store, line_chunks(DIM)).await?;
    p.delete_index(&store)
        .await
        .map_err(|e| anyhow!("delete_index failed: {e}"))?;
    expect_kind(
        "query_vector on a deleted store",
        p.query_vector(&store, &on_axis(1.0, DIM), 3, 0.0).await,
        ErrorKind::NotFound,
    )?;
    expect_kind(
        "insert into a deleted store",
        p.insert(&store, line_chunks(DIM)).await,
        ErrorKind::NotFound,
    )?;
    p.delete_index(&store)
        .await
        .map_err(|e| anyhow!("deleting an already deleted store failed: {e}"))?;
    p.create_index(&spec(&store, DIM))
        .await
        .map_err(|e| anyhow!("re-creating a deleted store failed: {e}"))?;
    let all = all_chunks(p, &store, DIM).await?;
    ensure!(
        all.is_empty(),
        "a re-created store still holds {:?}",
        ids(&all)
    );
    Ok(Outcome::Passed)
}

/// Every call on a store never created is not-found (`delete_index` excepted: a no-op).
pub async fn unknown_store(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    let store = store_id();
    expect_kind(
        "query_vector on an unknown store",
        p.query_vector(&store, &on_axis(1.0, DIM), 3, 0.0).await,
        ErrorKind::NotFound,
    )?;
    expect_kind(
        "insert into an unknown store",
        p.insert(&store, line_chunks(DIM)).await,
        ErrorKind::NotFound,
    )?;
    expect_kind(
        "delete_chunks on an unknown store",
        p.delete_chunks(&store, &["c0".to_owned()]).await,
        ErrorKind::NotFound,
    )?;
    if p.search_modes().keyword {
        expect_kind(
            "query_keyword on an unknown store",
            p.query_keyword(&store, "chunk", 3, 0.0).await,
            ErrorKind::NotFound,
        )?;
    }
    p.delete_index(&store)
        .await
        .map_err(|e| anyhow!("delete_index of an unknown store failed: {e}"))?;
    Ok(Outcome::Passed)
}

/// A vector of the wrong length is an invalid request naming both lengths, for inserts and
/// queries; a batch with one bad vector stores nothing.
pub async fn dimension_mismatch(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    let store = new_store(p, DIM).await?;
    insert(p, &store, line_chunks(DIM)).await?;
    let batch = vec![
        chunk("good", "fits", on_axis(7.0, DIM)),
        chunk("bad", "too long", on_axis(7.0, DIM + 3)),
    ];
    let msg = expect_kind(
        "inserting a vector of the wrong dimension",
        p.insert(&store, batch).await,
        ErrorKind::InvalidRequest,
    )?;
    ensure!(
        msg.contains(&DIM.to_string()) && msg.contains(&(DIM + 3).to_string()),
        "the message {msg:?} does not name both dimensions"
    );
    let msg = expect_kind(
        "querying with a vector of the wrong dimension",
        p.query_vector(&store, &on_axis(1.0, DIM - 1), 3, 0.0).await,
        ErrorKind::InvalidRequest,
    )?;
    ensure!(
        msg.contains(&DIM.to_string()) && msg.contains(&(DIM - 1).to_string()),
        "the message {msg:?} does not name both dimensions"
    );
    let all = all_chunks(p, &store, DIM).await?;
    ensure!(
        sorted(ids(&all)) == ["c0", "c1", "c2", "c3", "c4"],
        "a rejected batch changed the store: {:?}",
        ids(&all)
    );
    Ok(Outcome::Passed)
}

/// Content (a string, and a list of text items), metadata of every JSON type and every
/// `chunk_metadata` field come back exactly as inserted.
pub async fn content_round_trip(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    let store = new_store(p, DIM).await?;
    let mut plain = chunk(
        "plain",
        "Ünïcode text, with \"quotes\" and\nnewlines ✓",
        on_axis(0.0, DIM),
    );
    let metadata = json!({
        "document_id": "doc-1", "author": "ana", "year": 2024, "ratio": 0.25, "draft": false,
        "tags": ["a", "b"], "nested": {"k": [1, {"x": null}]},
    });
    plain.chunk.metadata = metadata.as_object().cloned().unwrap_or_default();
    plain.chunk.chunk_metadata = Some(ChunkMetadata {
        chunk_id: Some("plain".into()),
        document_id: Some("doc-1".into()),
        source: Some("file-abc".into()),
        created_timestamp: Some(1_700_000_000),
        updated_timestamp: Some(1_700_000_100),
        chunk_window: Some("0-12".into()),
        chunk_tokenizer: Some("DEFAULT_TIKTOKEN_TOKENIZER".into()),
        chunk_embedding_model: Some("conformance-embed".into()),
        chunk_embedding_dimension: Some(DIM),
        content_token_count: Some(12),
        metadata_token_count: Some(30),
    });
    let mut list = chunk("list", "", on_axis(5.0, DIM));
    list.chunk.content =
        json!([{"type": "text", "text": "first part"}, {"type": "text", "text": "second part"}]);
    list.chunk.metadata = Map::new();
    let inserted = [plain.chunk.clone(), list.chunk.clone()];
    insert(p, &store, vec![plain, list]).await?;
    let all = all_chunks(p, &store, DIM).await?;
    check_well_formed(&all)?;
    for want in inserted {
        let id = want.chunk_id.clone().unwrap_or_default();
        let got = all
            .iter()
            .find(|c| c.id() == id)
            .ok_or_else(|| anyhow!("chunk {id} is missing from {:?}", ids(&all)))?;
        ensure!(
            got.chunk.content == want.content,
            "chunk {id}: content {:?} came back as {:?}",
            want.content,
            got.chunk.content
        );
        ensure!(
            got.chunk.metadata == want.metadata,
            "chunk {id}: metadata {:?} came back as {:?}",
            want.metadata,
            got.chunk.metadata
        );
        ensure!(
            got.chunk.chunk_metadata == want.chunk_metadata,
            "chunk {id}: chunk_metadata {:?} came back as {:?}",
            want.chunk_metadata,
            got.chunk.chunk_metadata
        );
    }
    Ok(Outcome::Passed)
}

/// Two stores (of different dimensions, with the same chunk ids) never see each other's
/// chunks, deletions or drops.
pub async fn stores_isolated(h: VectorIoHarness) -> ScenarioResult {
    let p = &*h.provider;
    let a = new_store(p, DIM).await?;
    let b = new_store(p, DIM * 2).await?;
    insert(p, &a, line_chunks(DIM)).await?;
    let b_chunks = (0..5)
        .map(|i| {
            chunk(
                &format!("c{i}"),
                &format!("store b {i}"),
                on_axis(i as f32, DIM * 2),
            )
        })
        .collect();
    insert(p, &b, b_chunks).await?;
    let from_a = query(p, &a, &on_axis(1.0, DIM), 5, 0.0).await?;
    let from_b = query(p, &b, &on_axis(1.0, DIM * 2), 5, 0.0).await?;
    ensure!(
        from_a
            .iter()
            .all(|c| text_of(c).is_some_and(|t| t.starts_with("chunk number"))),
        "store a returned store b's chunks"
    );
    ensure!(
        from_b
            .iter()
            .all(|c| text_of(c).is_some_and(|t| t.starts_with("store b"))),
        "store b returned store a's chunks"
    );
    p.delete_chunks(&a, &["c0".to_owned()])
        .await
        .map_err(|e| anyhow!("delete_chunks failed: {e}"))?;
    ensure!(
        all_chunks(p, &b, DIM * 2).await?.len() == 5,
        "deleting c0 from store a removed it from store b"
    );
    p.delete_index(&a)
        .await
        .map_err(|e| anyhow!("delete_index failed: {e}"))?;
    ensure!(
        all_chunks(p, &b, DIM * 2).await?.len() == 5,
        "dropping store a emptied store b"
    );
    expect_kind(
        "query_vector on the dropped store",
        p.query_vector(&a, &on_axis(1.0, DIM), 3, 0.0).await,
        ErrorKind::NotFound,
    )?;
    Ok(Outcome::Passed)
}
