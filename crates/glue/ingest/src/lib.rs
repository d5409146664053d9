//! Document parsing and token chunking for RAG ingestion: file bytes → text ([`parse`]) →
//! overlapping token windows ([`chunk_text`]) with deterministic ids ([`chunk_id`]).
//!
//! This is the first half of upstream 0.3.5's vector-store file attach
//! (`content_from_data_and_mime_type` and `make_overlapped_chunks`); embedding and indexing are
//! the vector-io crates' job. Everything here is synchronous and CPU-bound: callers on an async
//! runtime run it in `spawn_blocking`.
//!
//! ```
//! use lls_ingest::{ChunkingParams, chunk_id, chunk_text, parse};
//!
//! let doc = parse(b"# Title\n\nSome text.", "notes.md", None)?;
//! assert_eq!(doc.mime_type, "text/markdown");
//! let chunks = chunk_text(&doc.text, ChunkingParams::AUTO);
//! assert_eq!(chunks.len(), 1);
//! let id = chunk_id(&chunks[0].text, &doc.text, Some(&chunks[0].window()));
//! assert_eq!(id.len(), 36);
//! # Ok::<(), lls_api_common::Error>(())
//! ```

mod chunk;
mod detect;
mod html;
mod parse;
mod pdf;
mod tokenizer;

pub use chunk::{ChunkingParams, TextChunk, chunk_id, chunk_text};
pub use parse::{ParsedDocument, parse};
pub use tokenizer::{count_tokens, warm_up};
