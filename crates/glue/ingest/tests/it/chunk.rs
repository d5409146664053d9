//! Window arithmetic, lossless multi-byte handling, parameter validation and chunk ids.

use lls_api_common::ErrorKind;
use lls_ingest::{ChunkingParams, TextChunk, chunk_id, chunk_text, count_tokens};

const WORDS: [&str; 5] = [" the", " of", " and", " to", " in"];

/// Words `from..to` of a sequence where every word is one cl100k token.
fn words_range(from: usize, to: usize) -> String {
    (from..to).map(|i| WORDS[i % WORDS.len()]).collect()
}

/// `n` words that are `n` tokens.
fn words(n: usize) -> String {
    words_range(0, n)
}

fn windows(chunks: &[TextChunk]) -> Vec<String> {
    chunks.iter().map(TextChunk::window).collect()
}

#[test]
fn thousand_tokens_at_800_400_give_three_unmerged_windows() {
    let text = words(1000);
    assert_eq!(count_tokens(&text), 1000);
    let chunks = chunk_text(&text, ChunkingParams::AUTO);
    assert_eq!(windows(&chunks), ["0-800", "400-1000", "800-1000"]);
    assert_eq!(chunks.iter().map(|c| c.token_count).collect::<Vec<_>>(), [800, 600, 200]);
    assert_eq!(chunks.iter().map(|c| c.index).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(chunks[0].text, words(800));
    assert_eq!(chunks[1].text, words_range(400, 1000));
    assert_eq!(chunks[2].text, words_range(800, 1000));
    for chunk in &chunks {
        assert_eq!(count_tokens(&chunk.text), chunk.token_count);
    }
}

#[test]
fn zero_overlap_tiles_the_text_exactly() {
    let text = words(250);
    let chunks = chunk_text(&text, ChunkingParams::new(100, 0).unwrap());
    assert_eq!(windows(&chunks), ["0-100", "100-200", "200-250"]);
    assert_eq!(chunks.iter().map(|c| c.text.as_str()).collect::<String>(), text);
}

#[test]
fn text_shorter_than_a_window_is_one_chunk() {
    let text = "A short note about Rust.";
    let chunks = chunk_text(text, ChunkingParams::AUTO);
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].text, text);
    assert_eq!(chunks[0].token_count, count_tokens(text));
    assert_eq!(chunks[0].window(), format!("0-{}", count_tokens(text)));
}

#[test]
fn empty_or_whitespace_text_has_no_chunks() {
    for text in ["", " ", "\n\t  \r\n"] {
        assert!(chunk_text(text, ChunkingParams::AUTO).is_empty(), "{text:?}");
    }
}

#[test]
fn upstream_small_window_cases() {
    // Upstream's unit test: "This is a test document." style text, windows 5/2 and 4/1.
    let text = words(10);
    assert_eq!(windows(&chunk_text(&text, ChunkingParams::new(5, 2).unwrap())), ["0-5", "3-8", "6-10", "9-10"]);
    assert_eq!(windows(&chunk_text(&text, ChunkingParams::new(4, 1).unwrap())), ["0-4", "3-7", "6-10", "9-10"]);
}

#[test]
fn multibyte_text_round_trips_without_garbage() {
    // CJK, emoji (with ZWJ sequences) and accents: cl100k splits many of these characters into
    // several byte-level tokens, so window edges fall inside characters.
    let text = "日本語のテキスト🦀👩‍👩‍👧‍👦 naïve café Ελληνικά עברית 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ".repeat(40);
    for (max, overlap) in [(1, 0), (2, 1), (3, 0), (7, 3), (100, 50)] {
        let chunks = chunk_text(&text, ChunkingParams::new(max, overlap).unwrap());
        for chunk in &chunks {
            assert!(!chunk.text.contains('\u{FFFD}'), "{max}/{overlap}: {:?}", chunk.text);
            assert!(text.contains(&chunk.text));
        }
        let last = chunks.last().unwrap();
        assert!(text.ends_with(&last.text));
        assert!(text.starts_with(&chunks[0].text));
    }
}

#[test]
fn ascii_chunks_equal_decoding_their_tokens() {
    // Where no character is split, a chunk is exactly its decoded token window.
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(30);
    for chunk in chunk_text(&text, ChunkingParams::new(17, 5).unwrap()) {
        assert_eq!(count_tokens(&chunk.text), chunk.token_count, "{:?}", chunk.text);
    }
}

#[test]
fn large_text_chunks_quickly() {
    // ~1.2M tokens. O(n): one encode, then slicing. Generous bound so a debug build passes.
    let text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Ünïcödé 文字. ".repeat(50_000);
    let started = std::time::Instant::now();
    let chunks = chunk_text(&text, ChunkingParams::AUTO);
    let elapsed = started.elapsed();
    assert!(chunks.len() > 2_000, "{}", chunks.len());
    assert!(text.ends_with(&chunks.last().unwrap().text));
    assert!(elapsed.as_secs() < 30, "took {elapsed:?}");
}

#[test]
fn params_validation() {
    assert_eq!(ChunkingParams::default(), ChunkingParams::AUTO);
    assert_eq!((ChunkingParams::AUTO.max_tokens(), ChunkingParams::AUTO.overlap_tokens()), (800, 400));
    assert!(ChunkingParams::new(512, 128).is_ok());
    assert!(ChunkingParams::new(10, 9).is_ok());
    for (max, overlap) in [(0, 0), (10, 10), (10, 11)] {
        assert_eq!(ChunkingParams::new(max, overlap).unwrap_err().kind(), ErrorKind::InvalidRequest);
    }

    let ok = ChunkingParams::static_strategy(100, 50).unwrap();
    assert_eq!((ok.max_tokens(), ok.overlap_tokens()), (100, 50));
    assert!(ChunkingParams::static_strategy(4096, 0).is_ok());
    for (max, overlap, param) in [
        (99, 0, "max_chunk_size_tokens"),
        (4097, 0, "max_chunk_size_tokens"),
        (800, 401, "chunk_overlap_tokens"),
    ] {
        let err = ChunkingParams::static_strategy(max, overlap).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(err.param(), Some(format!("chunking_strategy.static.{param}").as_str()));
        assert!(err.message().contains(param), "{}", err.message());
    }
}

#[test]
fn chunk_ids_match_upstream_and_are_deterministic() {
    // Expected values computed with upstream's formula in Python:
    // str(uuid.UUID(hashlib.sha256(b"doc-1:hello world").hexdigest()[:32]))
    assert_eq!(chunk_id("doc-1", "hello world", None), "e04865d9-fd52-8fae-89c7-2d2435ad7273");
    assert_eq!(chunk_id("doc-1", "hello world", Some("")), "e04865d9-fd52-8fae-89c7-2d2435ad7273");
    assert_eq!(chunk_id("doc-1", "hello world", Some("0-2")), "e5e318a0-61a8-5e9f-86ca-6c8a96a554c9");
    assert_eq!(chunk_id("chunk é", "full text 🦀", Some("0-800")), "81737127-a214-4715-9f58-b59943586740");
    assert_eq!(chunk_id("a", "b", Some("1-2")), chunk_id("a", "b", Some("1-2")));
    assert_ne!(chunk_id("a", "b", Some("1-2")), chunk_id("a", "b", Some("1-3")));
    let id = chunk_id("x", "y", None);
    assert!(uuid_shape(&id), "{id}");
}

fn uuid_shape(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}
