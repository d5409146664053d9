//! Deterministic stores, chunks and vectors shared by the vector_io scenarios, and small checks
//! on results and errors.

use anyhow::{anyhow, bail, ensure};
use lls_api_common::{Error, ErrorKind};
use lls_api_vector_io::{Chunk, EmbeddedChunk, IndexSpec, ScoredChunk, VectorIo};
use serde_json::{Map, Value, json};

/// The embedding model every scenario's store names (providers only store it).
pub const MODEL: &str = "conformance-embed";

/// A fresh store id shaped like the service's (`vs_` + a UUID, hyphens included), so providers
/// that share one database across tests never collide and must cope with hyphens in names.
pub fn store_id() -> String {
    format!("vs_{}", uuid::Uuid::new_v4())
}

pub fn spec(id: &str, dim: usize) -> IndexSpec {
    IndexSpec {
        vector_store_id: id.to_owned(),
        embedding_model: MODEL.to_owned(),
        embedding_dimension: dim,
    }
}

/// Creates a store of dimension `dim` with a fresh id and returns the id.
pub async fn new_store(p: &dyn VectorIo, dim: usize) -> anyhow::Result<String> {
    let id = store_id();
    p.create_index(&spec(&id, dim))
        .await
        .map_err(|e| anyhow!("create_index({id}, dim {dim}) failed: {e}"))?;
    Ok(id)
}

/// A text chunk `id` with `metadata.document_id` and the given embedding.
pub fn chunk(id: &str, text: &str, embedding: Vec<f32>) -> EmbeddedChunk {
    let mut metadata = Map::new();
    metadata.insert("document_id".into(), json!(format!("doc-{id}")));
    let mut chunk = Chunk::text(text, metadata);
    chunk.chunk_id = Some(id.to_owned());
    EmbeddedChunk {
        chunk_id: id.to_owned(),
        chunk,
        embedding,
    }
}

/// A point on the first axis of a `dim`-dimensional space: chunks at `x = 0, 1, 2, …` have
/// well-separated, tie-free distances to any query on that axis.
pub fn on_axis(x: f32, dim: usize) -> Vec<f32> {
    let mut v = vec![0.0; dim];
    if let Some(first) = v.first_mut() {
        *first = x;
    }
    v
}

/// Five chunks `c0..c4` at `x = 0..4` on the first axis.
pub fn line_chunks(dim: usize) -> Vec<EmbeddedChunk> {
    (0..5)
        .map(|i| {
            chunk(
                &format!("c{i}"),
                &format!("chunk number {i}"),
                on_axis(i as f32, dim),
            )
        })
        .collect()
}

pub async fn insert(
    p: &dyn VectorIo,
    store: &str,
    chunks: Vec<EmbeddedChunk>,
) -> anyhow::Result<()> {
    let n = chunks.len();
    p.insert(store, chunks)
        .await
        .map_err(|e| anyhow!("inserting {n} chunks into {store} failed: {e}"))
}

pub async fn query(
    p: &dyn VectorIo,
    store: &str,
    embedding: &[f32],
    k: usize,
    threshold: f32,
) -> anyhow::Result<Vec<ScoredChunk>> {
    p.query_vector(store, embedding, k, threshold)
        .await
        .map_err(|e| anyhow!("query_vector on {store} (k {k}) failed: {e}"))
}

/// Every chunk of a store, through a vector query with a large `k` and no threshold.
pub async fn all_chunks(
    p: &dyn VectorIo,
    store: &str,
    dim: usize,
) -> anyhow::Result<Vec<ScoredChunk>> {
    query(p, store, &on_axis(0.5, dim), 100_000, 0.0).await
}

pub fn ids(results: &[ScoredChunk]) -> Vec<String> {
    results.iter().map(|r| r.id().to_owned()).collect()
}

/// Every result carries its chunk id, and scores are best first.
pub fn check_well_formed(results: &[ScoredChunk]) -> anyhow::Result<()> {
    for r in results {
        ensure!(
            r.chunk.chunk_id.as_deref().is_some_and(|id| !id.is_empty()),
            "a result has no chunk_id: {r:?}"
        );
        ensure!(!r.score.is_nan(), "chunk {} has a NaN score", r.id());
    }
    for pair in results.windows(2) {
        ensure!(
            pair[0].score >= pair[1].score,
            "scores are not descending: {} scores {} before {} scores {}",
            pair[0].id(),
            pair[0].score,
            pair[1].id(),
            pair[1].score
        );
    }
    Ok(())
}

/// The call failed with `kind`; its message is returned for further checks.
pub fn expect_kind<T: std::fmt::Debug>(
    what: &str,
    result: Result<T, Error>,
    kind: ErrorKind,
) -> anyhow::Result<String> {
    match result {
        Ok(v) => bail!(
            "{what} succeeded with {v:?}; expected a {} error",
            kind.as_str()
        ),
        Err(e) if e.kind() == kind => Ok(e.message().to_owned()),
        Err(e) => bail!(
            "{what} failed with kind {} ({e}); expected {}",
            e.kind().as_str(),
            kind.as_str()
        ),
    }
}

/// The text of a result's content when it is a plain string.
pub fn text_of(r: &ScoredChunk) -> Option<&str> {
    match &r.chunk.content {
        Value::String(s) => Some(s),
        _ => None,
    }
}
