//! Parity with sentence-transformers itself: the vectors of `tests/fixtures/all-MiniLM-L6-v2.json`
//! (written by scripts/gen-embedding-fixture.py with sentence-transformers + torch on the same
//! weights) must come back with cosine ≥ 0.9999, whatever the batching, through the encoder and
//! through the provider (float and base64). Needs the weights; see `common`.

mod common;

use std::sync::Arc;

use lls_api_common::RequestContext;
use lls_api_inference::{EmbeddingsRequest, Inference};
use lls_inference_inline_sentence_transformers::{Encoder, SentenceTransformersConfig, SentenceTransformersProvider};
use serde::Deserialize;
use serde_json::json;

const MIN_COSINE: f64 = 0.9999;

#[derive(Deserialize)]
struct Fixture {
    model_safetensors_sha256: String,
    max_seq_length: usize,
    dimension: usize,
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    text: String,
    tokens: usize,
    embedding: Vec<f32>,
}

fn fixture() -> anyhow::Result<Fixture> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/all-MiniLM-L6-v2.json");
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

/// Every vector against its reference; the worst cosine is reported.
fn check(fixture: &Fixture, got: &[Vec<f32>], how: &str) -> anyhow::Result<()> {
    anyhow::ensure!(got.len() == fixture.items.len(), "{how}: {} vectors for {} inputs", got.len(), fixture.items.len());
    let mut worst = f64::MAX;
    for (item, v) in fixture.items.iter().zip(got) {
        anyhow::ensure!(v.len() == fixture.dimension, "{how}: {:?} has {} dims", item.text, v.len());
        let c = cosine(v, &item.embedding);
        anyhow::ensure!(c >= MIN_COSINE, "{how}: cosine {c} < {MIN_COSINE} for {:?}", item.text);
        worst = worst.min(c);
    }
    eprintln!("{how}: worst cosine 1 - {:.2e} over {} inputs", 1.0 - worst, got.len());
    Ok(())
}

#[test]
fn encoder_matches_sentence_transformers_at_every_batch_size() -> anyhow::Result<()> {
    let Some(dir) = common::weights_dir("parity::encoder_matches_sentence_transformers_at_every_batch_size") else { return Ok(()) };
    let fixture = fixture()?;
    let encoder = Encoder::load(&dir)?;
    assert_eq!((encoder.dimension(), encoder.pipeline().max_seq_length), (fixture.dimension, fixture.max_seq_length));
    assert!(encoder.pipeline().normalize);
    let texts: Vec<String> = fixture.items.iter().map(|i| i.text.clone()).collect();
    // The same tokens as sentence-transformers, the >256-token input cut at 256.
    let tokens: Vec<usize> = encoder.tokenize(&texts)?.iter().map(|t| t.ids.len()).collect();
    let want: Vec<usize> = fixture.items.iter().map(|i| i.tokens).collect();
    assert_eq!(tokens, want);
    for batch_size in [1, 5, 32] {
        check(&fixture, &encoder.encode(&texts, batch_size)?, &format!("batch_size {batch_size}"))?;
    }
    Ok(())
}

#[test]
fn weights_are_the_ones_the_fixture_was_made_from() -> anyhow::Result<()> {
    let Some(dir) = common::weights_dir("parity::weights_are_the_ones_the_fixture_was_made_from") else { return Ok(()) };
    let fixture = fixture()?;
    // scripts/models.sh records the checked sha256 next to the weights; a HF cache has none.
    if let Ok(stamp) = std::fs::read_to_string(dir.join(".sha256")) {
        assert_eq!(stamp.trim(), fixture.model_safetensors_sha256);
    }
    Ok(())
}

