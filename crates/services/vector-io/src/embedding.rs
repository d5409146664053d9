//! Embedding texts with a store's model through the inference router: in batches, several
//! batches at once (bounded), with the answers checked against the store's dimension.

use futures::StreamExt;
use lls_api_common::{Error, ErrorKind, RequestContext, Result};
use lls_api_inference::{EmbeddingInput, EmbeddingsRequest, Inference};
use serde_json::Map;

/// Texts per embeddings request.
pub(crate) const BATCH_SIZE: usize = 64;
/// Embeddings requests in flight for one file (or one native insert).
pub(crate) const CONCURRENCY: usize = 4;

/// A store's embedding settings.
#[derive(Debug, Clone)]
pub(crate) struct EmbeddingSpec {
    pub store_id: String,
    pub model: String,
    pub dimension: usize,
    /// `dimensions` to ask the model for, when the store's dimension is not its native one.
    pub request_dimensions: Option<u32>,
}

/// One vector per text, in order.
pub(crate) async fn embed_texts(
    inference: &dyn Inference,
    ctx: &RequestContext,
    spec: &EmbeddingSpec,
    texts: Vec<String>,
) -> Result<Vec<Vec<f32>>> {
    let batches: Vec<Vec<String>> = texts.chunks(BATCH_SIZE).map(<[String]>::to_vec).collect();
    let answers = futures::stream::iter(batches)
        .map(|batch| embed_batch(inference, ctx, spec, batch))
        .buffered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let mut out = Vec::with_capacity(texts.len());
    for answer in answers {
        out.extend(answer?);
    }
    Ok(out)
}

async fn embed_batch(
    inference: &dyn Inference,
    ctx: &RequestContext,
    spec: &EmbeddingSpec,
    batch: Vec<String>,
) -> Result<Vec<Vec<f32>>> {
    let wanted = batch.len();
    let request = EmbeddingsRequest {
        model: spec.model.clone(),
        input: EmbeddingInput::Texts(batch),
        encoding_format: None,
        dimensions: spec.request_dimensions,
        user: None,
        extra: Map::new(),
    };
    let mut response = inference.embeddings(ctx, request).await?.into_typed()?;
    if response.data.len() != wanted {
        return Err(Error::new(
            ErrorKind::UpstreamError,
            format!(
                "embedding model '{}' returned {} embeddings for {wanted} inputs",
                spec.model,
                response.data.len()
            ),
        ));
    }
    response.data.sort_by_key(|e| e.index);
    response
        .data
        .iter()
        .map(|e| {
            let v = e.embedding.to_floats()?;
            if v.len() != spec.dimension {
                return Err(Error::invalid(format!(
                    "embedding model '{}' returned vectors of dimension {}, but vector store '{}' has dimension {}",
                    spec.model,
                    v.len(),
                    spec.store_id,
                    spec.dimension
                )));
            }
            Ok(v)
        })
        .collect()
}
