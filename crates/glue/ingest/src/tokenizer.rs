//! The tokenizer that sizes chunks and counts tokens: OpenAI's `cl100k_base` BPE from
//! `tiktoken-rs`, whose ranks are compiled into the crate (nothing is downloaded at run time).
//!
//! Upstream 0.3.5 uses the Llama 3 tiktoken BPE, which we cannot ship. Llama 3's vocabulary is
//! cl100k_base's 100k ranks plus 28k more, with a near-identical pre-tokenizer regex, so
//! cl100k_base gives the closest token counts of the encodings we can embed.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

/// Ordinary (non-special) ranks of cl100k_base are `0..CL100K_ORDINARY`.
const CL100K_ORDINARY: u32 = 100_256;

/// The BPE plus a rank → byte-length table, built once per process.
struct Tokenizer {
    bpe: &'static CoreBPE,
    token_len: Vec<u32>,
}

fn tokenizer() -> &'static Tokenizer {
    static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        let bpe = tiktoken_rs::cl100k_base_singleton();
        let token_len = (0..CL100K_ORDINARY).map(|rank| byte_len(bpe, rank)).collect();
        Tokenizer { bpe, token_len }
    })
}

fn byte_len(bpe: &CoreBPE, rank: u32) -> u32 {
    bpe.decode_bytes(&[rank])
        .map_or(0, |bytes| u32::try_from(bytes.len()).unwrap_or(u32::MAX))
}

/// Loads the tokenizer now (about 0.2 s of CPU, once per process) so that the first file
/// ingested does not pay for it. Optional: every other function loads it on first use.
pub fn warm_up() {
    tokenizer();
}

/// Number of tokens in `text` (special-token text such as `<|endoftext|>` counts as ordinary
/// text, as upstream encodes it).
pub fn count_tokens(text: &str) -> usize {
    tokenizer().bpe.encode_ordinary(text).len()
}

/// Byte offset in `text` where each token starts, plus `text.len()` at the end: token `k`
/// covers `offsets[k]..offsets[k + 1]`. An offset can fall inside a multi-byte character when
/// the BPE split that character across tokens.
pub(crate) fn token_offsets(text: &str) -> Vec<usize> {
    let tokenizer = tokenizer();
    let tokens = tokenizer.bpe.encode_ordinary(text);
    let mut offsets = Vec::with_capacity(tokens.len() + 1);
    let mut at = 0usize;
    offsets.push(at);
    for rank in tokens {
        let len = match tokenizer.token_len.get(rank as usize) {
            Some(&len) => len,
            None => byte_len(tokenizer.bpe, rank),
        };
        at += len as usize;
        offsets.push(at);
    }
    offsets
}

/// Decodes token ids back to bytes (for tests comparing chunk text with BPE decoding).
#[cfg(test)]
pub(crate) fn encode_decode_window(text: &str, from: usize, to: usize) -> Vec<u8> {
    let tokenizer = tokenizer();
    let tokens = tokenizer.bpe.encode_ordinary(text);
    tokenizer
        .bpe
        .decode_bytes(tokens.get(from..to).unwrap_or_default())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_strings() {
        assert_eq!(count_tokens(""), 0);
        assert_eq!(count_tokens("hello world"), 2);
        // Special-token text is ordinary text here.
        assert!(count_tokens("<|endoftext|>") > 1);
    }

    #[test]
    fn offsets_cover_the_text_exactly() {
        for text in ["hello world", "héllo 🦀 wörld — 日本語のテキスト", "\n\n  tabs\tand  spaces  "] {
            let offsets = token_offsets(text);
            assert_eq!(offsets.first(), Some(&0));
            assert_eq!(offsets.last(), Some(&text.len()));
            assert_eq!(offsets.len(), count_tokens(text) + 1);
            assert!(offsets.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn long_whitespace_runs_do_not_trip_the_regex() {
        let text = format!("a{}b{}", " ".repeat(200_000), "\n".repeat(200_000));
        assert_eq!(token_offsets(&text).last(), Some(&text.len()));
    }
}
