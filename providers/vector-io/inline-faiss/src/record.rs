//! How stores lie in the kv store: a spec key per store and, per store, an append-only log of
//! writes. An insert call is one entry holding its chunks (up to [`SEGMENT_CHUNKS`] per entry),
//! a delete call one entry naming the removed ids, so a write costs one kv `set` however many
//! chunks it carries (a `set` per chunk capped ingestion at a few thousand chunks/s on SQLite).
//! Replaying the log in order rebuilds a store; compaction rewrites it as live chunks only.
//!
//! ```text
//! faiss:v2:spec:{store}       -> IndexSpec JSON
//! faiss:v2:centroids:{store}  -> the IVF centroids, once trained: {"nlist", "trained_on", "dim", "data": base64}
//! faiss:v2:log:{store}:{seq}  -> {"op": "insert", "seq": n, "chunks": [{"chunk": …, "embedding": base64 f32 LE}, …]}
//!                                {"op": "delete", "seq": n, "chunk_ids": […]}
//! ```
//! `{store}` is percent-escaped (`%` and `:`), so one store's key range never holds another's;
//! `{seq}` is zero-padded to 20 digits, so key order is log order.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lls_api_common::{Error, Result};
use lls_api_vector_io::{Chunk, IndexSpec};
use serde::{Deserialize, Serialize};

use crate::contents::Row;
use crate::index::Centroids;

const SPEC_PREFIX: &str = "faiss:v2:spec:";
const LOG_PREFIX: &str = "faiss:v2:log:";
const CENTROIDS_PREFIX: &str = "faiss:v2:centroids:";
/// Sorts after every key with a given prefix (the last Unicode scalar value).
pub(crate) const RANGE_END: char = '\u{10FFFF}';
/// Most chunks in one log entry (about 2.5 MB at 384 dimensions with short texts).
pub(crate) const SEGMENT_CHUNKS: usize = 1000;

