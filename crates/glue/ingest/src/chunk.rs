//! Token-window chunking (upstream's `make_overlapped_chunks`) and deterministic chunk ids
//! (upstream's `generate_chunk_id`).

use std::ops::Range;

use lls_api_common::Error;
use sha2::{Digest, Sha256};

use crate::tokenizer::token_offsets;

/// How text is cut into windows of tokens. Built through a validating constructor, so a value
/// always has `overlap_tokens < max_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkingParams {
    max_tokens: usize,
    overlap_tokens: usize,
}

impl ChunkingParams {
    /// The `auto` strategy (and what is used when none is given): 800 tokens, 400 overlap —
    /// OpenAI's published defaults, as in upstream 0.3.5.
    pub const AUTO: Self = Self { max_tokens: 800, overlap_tokens: 400 };

    /// Any window with `max_tokens >= 1` and `overlap_tokens < max_tokens` (used by the legacy
    /// RAG tool, whose `chunk_size_in_tokens` has no range).
    pub fn new(max_tokens: usize, overlap_tokens: usize) -> Result<Self, Error> {
        if max_tokens == 0 {
            return Err(Error::invalid("chunk size must be at least 1 token"));
        }
        if overlap_tokens >= max_tokens {
            return Err(Error::invalid(format!(
                "chunk overlap ({overlap_tokens} tokens) must be smaller than the chunk size ({max_tokens} tokens)"
            )));
        }
        Ok(Self { max_tokens, overlap_tokens })
    }

    /// The OpenAI `static` chunking strategy: `max_chunk_size_tokens` in `100..=4096` and
    /// `chunk_overlap_tokens` at most half of it (OpenAI's documented rules; upstream 0.3.5
    /// checks only the first and fails later on an overlap >= the size).
    pub fn static_strategy(max_chunk_size_tokens: usize, chunk_overlap_tokens: usize) -> Result<Self, Error> {
        if !(100..=4096).contains(&max_chunk_size_tokens) {
            return Err(Error::invalid(format!(
                "chunking_strategy.static.max_chunk_size_tokens must be between 100 and 4096, got {max_chunk_size_tokens}"
            ))
            .with_param("chunking_strategy.static.max_chunk_size_tokens"));
        }
        if chunk_overlap_tokens > max_chunk_size_tokens / 2 {
            return Err(Error::invalid(format!(
                "chunking_strategy.static.chunk_overlap_tokens must not exceed half of max_chunk_size_tokens \
                 ({max_chunk_size_tokens}), got {chunk_overlap_tokens}"
            ))
            .with_param("chunking_strategy.static.chunk_overlap_tokens"));
        }
        Self::new(max_chunk_size_tokens, chunk_overlap_tokens)
    }

    /// Tokens per window (the last windows may hold fewer).
    pub fn max_tokens(self) -> usize {
        self.max_tokens
    }

    /// Tokens shared by consecutive windows.
    pub fn overlap_tokens(self) -> usize {
        self.overlap_tokens
    }
}

impl Default for ChunkingParams {
    fn default() -> Self {
        Self::AUTO
    }
}

/// One window of a document's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextChunk {
    /// The window's text: an exact slice of the input (see [`chunk_text`]).
    pub text: String,
    /// Tokens in the window (upstream's `token_count` / `content_token_count`).
    pub token_count: usize,
    /// Position of the chunk in the document, from 0.
    pub index: usize,
    /// Index of the window's first token in the document.
    pub start_token: usize,
}

impl TextChunk {
    /// Upstream's `chunk_window`: `"{start}-{end}"` in token indexes.
    pub fn window(&self) -> String {
        format!("{}-{}", self.start_token, self.start_token + self.token_count)
    }
}

/// Cuts `text` into overlapping token windows as upstream 0.3.5 does: the text is encoded once,
/// windows `tokens[i..i + max]` start every `max - overlap` tokens while `i < len`, and trailing
/// windows are not merged (1000 tokens at 800/400 → 0–800, 400–1000, 800–1000).
///
/// Each chunk's text is the slice of `text` that its tokens cover, so nothing is lost or garbled:
/// where the BPE split a multi-byte character across a window edge, the window's text grows to
/// include the whole character (upstream decodes such edges to U+FFFD). Empty or
/// whitespace-only text gives no chunks.
pub fn chunk_text(text: &str, params: ChunkingParams) -> Vec<TextChunk> {
    window_spans(text, params)
        .into_iter()
        .enumerate()
        .map(|(index, span)| TextChunk {
            text: text.get(span.bytes).unwrap_or_default().to_owned(),
            token_count: span.token_count,
            index,
            start_token: span.start_token,
        })
        .collect()
}

