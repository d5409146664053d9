//! The tokenizer that sizes chunks and counts tokens: OpenAI's `cl100k_base` BPE, from
//! `bpe-openai` (GitHub's linear-time BPE, its ranks prebuilt into the crate: nothing is
//! downloaded at run time). Its tokens are tiktoken's; the tests check that against
//! `tiktoken-rs`.
//!
//! Upstream 0.3.5 uses the Llama 3 tiktoken BPE, which we cannot ship. Llama 3's vocabulary is
//! cl100k_base's 100k ranks plus 28k more, with a near-identical pre-tokenizer regex, so
//! cl100k_base gives the closest token counts of the encodings we can embed.

use bpe_openai::Tokenizer;

fn tokenizer() -> &'static Tokenizer {
    bpe_openai::cl100k_base()
}

/// Loads the tokenizer now (about 30 ms of CPU, once per process) so that the first file
/// ingested does not pay for it. Optional: every other function loads it on first use.
pub fn warm_up() {
    tokenizer();
}

/// Number of tokens in `text` (special-token text such as `<|endoftext|>` counts as ordinary
/// text, as upstream encodes it).
pub fn count_tokens(text: &str) -> usize {
    tokenizer().count(text)
}

/// Byte offset in `text` where each token starts, plus `text.len()` at the end: token `k`
/// covers `offsets[k]..offsets[k + 1]`. An offset can fall inside a multi-byte character when
/// the BPE split that character across tokens.
pub(crate) fn token_offsets(text: &str) -> Vec<usize> {
    let tokenizer = tokenizer();
    let tokens = tokenizer.encode(text);
    let mut offsets = Vec::with_capacity(tokens.len() + 1);
    let mut at = 0usize;
    offsets.push(at);
    for token in tokens {
        at += tokenizer.bpe.token_len(token);
        offsets.push(at);
    }
    offsets
}

/// Decodes a window of `text`'s tokens back to bytes (for tests comparing chunk text with BPE
/// decoding).
#[cfg(test)]
pub(crate) fn encode_decode_window(text: &str, from: usize, to: usize) -> Vec<u8> {
    let tokenizer = tokenizer();
    let tokens = tokenizer.encode(text);
    tokenizer.bpe.decode_tokens(tokens.get(from..to).unwrap_or_default())
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

    /// Text that exercises cl100k's pre-tokenizer: contractions in both cases, digit runs
    /// (split by three), whitespace before and after words and at the end, non-Latin scripts,
    /// emoji with modifiers, special-token text.
    const TRICKY: [&str; 9] = [
        "I'm sure they'LL say it's 1234567 o'clock; WE'VE said 'twas.",
        "  leading\n\n\ttrailing   \n",
        "héllo 🦀 wörld — 日本語のテキスト, ١٢٣ and 👍🏽👍🏽",
        "a\u{a0}b\u{200b}c  d\r\n\r\ne",
        "<|endoftext|> and <|fim_prefix|> are text here",
        "fn main() { let x__y = vec![1, 2, 3]; println!(\"{x__y:?}\"); }",
        "ǅungla Ⅷ ß SS ﬁne",
        "   ",
        "",
    ];

    #[test]
    fn tokens_are_tiktokens() {
        let reference = tiktoken_rs::cl100k_base_singleton();
        let prose = "The quick brown fox's 12 jumps, over 3,456 lazy dogs.\n\n".repeat(200);
        for text in TRICKY.iter().copied().chain([prose.as_str()]) {
            let expected = reference.encode_ordinary(text);
            assert_eq!(tokenizer().encode(text), expected, "{text:?}");
            assert_eq!(count_tokens(text), expected.len(), "{text:?}");
            let lengths: Vec<usize> = token_offsets(text).windows(2).map(|w| w[1] - w[0]).collect();
            let expected_lengths: Vec<usize> =
                expected.iter().map(|&t| reference.decode_bytes(&[t]).map_or(0, |b| b.len())).collect();
            assert_eq!(lengths, expected_lengths, "{text:?}");
        }
    }

    /// Random strings of the pieces the pre-tokenizer's rules turn on, seeded (the same every
    /// run).
    #[test]
    fn random_mixes_tokenize_as_tiktoken_does() {
        let reference = tiktoken_rs::cl100k_base_singleton();
        let pieces = [
            "a", "Z", "the", " ", "  ", "\n", "\n\n", "\t", "\r\n", "'s", "'T", "'re", "'LL", "'d", "'m", "'ve", "'", "0",
            "12", "345", "6789", ".", ",", "!?", "-", "—", "é", "ß", "日本", "🦀", "👍🏽", "\u{a0}", "\u{200b}", "١٢", "_x_",
            "Hello", "<|endoftext|>",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        for _ in 0..5000 {
            let len = next() % 24;
            let text: String = (0..len).map(|_| pieces[next() % pieces.len()]).collect();
            assert_eq!(tokenizer().encode(text.as_str()), reference.encode_ordinary(&text), "{text:?}");
        }
    }

    #[test]
    fn long_whitespace_runs_do_not_trip_the_regex() {
        let text = format!("a{}b{}", " ".repeat(200_000), "\n".repeat(200_000));
        assert_eq!(token_offsets(&text).last(), Some(&text.len()));
    }
}
