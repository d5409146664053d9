//! Embeddings `input` as text for a model with its own tokenizer. Token arrays are read as
//! OpenAI's `cl100k_base` ids (what OpenAI-style clients such as LangChain's `OpenAIEmbeddings`
//! encode with by default) and decoded to text, which the model then tokenizes itself.

use lls_api_common::{Error, Result};
use lls_api_inference::EmbeddingInput;
use tiktoken_rs::CoreBPE;

/// The texts to embed, one per embedding the answer holds. Decoding token arrays costs CPU
/// (and, once per process, building the BPE tables): call it off the async runtime.
pub fn input_texts(input: &EmbeddingInput) -> Result<Vec<String>> {
    match input {
        EmbeddingInput::Text(text) => Ok(vec![text.clone()]),
        EmbeddingInput::Texts(texts) => Ok(texts.clone()),
        EmbeddingInput::Tokens(ids) => Ok(vec![decode(ids, "input")?]),
        EmbeddingInput::TokenLists(lists) => {
            lists.iter().enumerate().map(|(i, ids)| decode(ids, &format!("input[{i}]"))).collect()
        }
    }
}

/// The text of cl100k ids. A multi-byte character cut at the array's edge (clients split long
/// texts into token windows) becomes U+FFFD, as OpenAI's own decoding does.
fn decode(ids: &[i64], place: &str) -> Result<String> {
    let bpe = tiktoken_rs::cl100k_base_singleton();
    let ranks = ids
        .iter()
        .enumerate()
        .map(|(at, &id)| u32::try_from(id).ok().filter(|&r| is_token(bpe, r)).ok_or_else(|| not_a_token(place, at, id)))
        .collect::<Result<Vec<u32>>>()?;
    let bytes = bpe
        .decode_bytes(&ranks)
        .map_err(|e| Error::invalid(format!("'{place}' holds {}, which is not a cl100k_base token id", e.token)).with_param("input"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn is_token(bpe: &CoreBPE, rank: u32) -> bool {
    bpe.decode_bytes(&[rank]).is_ok()
}

fn not_a_token(place: &str, at: usize, id: i64) -> Error {
    Error::invalid(format!(
        "'{place}[{at}]' is {id}, which is not a cl100k_base token id; token arrays are read as \
         cl100k_base (OpenAI's encoding for embedding models), whose ids are 0-100255 and its special tokens"
    ))
    .with_param("input")
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::ErrorKind;
    use serde_json::json;

    fn input(v: serde_json::Value) -> EmbeddingInput {
        serde_json::from_value(v).unwrap()
    }

    fn encode(text: &str) -> Vec<i64> {
        tiktoken_rs::cl100k_base_singleton().encode_ordinary(text).into_iter().map(i64::from).collect()
    }

    #[test]
    fn texts_pass_through() {
        assert_eq!(input_texts(&input(json!("hello"))).unwrap(), ["hello"]);
        assert_eq!(input_texts(&input(json!(["a", "b"]))).unwrap(), ["a", "b"]);
    }

    #[test]
    fn token_arrays_decode_as_cl100k() {
        // What tiktoken gives for "hello world" with cl100k_base.
        assert_eq!(input_texts(&input(json!([15339, 1917]))).unwrap(), ["hello world"]);
        let texts = ["The goalkeeper saved the penalty.", "héllo 🦀 wörld — 日本語"];
        let lists: Vec<Vec<i64>> = texts.iter().map(|t| encode(t)).collect();
        assert_eq!(input_texts(&input(json!(lists))).unwrap(), texts);
        // Special tokens decode to their text.
        assert_eq!(input_texts(&input(json!([100257]))).unwrap(), ["<|endoftext|>"]);
    }

    #[test]
    fn a_character_cut_at_a_window_edge_becomes_a_replacement_character() {
        let ids = encode("🦀");
        assert!(ids.len() > 1, "the crab should span several tokens: {ids:?}");
        let texts = input_texts(&input(json!([ids[..1].to_vec(), ids[1..].to_vec()]))).unwrap();
        assert!(texts.iter().all(|t| t.contains('\u{FFFD}')), "{texts:?}");
    }

    #[test]
    fn ids_outside_cl100k_are_invalid_requests_naming_the_place() {
        for (body, place) in [
            (json!([1, -1]), "'input[1]' is -1"),
            (json!([100256]), "'input[0]' is 100256"),
            (json!([[1, 2], [3, 200000]]), "'input[1][1]' is 200000"),
            (json!([[5_000_000_000_i64]]), "'input[0][0]' is 5000000000"),
        ] {
            let err = input_texts(&input(body.clone())).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{body}");
            assert_eq!(err.param(), Some("input"));
            assert!(err.message().contains(place), "{body}: {}", err.message());
        }
    }
}
