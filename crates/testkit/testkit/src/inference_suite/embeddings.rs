//! Embedding scenarios: one input, several inputs, and base64 that decodes to the same floats.

use anyhow::{Context, anyhow, ensure};
use lls_api_common::RequestContext;
use lls_api_inference::{EmbeddingsRequest, EmbeddingsResponse, InferenceProvider};
use serde_json::{Value, json};

use super::calls::request;
use super::{Capabilities, Outcome, ScenarioResult, require};

async fn embed(p: &dyn InferenceProvider, json: Value) -> anyhow::Result<EmbeddingsResponse> {
    let req: EmbeddingsRequest = request(json)?;
    let answer = p
        .embeddings(&RequestContext::default(), req)
        .await
        .map_err(|e| anyhow!("embeddings failed: {e}"))?;
    super::calls::typed(answer)
}

fn floats(r: &EmbeddingsResponse, i: usize) -> anyhow::Result<Vec<f32>> {
    let e = r
        .data
        .get(i)
        .with_context(|| format!("no embedding at position {i}"))?;
    e.embedding
        .to_floats()
        .map_err(|err| anyhow!("embedding {i} does not decode: {err}"))
}

/// The dimension the provider lists for the model, if it lists one.
async fn listed_dimension(p: &dyn InferenceProvider, model: &str) -> Option<u64> {
    let models = p.list_models().await.ok()?;
    models
        .iter()
        .find(|m| m.provider_resource_id == model)
        .and_then(|m| m.metadata.get("embedding_dimension"))
        .and_then(Value::as_u64)
}

/// One string: one finite, non-zero vector at index 0, as long as the listed dimension.
pub async fn embeddings_single(
    p: &dyn InferenceProvider,
    _llm: &str,
    embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.embeddings, "embeddings");
    let r = embed(
        p,
        json!({"model": embedding, "input": "The quick brown fox jumps over the lazy dog"}),
    )
    .await?;
    ensure!(r.object == "list", "object is {:?}, not \"list\"", r.object);
    ensure!(
        r.data.len() == 1,
        "one input gave {} embeddings",
        r.data.len()
    );
    ensure!(
        r.data[0].index == 0,
        "the embedding has index {}",
        r.data[0].index
    );
    let v = floats(&r, 0)?;
    ensure!(!v.is_empty(), "the embedding is empty");
    ensure!(
        v.iter().all(|x| x.is_finite()),
        "the embedding has non-finite values"
    );
    ensure!(v.iter().any(|x| *x != 0.0), "the embedding is all zeros");
    if let Some(dim) = listed_dimension(p, embedding).await {
        ensure!(
            v.len() as u64 == dim,
            "the embedding has {} values but the model lists dimension {dim}",
            v.len()
        );
    }
    Ok(Outcome::Passed)
}

/// Three strings: three vectors of one length, indexed 0..3, different for different texts.
pub async fn embeddings_multiple(
    p: &dyn InferenceProvider,
    _llm: &str,
    embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.embeddings, "embeddings");
    let inputs = [
        "apples and oranges",
        "the stock market fell today",
        "a llama in the Andes",
    ];
    let r = embed(p, json!({"model": embedding, "input": inputs})).await?;
    ensure!(
        r.data.len() == 3,
        "three inputs gave {} embeddings",
        r.data.len()
    );
    let mut indexes: Vec<u32> = r.data.iter().map(|e| e.index).collect();
    indexes.sort_unstable();
    ensure!(indexes == [0, 1, 2], "embedding indexes are {indexes:?}");
    let vs = (0..3)
        .map(|i| floats(&r, i))
        .collect::<anyhow::Result<Vec<_>>>()?;
    ensure!(
        vs.iter().all(|v| v.len() == vs[0].len() && !v.is_empty()),
        "embeddings differ in length"
    );
    ensure!(
        vs[0] != vs[1] && vs[1] != vs[2],
        "different texts gave identical embeddings"
    );
    Ok(Outcome::Passed)
}

/// `encoding_format: "base64"` decodes to the floats the default encoding gives.
pub async fn embeddings_base64(
    p: &dyn InferenceProvider,
    _llm: &str,
    embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(
        caps.embeddings && caps.embeddings_base64,
        "base64 embeddings"
    );
    let text = "Encode me twice";
    let plain = embed(p, json!({"model": embedding, "input": text})).await?;
    let b64 = embed(
        p,
        json!({"model": embedding, "input": text, "encoding_format": "base64"}),
    )
    .await?;
    let encoded = b64
        .data
        .first()
        .context("base64 request gave no embedding")?;
    ensure!(
        matches!(
            encoded.embedding,
            lls_api_inference::EmbeddingVector::Base64(_)
        ),
        "encoding_format: base64 gave a float list"
    );
    let (a, b) = (floats(&plain, 0)?, floats(&b64, 0)?);
    ensure!(
        a.len() == b.len(),
        "base64 decodes to {} values, floats have {}",
        b.len(),
        a.len()
    );
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0_f32, f32::max);
    ensure!(
        worst < 1e-3,
        "base64 decodes to different values (max difference {worst})"
    );
    Ok(Outcome::Passed)
}
