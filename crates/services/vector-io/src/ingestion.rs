//! Turning an uploaded file into indexed chunks: fetch it from the files API, parse and chunk it
//! on the blocking pool, embed the chunks, insert them into the provider and keep a copy of
//! them. Any failure is the file's own (`failed` with a `last_error`), never the store's.
//!
//! Ingestion runs as supervised background work. On shutdown it stops at a safe point: before
//! anything reaches the provider (the file stays `in_progress`, so a restart resumes it), or,
//! once inserting has begun, after the file is recorded.

use std::sync::Arc;

use lls_api_common::{Error, ErrorKind, RequestContext, Result, unix_now};
use lls_api_vector_io::{
    Chunk, ChunkMetadata, ChunkingStrategy, EmbeddedChunk, FileLastError, LastErrorCode, VectorIo,
};
use lls_ingest::ChunkingParams;
use serde_json::{Map, Value};

use crate::embedding::{EmbeddingSpec, embed_texts};
use crate::records::{StoreRow, keys};
use crate::service::Inner;

/// Chunks per provider insert call.
const INSERT_GROUP: usize = 512;

/// Upstream's `chunk_tokenizer` label for token-window chunks.
const TOKENIZER: &str = "DEFAULT_TIKTOKEN_TOKENIZER";

/// The token windows a strategy asks for, checked against OpenAI's bounds.
pub(crate) fn chunking_params(strategy: ChunkingStrategy) -> Result<ChunkingParams> {
    match strategy {
        ChunkingStrategy::Auto => Ok(ChunkingParams::AUTO),
        ChunkingStrategy::Static { config } => {
            ChunkingParams::static_strategy(config.max_chunk_size_tokens, config.chunk_overlap_tokens)
        }
    }
}

/// Where a store's chunks go.
#[derive(Clone)]
pub(crate) struct Target {
    pub provider_id: String,
    pub provider: Arc<dyn VectorIo>,
    pub embedding: EmbeddingSpec,
}

impl Inner {
    pub fn target(&self, row: &StoreRow) -> Result<Target> {
        let provider = self.provider(row)?;
        Ok(Target {
            provider_id: row.provider_id.clone(),
            provider: provider.provider.clone(),
            embedding: EmbeddingSpec {
                store_id: row.id.clone(),
                model: row.embedding_model.clone(),
                dimension: row.embedding_dimension,
                request_dimensions: row.request_dimensions,
            },
        })
    }
}

/// What ingesting one file came to.
pub(crate) struct Ingested {
    /// The file's name in the files API (empty when it could not be read).
    pub filename: String,
    /// Bytes of chunk text indexed, or why the file failed; `None` when shutdown interrupted it
    /// before anything was written (the file stays `in_progress`, to be resumed).
    pub outcome: Option<std::result::Result<u64, FileLastError>>,
}

/// Ingests `file_id` into the store of `target`. On success the chunks are in the provider and
/// their copy is under `contents:{store}:{file}`; on failure neither is.
pub(crate) async fn ingest_file(
    inner: &Inner,
    ctx: &RequestContext,
    target: &Target,
    file_id: &str,
    attributes: &Map<String, Value>,
    params: ChunkingParams,
) -> Ingested {
    let started = std::time::Instant::now();
    let mut filename = String::new();
    // Reading, parsing and embedding write nothing, so shutdown may drop them midway.
    let embedded = tokio::select! {
        biased;
        _ = inner.tasks.stopping() => None,
        embedded = embed_file(inner, ctx, target, file_id, attributes, params, &mut filename) => Some(embedded),
    };
    let outcome = match embedded {
        None => None,
        Some(Err(e)) => Some(Err(e)),
        Some(Ok(_)) if inner.tasks.is_stopping() => None,
        Some(Ok((chunks, embedded))) => {
            let count = chunks.len();
            Some(store_file(inner, target, file_id, chunks, embedded).await.map(|usage| (usage, count)))
        }
    };
    if let Some(outcome) = &outcome {
        crate::metrics::ingested(&target.provider_id, started.elapsed(), outcome.as_ref().map(|(_, count)| *count));
    }
    Ingested { filename, outcome: outcome.map(|o| o.map(|(usage, _)| usage)) }
}

