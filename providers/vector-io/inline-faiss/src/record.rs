//! How stores and chunks lie in the kv store: one key per store spec and one per chunk, so an
//! insert writes only its own chunks and a restart rebuilds each index from the stored vectors.
//!
//! ```text
//! faiss:v1:spec:{store}              -> IndexSpec JSON
//! faiss:v1:chunk:{store}:{chunk_id}  -> {"chunk": Chunk JSON, "embedding": base64 of f32 LE, …}
//! ```
//! `{store}` is percent-escaped (`%` and `:`), so one store's key range never holds another's.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lls_api_common::{Error, Result};
use lls_api_vector_io::{Chunk, IndexSpec};
use serde::{Deserialize, Serialize};

const SPEC_PREFIX: &str = "faiss:v1:spec:";
const CHUNK_PREFIX: &str = "faiss:v1:chunk:";
/// Sorts after every key with a given prefix (the last Unicode scalar value).
const RANGE_END: char = '\u{10FFFF}';

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

pub(crate) fn chunk_key(store: &str, chunk_id: &str) -> String {
    format!("{CHUNK_PREFIX}{}:{chunk_id}", escape(store))
}

/// `[start, end]` covering every chunk key of `store`.
pub(crate) fn chunk_range(store: &str) -> (String, String) {
    let prefix = format!("{CHUNK_PREFIX}{}:", escape(store));
    let end = format!("{prefix}{RANGE_END}");
    (prefix, end)
}

/// A stored chunk. The embedding is base64 of little-endian `f32`s (a third of the size of a
/// JSON array of numbers, and lossless); a chunk that carried the same vector in its own
/// `embedding` field is stored without it and gets it back on load.
#[derive(Serialize, Deserialize)]
struct Record<C> {
    chunk: C,
    embedding: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    embedding_in_chunk: bool,
}

/// The record of `chunk` (whose `chunk_id` is set) with `embedding`.
pub(crate) fn encode(chunk: &mut Chunk, embedding: &[f32]) -> Result<String> {
    let embedding_in_chunk = chunk.embedding.as_deref() == Some(embedding);
    let inline = if embedding_in_chunk { chunk.embedding.take() } else { None };
    let bytes: Vec<u8> = embedding.iter().flat_map(|x| x.to_le_bytes()).collect();
    let encoded = serde_json::to_string(&Record { chunk: &*chunk, embedding: STANDARD.encode(bytes), embedding_in_chunk });
    if inline.is_some() {
        chunk.embedding = inline;
    }
    encoded.map_err(|e| Error::internal(format!("cannot encode chunk {:?}: {e}", chunk.chunk_id)))
}

/// A stored chunk and its embedding.
pub(crate) fn decode(value: &str) -> Result<(Chunk, Vec<f32>)> {
    let record: Record<Chunk> =
        serde_json::from_str(value).map_err(|e| Error::internal(format!("a stored faiss chunk is not valid: {e}")))?;
    let bytes = STANDARD
        .decode(record.embedding.as_bytes())
        .map_err(|e| Error::internal(format!("a stored faiss embedding is not valid base64: {e}")))?;
    if bytes.len() % 4 != 0 {
        return Err(Error::internal("a stored faiss embedding is not a whole number of f32 values"));
    }
    let embedding: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let mut chunk = record.chunk;
    if record.embedding_in_chunk {
        chunk.embedding = Some(embedding.clone());
    }
    Ok((chunk, embedding))
}

pub(crate) fn encode_spec(spec: &IndexSpec) -> Result<String> {
    serde_json::to_string(spec).map_err(|e| Error::internal(format!("cannot encode the spec of {}: {e}", spec.vector_store_id)))
}

pub(crate) fn decode_spec(value: &str) -> Result<IndexSpec> {
    serde_json::from_str(value).map_err(|e| Error::internal(format!("a stored faiss store spec is not valid: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    #[test]
    fn records_round_trip_losslessly() {
        let mut chunk = Chunk::text("hello", json!({"a": [1, null]}).as_object().cloned().unwrap());
        chunk.chunk_id = Some("c1".into());
        let v = vec![0.1_f32, -2.5e-8, f32::MAX, 3.0];
        let stored = encode(&mut chunk, &v).unwrap();
        assert!(!stored.contains("embedding_in_chunk"));
        assert_eq!(decode(&stored).unwrap(), (chunk.clone(), v.clone()));

        chunk.embedding = Some(v.clone());
        let stored = encode(&mut chunk, &v).unwrap();
        assert_eq!(chunk.embedding.as_deref(), Some(&v[..]), "encoding gives the chunk its embedding back");
        assert_eq!(stored.matches("embedding").count(), 2, "the vector is stored once: {stored}");
        assert_eq!(decode(&stored).unwrap(), (chunk, v));
    }

    #[test]
    fn corrupt_records_are_errors() {
        assert!(decode("{}").is_err());
        assert!(decode(r#"{"chunk": {"content": "x"}, "embedding": "AAA"}"#).is_err());
        assert!(decode(r#"{"chunk": {"content": "x"}, "embedding": "AAA="}"#).is_err());
        let (c, v) = decode(r#"{"chunk": {"content": "x"}, "embedding": "AACAPw=="}"#).unwrap();
        assert_eq!((c, v), (Chunk::text("x", Map::new()), vec![1.0]));
    }

    #[test]
    fn one_store_range_never_holds_another_store() {
        let (start, end) = chunk_range("a");
        let inside = |k: &str| k >= start.as_str() && k <= end.as_str();
        assert!(inside(&chunk_key("a", "x:y")));
        assert!(inside(&chunk_key("a", "\u{10FFFE}")));
        assert!(!inside(&chunk_key("a:b", "x")));
        assert!(!inside(&chunk_key("a%3Ab", "x")));
        assert!(!inside(&chunk_key("ab", "x")));
        assert_ne!(spec_key("a:b"), spec_key("a%3Ab"));
    }
}