/// Where a window lies: its byte range in the text (on character boundaries) and its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WindowSpan {
    bytes: Range<usize>,
    start_token: usize,
    token_count: usize,
}

fn window_spans(text: &str, params: ChunkingParams) -> Vec<WindowSpan> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    let offsets = token_offsets(text);
    let token_total = offsets.len().saturating_sub(1);
    let step = params.max_tokens.saturating_sub(params.overlap_tokens).max(1);
    (0..token_total)
        .step_by(step)
        .map(|start| {
            let end = start.saturating_add(params.max_tokens).min(token_total);
            let from = floor_char_boundary(text, offsets.get(start).copied().unwrap_or(0));
            let to = ceil_char_boundary(text, offsets.get(end).copied().unwrap_or(text.len()));
            WindowSpan { bytes: from..to, start_token: start, token_count: end - start }
        })
        .collect()
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// Upstream's `generate_chunk_id`: the UUID spelled by the first 32 hex digits of
/// `sha256("{document_id}:{text}")`, with `":{window}"` appended to the hashed input when a
/// non-empty window is given. Deterministic, so re-ingesting a file yields the same ids.
///
/// Note: upstream's file-attach path calls it as `generate_chunk_id(chunk_text, full_text,
/// window)`; pass the arguments in that order to reproduce its ids.
pub fn chunk_id(document_id: &str, text: &str, window: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(document_id.as_bytes());
    hasher.update(b":");
    hasher.update(text.as_bytes());
    if let Some(window) = window.filter(|w| !w.is_empty()) {
        hasher.update(b":");
        hasher.update(window.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text whose characters cl100k splits into several byte-level tokens.
    const SPLIT_PRONE: &str = "日本語のテキスト🦀👩‍👩‍👧‍👦 naïve café Ελληνικά עברית 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ";

    #[test]
    fn windows_without_overlap_cover_every_byte_once_but_for_split_characters() {
        let text = SPLIT_PRONE.repeat(20);
        for max in [1, 2, 3, 5, 64] {
            let spans = window_spans(&text, ChunkingParams::new(max, 0).unwrap());
            assert_eq!(spans.first().unwrap().bytes.start, 0);
            assert_eq!(spans.last().unwrap().bytes.end, text.len());
            let mut split_edges = 0;
            for pair in spans.windows(2) {
                let (prev, next) = (&pair[0].bytes, &pair[1].bytes);
                assert!(next.start <= prev.end, "{max}: gap between {prev:?} and {next:?}");
                if next.start < prev.end {
                    // The shared bytes are exactly one character cut by the window edge.
                    assert_eq!(text[next.start..prev.end].chars().count(), 1, "{max}: {prev:?} {next:?}");
                    split_edges += 1;
                }
                assert_eq!(pair[1].start_token, pair[0].start_token + pair[0].token_count);
            }
            if max == 1 {
                assert!(split_edges > 0, "the text should make cl100k split characters");
            }
        }
    }

    #[test]
    fn window_text_equals_decoded_tokens_when_edges_fall_between_characters() {
        let text = SPLIT_PRONE.repeat(5);
        for span in window_spans(&text, ChunkingParams::new(7, 3).unwrap()) {
            let decoded = crate::tokenizer::encode_decode_window(&text, span.start_token, span.start_token + span.token_count);
            match std::str::from_utf8(&decoded) {
                Ok(decoded) => assert_eq!(&text[span.bytes.clone()], decoded),
                // Cut characters: the slice is the decoded bytes grown to whole characters.
                Err(_) => {
                    let slice = &text.as_bytes()[span.bytes.clone()];
                    assert!(slice.windows(decoded.len()).any(|w| w == decoded.as_slice()));
                    assert!(slice.len() - decoded.len() <= 6);
                }
            }
        }
    }
}