/// Reads, parses, chunks and embeds a file, writing nothing.
async fn embed_file(
    inner: &Inner,
    ctx: &RequestContext,
    target: &Target,
    file_id: &str,
    attributes: &Map<String, Value>,
    params: ChunkingParams,
    filename: &mut String,
) -> std::result::Result<(Vec<Chunk>, Vec<EmbeddedChunk>), FileLastError> {
    let deps = inner.deps().map_err(|e| last_error(&e, LastErrorCode::ServerError))?;
    let Some(files) = deps.files.clone() else {
        return Err(FileLastError { code: LastErrorCode::ServerError, message: "Files API is not available".into() });
    };
    let meta = files.retrieve(ctx, file_id).await.map_err(|e| last_error(&e, LastErrorCode::InvalidFile))?;
    filename.clone_from(&meta.filename);
    let content = files.content(ctx, file_id).await.map_err(|e| last_error(&e, LastErrorCode::InvalidFile))?;

    let chunks = {
        let _slot = inner.parse_slots.acquire().await.map_err(|_| server_error("the parser pool is closed"))?;
        let (name, id, attrs, model, dim) = (
            meta.filename.clone(),
            file_id.to_owned(),
            attributes.clone(),
            target.embedding.model.clone(),
            target.embedding.dimension,
        );
        let bytes = content.content;
        tokio::task::spawn_blocking(move || prepare(&bytes, &name, &id, &attrs, params, &model, dim))
            .await
            .map_err(|e| server_error(&format!("parsing the file failed: {e}")))??
    };
    if chunks.is_empty() {
        return Err(FileLastError {
            code: LastErrorCode::InvalidFile,
            message: "No chunks were generated from the file".into(),
        });
    }
    let texts = chunks.iter().map(Chunk::content_text).collect();
    let vectors = embed_texts(deps.inference.as_ref(), ctx, &target.embedding, texts)
        .await
        .map_err(|e| last_error(&e, LastErrorCode::ServerError))?;
    let embedded: Vec<EmbeddedChunk> = chunks
        .iter()
        .zip(vectors)
        .map(|(c, embedding)| EmbeddedChunk {
            chunk_id: c.chunk_id.clone().unwrap_or_default(),
            chunk: c.clone(),
            embedding,
        })
        .collect();
    Ok((chunks, embedded))
}

/// Inserts a file's chunks into the provider and keeps their copy; on failure neither stays.
async fn store_file(
    inner: &Inner,
    target: &Target,
    file_id: &str,
    chunks: Vec<Chunk>,
    embedded: Vec<EmbeddedChunk>,
) -> std::result::Result<u64, FileLastError> {
    let usage: u64 = chunks.iter().map(|c| c.content_text().len() as u64).sum();
    let ids: Vec<String> = embedded.iter().map(|c| c.chunk_id.clone()).collect();
    if let Err(e) = insert_all(target, embedded).await {
        remove_chunks(target, &ids).await;
        return Err(last_error(&e, LastErrorCode::ServerError));
    }
    let copy = tokio::task::spawn_blocking(move || serde_json::to_string(&chunks))
        .await
        .map_err(|e| server_error(&format!("saving the chunks failed: {e}")))?
        .map_err(|e| server_error(&format!("saving the chunks failed: {e}")))?;
    if let Err(e) = inner.records.put_raw(&keys::contents(&target.embedding.store_id, file_id), &copy).await {
        remove_chunks(target, &ids).await;
        return Err(last_error(&e, LastErrorCode::ServerError));
    }
    Ok(usage)
}

/// Inserts in groups, so no single provider call holds a whole large file.
pub(crate) async fn insert_all(target: &Target, chunks: Vec<EmbeddedChunk>) -> Result<()> {
    let mut rest = chunks;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(INSERT_GROUP));
        target
            .provider
            .insert(&target.embedding.store_id, rest)
            .await
            .map_err(|e| e.with_provider(target.provider_id.clone()))?;
        rest = tail;
    }
    Ok(())
}

/// Best-effort removal of chunks (after a failed ingestion, or a file deleted meanwhile).
pub(crate) async fn remove_chunks(target: &Target, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    if let Err(e) = target.provider.delete_chunks(&target.embedding.store_id, ids).await {
        tracing::warn!(
            store = %target.embedding.store_id,
            provider = %target.provider_id,
            "could not remove {} chunks: {e}",
            ids.len()
        );
    }
}

fn server_error(message: &str) -> FileLastError {
    FileLastError { code: LastErrorCode::ServerError, message: message.to_owned() }
}

/// A file's `last_error` for an error, `fallback` unless the kind says more.
fn last_error(e: &Error, fallback: LastErrorCode) -> FileLastError {
    let code = match e.kind() {
        ErrorKind::RateLimited => LastErrorCode::RateLimitExceeded,
        ErrorKind::NotFound | ErrorKind::InvalidRequest if fallback == LastErrorCode::InvalidFile => LastErrorCode::InvalidFile,
        _ if fallback == LastErrorCode::InvalidFile => LastErrorCode::ServerError,
        _ => fallback,
    };
    FileLastError { code, message: e.to_string() }
}

