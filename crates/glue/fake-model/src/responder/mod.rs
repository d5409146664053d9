//! The deterministic "model" behind the mock server and the fake provider: from a typed request to
//! the whole answer, and from the whole answer to its stream chunks. Both doubles call these
//! functions, so an HTTP-backed provider and the fake give the same answers.
//!
//! Rules: chat echoes the last user message (`Mock answer. You asked: ...`), answers a tool result
//! with `The tool returned: ...`, calls the offered tool, fills JSON schemas; completions say
//! `" This is a deterministic mock completion about <prompt>."`; a Llama Guard prompt gets a
//! verdict ([`guard_verdict`]); embeddings are
//! [`crate::embedding`]'s. A model whose name contains `embed` is an embedding model;
//! [`REPEATS_TOOL_CALLS`] behaves as small models do and calls its tool again after its result.

mod chat;
mod completion;
mod guard;

pub use chat::{REPEATS_TOOL_CALLS, chat, chat_chunks};
pub use completion::{completion, completion_chunks};
pub use guard::guard_verdict;

use lls_api_common::{Error, Result};
use lls_api_inference::{
    Embedding, EmbeddingInput, EmbeddingUsage, EmbeddingsRequest, EmbeddingsResponse,
};
use lls_api_inference::{EncodingFormat, Stop};
use serde_json::{Value, json};

use crate::embedding::{embed_text, embed_tokens, fnv1a, token_count};
use crate::failure::Failure;

/// Whether the name denotes an embedding model (`mock-embed`, `text-embedding-3-small`, ...).
pub fn is_embedding_model(model: &str) -> bool {
    model.contains("embed")
}

/// Whether chat and completions may be asked of this model.
pub fn serves_text(model: &str) -> bool {
    !is_embedding_model(model)
}

/// Whether embeddings may be asked of this model: embedding models and failure-injection names.
pub fn serves_embeddings(model: &str) -> bool {
    is_embedding_model(model) || Failure::from_model(model).is_some()
}

/// The embeddings of a request: one per input, `dimensions` long (else `default_dimension`).
pub fn embeddings(req: &EmbeddingsRequest, default_dimension: usize) -> Result<EmbeddingsResponse> {
    if req.input.is_empty() {
        return Err(Error::invalid("input must be a non-empty string or list").with_param("input"));
    }
    if req.dimensions == Some(0) {
        return Err(Error::invalid("dimensions must be at least 1").with_param("dimensions"));
    }
    let dim = req.dimensions.map_or(default_dimension, |d| d as usize);
    let (vectors, tokens): (Vec<Vec<f32>>, usize) = match &req.input {
        EmbeddingInput::Text(t) => (vec![embed_text(t, dim)], token_count(t)),
        EmbeddingInput::Texts(ts) => (
            ts.iter().map(|t| embed_text(t, dim)).collect(),
            ts.iter().map(|t| token_count(t)).sum(),
        ),
        EmbeddingInput::Tokens(t) => (vec![embed_tokens(t, dim)], t.len()),
        EmbeddingInput::TokenLists(ls) => (
            ls.iter().map(|t| embed_tokens(t, dim)).collect(),
            ls.iter().map(Vec::len).sum(),
        ),
    };
    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let mut e = Embedding::new(i as u32, v);
            if req.encoding() == EncodingFormat::Base64 {
                e.embedding = e.embedding.to_base64();
            }
            e
        })
        .collect();
    Ok(EmbeddingsResponse {
        object: "list".into(),
        data,
        model: req.model.clone(),
        usage: EmbeddingUsage {
            prompt_tokens: tokens as i64,
            total_tokens: tokens as i64,
        },
    })
}

/// Splits text into word-ish pieces that concatenate back to it: each piece is a run of
/// whitespace followed by a run of non-whitespace (the first may lack the whitespace).
/// These are the mock's "tokens" for streaming, `max_tokens` and logprobs.
pub fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        let ws = c.is_whitespace();
        if ws && in_word {
            out.push(&text[start..i]);
            start = i;
        }
        in_word = !ws;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Applies `stop` (cut before the first stop string) and then `max_tokens` (keep that many
/// pieces); returns the text and its finish reason, whichever limit bit first.
pub(crate) fn shape(
    text: &str,
    stop: Option<&Stop>,
    max_tokens: Option<u32>,
) -> (String, &'static str) {
    let stops: Vec<&str> = match stop {
        Some(Stop::One(s)) => vec![s.as_str()],
        Some(Stop::Many(v)) => v.iter().map(String::as_str).collect(),
        None => Vec::new(),
    };
    let cut = stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s))
        .min();
    let text = cut.map_or(text, |i| &text[..i]);
    if let Some(max) = max_tokens {
        let ps = pieces(text);
        if ps.len() > max as usize {
            return (ps[..max as usize].concat(), "length");
        }
    }
    (text.to_owned(), "stop")
}

/// The deterministic log probability of a piece, in [-1, -0.001].
pub(crate) fn logprob(piece: &str) -> f64 {
    -(((fnv1a(piece.as_bytes()) % 1000) as f64) + 1.0) / 1000.0
}

/// The `top` alternatives of a piece, best first: the piece itself, then ` alt1`, ` alt2`, ...
pub(crate) fn alternatives(piece: &str, top: u32) -> Vec<(String, f64)> {
    let lp = logprob(piece);
    (0..top)
        .map(|j| {
            if j == 0 {
                (piece.to_owned(), lp)
            } else {
                (format!(" alt{j}"), lp - f64::from(j))
            }
        })
        .collect()
}

/// One entry of chat's `logprobs.content`.
pub(crate) fn chat_logprob_entry(piece: &str, top: u32) -> Value {
    let top_logprobs: Vec<Value> = alternatives(piece, top)
        .into_iter()
        .map(|(t, lp)| json!({"token": t, "logprob": lp, "bytes": t.as_bytes()}))
        .collect();
    json!({"token": piece, "logprob": logprob(piece), "bytes": piece.as_bytes(), "top_logprobs": top_logprobs})
}

/// The word a mock puts in string fields: the last word of the user's text, else `value`.
pub(crate) fn last_word(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .rfind(|w| !w.is_empty())
        .map_or_else(|| "value".to_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_concatenate_back() {
        for t in [
            "Mock answer. You asked: hi",
            " leading space",
            "trailing  ",
            "",
            "one",
        ] {
            assert_eq!(pieces(t).concat(), t);
        }
        assert_eq!(pieces("a b  c"), vec!["a", " b", "  c"]);
    }

    #[test]
    fn shape_applies_stop_then_length() {
        assert_eq!(shape("a b c d", None, Some(2)), ("a b".into(), "length"));
        assert_eq!(
            shape("a b c d", Some(&Stop::One(" c".into())), None),
            ("a b".into(), "stop")
        );
        assert_eq!(
            shape(
                "a b c d",
                Some(&Stop::Many(vec!["d".into(), "b".into()])),
                Some(5)
            ),
            ("a ".into(), "stop")
        );
        assert_eq!(shape("a b", None, Some(2)), ("a b".into(), "stop"));
    }

    #[test]
    fn last_word_skips_punctuation() {
        assert_eq!(last_word("Weather in Paris?"), "Paris");
        assert_eq!(last_word("?!"), "value");
    }

    #[test]
    fn model_classes() {
        assert!(serves_embeddings("mock-embed") && serves_embeddings("error-500"));
        assert!(!serves_embeddings("mock-llm"));
        assert!(serves_text("mock-llm") && !serves_text("text-embedding-3-small"));
    }
}