fn escape(store: &str) -> String {
    let mut out = String::with_capacity(store.len());
    for c in store.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn spec_key(store: &str) -> String {
    format!("{SPEC_PREFIX}{}", escape(store))
}

/// `[start, end]` covering every spec key.
pub(crate) fn spec_range() -> (String, String) {
    (SPEC_PREFIX.to_owned(), format!("{SPEC_PREFIX}{RANGE_END}"))
}

pub(crate) fn centroids_key(store: &str) -> String {
    format!("{CENTROIDS_PREFIX}{}", escape(store))
}

pub(crate) fn log_key(store: &str, seq: u64) -> String {
    format!("{LOG_PREFIX}{}:{seq:020}", escape(store))
}

/// `[start, end]` covering every log key of `store`.
pub(crate) fn log_range(store: &str) -> (String, String) {
    let prefix = format!("{LOG_PREFIX}{}:", escape(store));
    let end = format!("{prefix}{RANGE_END}");
    (prefix, end)
}

/// A stored chunk. The embedding is base64 of little-endian `f32`s (a third of the size of a
/// JSON array of numbers, and lossless); a chunk that carried the same vector in its own
/// `embedding` field is stored without it and gets it back on replay.
#[derive(Serialize, Deserialize)]
struct StoredChunk<C> {
    chunk: C,
    embedding: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    embedding_in_chunk: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Entry<C> {
    Insert { seq: u64, chunks: Vec<StoredChunk<C>> },
    Delete { seq: u64, chunk_ids: Vec<String> },
}

fn encode_embedding(embedding: &[f32]) -> String {
    let bytes: Vec<u8> = embedding.iter().flat_map(|x| x.to_le_bytes()).collect();
    STANDARD.encode(bytes)
}

fn decode_embedding(encoded: &str) -> Option<Vec<f32>> {
    let bytes = STANDARD.decode(encoded.as_bytes()).ok()?;
    (bytes.len() % 4 == 0).then(|| bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// The log entry inserting `rows` (their chunks have `chunk_id` set).
pub(crate) fn encode_insert(seq: u64, rows: &mut [Row]) -> Result<String> {
    // Chunks carrying their own vector are written without it, then given it back.
    let lent: Vec<Option<Vec<f32>>> = rows
        .iter_mut()
        .map(|r| if r.chunk.embedding.as_deref() == Some(&r.embedding[..]) { r.chunk.embedding.take() } else { None })
        .collect();
    let chunks = rows
        .iter()
        .zip(&lent)
        .map(|(r, lent)| StoredChunk { chunk: &r.chunk, embedding: encode_embedding(&r.embedding), embedding_in_chunk: lent.is_some() })
        .collect();
    let encoded = serde_json::to_string(&Entry::Insert { seq, chunks });
    for (row, lent) in rows.iter_mut().zip(lent) {
        if lent.is_some() {
            row.chunk.embedding = lent;
        }
    }
    encoded.map_err(|e| Error::internal(format!("cannot encode a faiss log entry: {e}")))
}

/// The log entry deleting `chunk_ids`.
pub(crate) fn encode_delete(seq: u64, chunk_ids: &[String]) -> Result<String> {
    let entry: Entry<Chunk> = Entry::Delete { seq, chunk_ids: chunk_ids.to_vec() };
    serde_json::to_string(&entry).map_err(|e| Error::internal(format!("cannot encode a faiss log entry: {e}")))
}

pub(crate) fn encode_spec(spec: &IndexSpec) -> Result<String> {
    serde_json::to_string(spec).map_err(|e| Error::internal(format!("cannot encode the spec of {}: {e}", spec.vector_store_id)))
}

pub(crate) fn decode_spec(value: &str) -> Result<IndexSpec> {
    serde_json::from_str(value).map_err(|e| Error::internal(format!("a stored faiss store spec is not valid: {e}")))
}

#[derive(Serialize, Deserialize)]
struct StoredCentroids {
    nlist: usize,
    trained_on: usize,
    dim: usize,
    data: String,
}

pub(crate) fn encode_centroids(c: &Centroids) -> Result<String> {
    let stored = StoredCentroids { nlist: c.nlist, trained_on: c.trained_on, dim: c.dim, data: encode_embedding(&c.data) };
    serde_json::to_string(&stored).map_err(|e| Error::internal(format!("cannot encode IVF centroids: {e}")))
}

/// Stored centroids, if readable and whole.
pub(crate) fn decode_centroids(value: &str) -> Option<Centroids> {
    let stored: StoredCentroids = serde_json::from_str(value).ok()?;
    let data = decode_embedding(&stored.data)?;
    (data.len() == stored.nlist * stored.dim).then_some(Centroids {
        nlist: stored.nlist,
        trained_on: stored.trained_on,
        dim: stored.dim,
        data,
        imbalance: 0.0,
    })
}

/// A store rebuilt from its log.
pub(crate) struct Replayed {
    /// Live chunks, in the order they were last written.
    pub rows: Vec<Row>,
    /// The sequence number the next entry gets.
    pub next_seq: u64,
    /// Chunk records in the log, live or not (compaction is due when most are dead).
    pub stored: usize,
    /// Entries or chunks that could not be read (corrupt, or of another dimension).
    pub skipped: usize,
}

/// Replays log entries (in key order) into the live chunks of a `dim`-dimensional store.
pub(crate) fn replay(values: &[String], dim: usize) -> Replayed {
    let mut slots: Vec<Option<Row>> = Vec::new();
    let mut positions: HashMap<String, usize> = HashMap::new();
    let (mut next_seq, mut stored, mut skipped) = (0u64, 0usize, 0usize);
    for value in values {
        let Ok(entry) = serde_json::from_str::<Entry<Chunk>>(value) else {
            skipped += 1;
            continue;
        };
        match entry {
            Entry::Insert { seq, chunks } => {
                next_seq = next_seq.max(seq + 1);
                stored += chunks.len();
                for stored_chunk in chunks {
                    let Some(embedding) = decode_embedding(&stored_chunk.embedding).filter(|e| e.len() == dim) else {
                        skipped += 1;
                        continue;
                    };
                    let mut chunk = stored_chunk.chunk;
                    if stored_chunk.embedding_in_chunk {
                        chunk.embedding = Some(embedding.clone());
                    }
                    let id = chunk.chunk_id.clone().unwrap_or_default();
                    if let Some(old) = positions.insert(id.clone(), slots.len()) {
                        slots[old] = None;
                    }
                    slots.push(Some(Row { id, chunk, embedding }));
                }
            }
            Entry::Delete { seq, chunk_ids } => {
                next_seq = next_seq.max(seq + 1);
                for id in chunk_ids {
                    if let Some(old) = positions.remove(&id) {
                        slots[old] = None;
                    }
                }
            }
        }
    }
    Replayed { rows: slots.into_iter().flatten().collect(), next_seq, stored, skipped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn row(id: &str, embedding: Vec<f32>) -> Row {
        let mut chunk = Chunk::text(format!("text {id}"), json!({"a": [1, null]}).as_object().cloned().unwrap());
        chunk.chunk_id = Some(id.into());
        Row { id: id.into(), chunk, embedding }
    }

    fn ids(r: &Replayed) -> Vec<&str> {
        r.rows.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn a_log_replays_inserts_replacements_and_deletes_in_order() {
        let mut first = vec![row("a", vec![0.1, -2.5e-8]), row("b", vec![f32::MAX, 3.0]), row("c", vec![1.0, 1.0])];
        first[1].chunk.embedding = Some(first[1].embedding.clone());
        let e0 = encode_insert(0, &mut first).unwrap();
        assert_eq!(first[1].chunk.embedding.as_deref(), Some(&[f32::MAX, 3.0][..]), "encoding gives the chunk its vector back");
        assert_eq!(e0.matches("\"embedding\"").count(), 3, "b's vector is stored once: {e0}");
        let e1 = encode_delete(1, &["a".into(), "zzz".into()]).unwrap();
        let mut replaced = vec![row("c", vec![9.0, 9.0])];
        replaced[0].chunk.content = json!("new c");
        let e2 = encode_insert(2, &mut replaced).unwrap();

        let r = replay(&[e0, e1, e2], 2);
        assert_eq!(ids(&r), ["b", "c"]);
        assert_eq!((r.next_seq, r.stored, r.skipped), (3, 4, 0));
        assert_eq!(r.rows[0].chunk, first[1].chunk);
        assert_eq!(r.rows[0].embedding, [f32::MAX, 3.0]);
        assert_eq!(r.rows[1].chunk.content, json!("new c"));
        assert_eq!(r.rows[1].embedding, [9.0, 9.0]);
    }

    #[test]
    fn unreadable_entries_and_vectors_are_skipped() {
        let good = encode_insert(4, &mut [row("a", vec![1.0, 2.0])]).unwrap();
        let other_dim = encode_insert(5, &mut [row("b", vec![1.0])]).unwrap();
        let bad_base64 = r#"{"op":"insert","seq":6,"chunks":[{"chunk":{"content":"x","chunk_id":"x"},"embedding":"AAA="}]}"#;
        let r = replay(&[good, "{not json".into(), other_dim, bad_base64.into()], 2);
        assert_eq!(ids(&r), ["a"]);
        assert_eq!((r.next_seq, r.stored, r.skipped), (7, 3, 3));
        let e: Entry<Chunk> = serde_json::from_str(r#"{"op":"insert","seq":0,"chunks":[{"chunk":{"content":"x"},"embedding":"AACAPw=="}]}"#).unwrap();
        let Entry::Insert { chunks, .. } = e else { panic!("an insert") };
        assert_eq!(chunks[0].chunk, Chunk::text("x", Map::new()));
        assert_eq!(decode_embedding(&chunks[0].embedding).unwrap(), [1.0]);
    }

    #[test]
    fn one_store_range_never_holds_another_store_and_keys_sort_by_seq() {
        let (start, end) = log_range("a");
        let inside = |k: &str| k >= start.as_str() && k <= end.as_str();
        assert!(inside(&log_key("a", 0)) && inside(&log_key("a", u64::MAX)));
        assert!(!inside(&log_key("a:b", 1)));
        assert!(!inside(&log_key("a%3Ab", 1)));
        assert!(!inside(&log_key("ab", 1)));
        assert!(log_key("a", 9) < log_key("a", 10));
        assert_ne!(spec_key("a:b"), spec_key("a%3Ab"));
    }

    #[test]
    fn centroids_round_trip_and_partial_ones_are_refused() {
        let c = Centroids { nlist: 2, trained_on: 10, dim: 3, data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5], imbalance: 0.0 };
        assert_eq!(decode_centroids(&encode_centroids(&c).unwrap()), Some(c.clone()));
        let short = Centroids { data: vec![1.0], ..c };
        assert_eq!(decode_centroids(&encode_centroids(&short).unwrap()), None);
        assert_eq!(decode_centroids("{}"), None);
    }
}