/// Parses and chunks a file (CPU-bound: runs on the blocking pool). Each chunk's metadata is
/// the file's attributes plus `filename`, `document_id` (the file id), `token_count` and
/// `metadata_token_count`, as 0.3.5 writes them.
fn prepare(
    bytes: &[u8],
    filename: &str,
    file_id: &str,
    attributes: &Map<String, Value>,
    params: ChunkingParams,
    model: &str,
    dimension: usize,
) -> std::result::Result<Vec<Chunk>, FileLastError> {
    let doc = lls_ingest::parse(bytes, filename, None).map_err(|e| {
        let code = if e.message().starts_with("unsupported file type") {
            LastErrorCode::UnsupportedFile
        } else {
            LastErrorCode::InvalidFile
        };
        FileLastError { code, message: e.message().to_owned() }
    })?;
    let mut base = attributes.clone();
    base.insert("filename".into(), Value::String(filename.to_owned()));
    let metadata_tokens = lls_ingest::count_tokens(&lls_pycompat::repr_map(&base));
    let now = unix_now();
    let created = attributes.get("created_timestamp").and_then(Value::as_i64).unwrap_or(now);
    let source = attributes.get("source").and_then(Value::as_str).map(str::to_owned);
    Ok(lls_ingest::chunk_text(&doc.text, params)
        .into_iter()
        .map(|w| {
            let window = w.window();
            let id = lls_ingest::chunk_id(file_id, &w.text, Some(&window));
            let mut metadata = base.clone();
            metadata.insert("document_id".into(), Value::String(file_id.to_owned()));
            metadata.insert("token_count".into(), Value::from(w.token_count));
            metadata.insert("metadata_token_count".into(), Value::from(metadata_tokens));
            Chunk {
                content: Value::String(w.text),
                metadata,
                embedding: None,
                chunk_id: Some(id.clone()),
                chunk_metadata: Some(ChunkMetadata {
                    chunk_id: Some(id),
                    document_id: Some(file_id.to_owned()),
                    source: source.clone(),
                    created_timestamp: Some(created),
                    updated_timestamp: Some(now),
                    chunk_window: Some(window),
                    chunk_tokenizer: Some(TOKENIZER.into()),
                    chunk_embedding_model: Some(model.to_owned()),
                    chunk_embedding_dimension: Some(dimension),
                    content_token_count: Some(w.token_count),
                    metadata_token_count: Some(metadata_tokens),
                }),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_vector_io::StaticChunking;
    use serde_json::json;

    #[test]
    fn static_strategy_is_bounded() {
        let s = |max, overlap| ChunkingStrategy::Static {
            config: StaticChunking { max_chunk_size_tokens: max, chunk_overlap_tokens: overlap },
        };
        assert_eq!(chunking_params(ChunkingStrategy::Auto).unwrap(), ChunkingParams::AUTO);
        assert!(chunking_params(s(100, 50)).is_ok());
        assert!(chunking_params(s(99, 0)).is_err());
        assert!(chunking_params(s(4097, 0)).is_err());
        assert!(chunking_params(s(200, 101)).is_err());
    }

    #[test]
    fn chunks_carry_upstream_metadata() {
        let attrs = json!({"foo": "bar"}).as_object().unwrap().clone();
        let text = "word ".repeat(300);
        let params = ChunkingParams::static_strategy(100, 50).unwrap();
        let chunks = prepare(text.as_bytes(), "a.txt", "file-1", &attrs, params, "m", 8).unwrap();
        assert!(chunks.len() > 2);
        let m = &chunks[0].metadata;
        assert_eq!(m["foo"], "bar");
        assert_eq!(m["filename"], "a.txt");
        assert_eq!(m["document_id"], "file-1");
        assert_eq!(m["token_count"], 100);
        assert!(m["metadata_token_count"].as_u64().unwrap() > 0);
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["foo", "filename", "document_id", "token_count", "metadata_token_count"]);
        let cm = chunks[0].chunk_metadata.as_ref().unwrap();
        assert_eq!(cm.chunk_window.as_deref(), Some("0-100"));
        assert_eq!(cm.chunk_id, chunks[0].chunk_id);
        assert_ne!(chunks[0].chunk_id, chunks[1].chunk_id);
    }

    #[test]
    fn unreadable_files_fail_with_a_code() {
        let e = prepare(&[0x50, 0x4b, 3, 4, 0, 0], "a.zip", "f", &Map::new(), ChunkingParams::AUTO, "m", 8).unwrap_err();
        assert_eq!(e.code, LastErrorCode::UnsupportedFile);
        assert!(prepare(b"", "a.txt", "f", &Map::new(), ChunkingParams::AUTO, "m", 8).unwrap().is_empty());
    }
}