#[tokio::test]
async fn provider_matches_in_float_and_base64_and_counts_tokens() -> anyhow::Result<()> {
    let Some(dir) = common::weights_dir("parity::provider_matches_in_float_and_base64_and_counts_tokens") else { return Ok(()) };
    let fixture = fixture()?;
    let config = SentenceTransformersConfig {
        model_dir: Some(dir.display().to_string()),
        batch_size: 4,
        ..SentenceTransformersConfig::default()
    };
    let provider = Arc::new(SentenceTransformersProvider::new("sentence-transformers", config));
    let texts: Vec<&str> = fixture.items.iter().map(|i| i.text.as_str()).collect();
    for format in ["float", "base64"] {
        let request: EmbeddingsRequest =
            serde_json::from_value(json!({"model": "all-MiniLM-L6-v2", "input": texts, "encoding_format": format}))?;
        let response = provider.embeddings(&RequestContext::default(), request).await?.into_typed()?;
        let got = response.data.iter().map(|e| e.embedding.to_floats()).collect::<Result<Vec<_>, _>>()?;
        assert!(response.data.iter().enumerate().all(|(i, e)| e.index as usize == i));
        check(&fixture, &got, &format!("provider, {format}"))?;
        let tokens: usize = fixture.items.iter().map(|i| i.tokens).sum();
        assert_eq!((response.usage.prompt_tokens, response.usage.total_tokens), (tokens as i64, tokens as i64));
        assert_eq!(response.model, "all-MiniLM-L6-v2");
    }
    // `dimensions` is accepted when it is the model's own, refused otherwise.
    let same: EmbeddingsRequest = serde_json::from_value(json!({"model": "all-MiniLM-L6-v2", "input": "x", "dimensions": 384}))?;
    assert!(provider.embeddings(&RequestContext::default(), same).await.is_ok());
    let shorter: EmbeddingsRequest =
        serde_json::from_value(json!({"model": "all-MiniLM-L6-v2", "input": "x", "dimensions": 128}))?;
    let err =
        provider.embeddings(&RequestContext::default(), shorter).await.err().map(|e| (e.kind(), e.param().map(str::to_owned)));
    assert_eq!(err, Some((lls_api_common::ErrorKind::InvalidRequest, Some("dimensions".to_owned()))));
    Ok(())
}

/// What LangChain's `OpenAIEmbeddings` sends by default: each text as cl100k_base token ids.
/// They are decoded and tokenized again by the model, so the vectors are the text's own.
#[tokio::test]
async fn cl100k_token_arrays_embed_as_their_text() -> anyhow::Result<()> {
    let Some(dir) = common::weights_dir("parity::cl100k_token_arrays_embed_as_their_text") else { return Ok(()) };
    let fixture = fixture()?;
    let config = SentenceTransformersConfig { model_dir: Some(dir.display().to_string()), ..Default::default() };
    let provider = SentenceTransformersProvider::new("st", config);
    let bpe = tiktoken_rs::cl100k_base_singleton();
    let lists: Vec<Vec<u32>> = fixture.items.iter().map(|i| bpe.encode_ordinary(&i.text)).collect();
    let request: EmbeddingsRequest = serde_json::from_value(json!({"model": "all-MiniLM-L6-v2", "input": lists}))?;
    let response = provider.embeddings(&RequestContext::default(), request).await?.into_typed()?;
    let got = response.data.iter().map(|e| e.embedding.to_floats()).collect::<Result<Vec<_>, _>>()?;
    check(&fixture, &got, "cl100k token lists")?;
    // The model's own tokens are counted, not the client's.
    let tokens: usize = fixture.items.iter().map(|i| i.tokens).sum();
    assert_eq!(response.usage.prompt_tokens, tokens as i64);
    // One token list (not nested) is one input.
    let request: EmbeddingsRequest = serde_json::from_value(json!({"model": "all-MiniLM-L6-v2", "input": lists[0]}))?;
    let one = provider.embeddings(&RequestContext::default(), request).await?.into_typed()?;
    assert_eq!(one.data.len(), 1);
    anyhow::ensure!(cosine(&one.data[0].embedding.to_floats()?, &fixture.items[0].embedding) >= MIN_COSINE);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_their_own_vectors() -> anyhow::Result<()> {
    let Some(dir) = common::weights_dir("parity::concurrent_requests_each_get_their_own_vectors") else { return Ok(()) };
    let fixture = Arc::new(fixture()?);
    let config = SentenceTransformersConfig { model_dir: Some(dir.display().to_string()), batch_size: 2, ..Default::default() };
    let provider = Arc::new(SentenceTransformersProvider::new("st", config));
    let tasks: Vec<_> = (0..fixture.items.len())
        .map(|i| {
            let (provider, fixture) = (provider.clone(), fixture.clone());
            tokio::spawn(async move {
                let text = fixture.items[i].text.clone();
                let request: EmbeddingsRequest =
                    serde_json::from_value(json!({"model": "sentence-transformers/all-MiniLM-L6-v2", "input": [text]}))?;
                let v = provider.embeddings(&RequestContext::default(), request).await?.into_typed()?.data[0].embedding.to_floats()?;
                anyhow::ensure!(cosine(&v, &fixture.items[i].embedding) >= MIN_COSINE, "input {i} got another input's vector");
                Ok::<_, anyhow::Error>(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(())
}
