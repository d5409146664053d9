//! Bedrock's embedding model families and model catalog: InvokeModel bodies and answers of
//! Amazon Titan (`inputText`, one input a call) and Cohere (`texts`, up to 96 a call) embedding
//! models, the dimension table of known embedding models, and ListFoundationModels summaries as
//! models (TEXT output -> llm, EMBEDDING output -> embedding).

use lls_api_common::{Error, Result};
use lls_api_models::ProviderModel;
use serde_json::{Value, json};

/// The most texts Cohere's embedding models take in one InvokeModel call.
pub(crate) const COHERE_BATCH: usize = 96;

/// How an embedding model is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// `amazon.titan-embed-text-v1`, `amazon.titan-embed-g1-text-02`, `amazon.titan-embed-image-v1`
    /// (and ids not recognised): `inputText`.
    TitanV1,
    /// `amazon.titan-embed-text-v2:0`: `inputText`, and `dimensions` of 256, 512 or 1024.
    TitanV2,
    /// `cohere.embed-*`: `texts` and `input_type`.
    Cohere,
}

/// The part of an id that names the model: a cross-region profile's `us.`/`eu.`/`apac.` and an
/// ARN's path left out, as is the `:N` version.
fn base_id(model: &str) -> &str {
    let tail = model.rsplit('/').next().unwrap_or(model);
    let tail = ["us.", "eu.", "apac.", "ap.", "us-gov.", "global."].iter().find_map(|p| tail.strip_prefix(p)).unwrap_or(tail);
    tail.split(':').next().unwrap_or(tail)
}

/// The family of an embedding model. Ids this provider does not recognise (custom or imported
/// models, new families) are sent Titan's `inputText` body, and Bedrock's answer decides: an
/// unknown id is Bedrock's "model identifier is invalid", not a guess of ours.
pub(crate) fn family(model: &str) -> Family {
    let id = base_id(model);
    if id.starts_with("amazon.titan-embed-text-v2") {
        Family::TitanV2
    } else if id.starts_with("cohere.embed") {
        Family::Cohere
    } else {
        Family::TitanV1
    }
}

/// Dimension and context length (tokens) of the embedding models Bedrock serves.
const EMBEDDING_MODELS: &[(&str, u64, u64)] = &[
    ("amazon.titan-embed-text-v1", 1536, 8192),
    ("amazon.titan-embed-g1-text-02", 1536, 8192),
    ("amazon.titan-embed-text-v2", 1024, 8192),
    ("amazon.titan-embed-image-v1", 1024, 128),
    ("cohere.embed-english-v3", 1024, 512),
    ("cohere.embed-multilingual-v3", 1024, 512),
    ("cohere.embed-v4", 1536, 128_000),
];

/// `(dimension, context length)` of a known embedding model.
pub(crate) fn embedding_spec(model: &str) -> Option<(u64, u64)> {
    let id = base_id(model);
    EMBEDDING_MODELS.iter().find(|(known, _, _)| *known == id).map(|(_, d, c)| (*d, *c))
}

/// The InvokeModel body of a Titan model for one text.
pub(crate) fn titan_body(family: Family, text: &str, dimensions: Option<u32>) -> Result<Value> {
    match (family, dimensions) {
        (Family::TitanV2, Some(d)) if ![256, 512, 1024].contains(&d) => {
            Err(Error::invalid(format!("Titan Text Embeddings V2 makes vectors of 256, 512 or 1024 dimensions, not {d}")).with_param("dimensions"))
        }
        (Family::TitanV2, Some(d)) => Ok(json!({"inputText": text, "dimensions": d, "normalize": true})),
        (_, Some(_)) => Err(Error::invalid("this Titan embedding model has a fixed dimension; leave out 'dimensions'").with_param("dimensions")),
        _ => Ok(json!({"inputText": text})),
    }
}

/// The InvokeModel body of a Cohere model for up to [`COHERE_BATCH`] texts; `input_type` is the
/// caller's (an extra request field) or `search_document`.
pub(crate) fn cohere_body(texts: &[String], input_type: Option<&str>, dimensions: Option<u32>) -> Result<Value> {
    if dimensions.is_some() {
        return Err(Error::invalid("Cohere embedding models on Bedrock have a fixed dimension; leave out 'dimensions'").with_param("dimensions"));
    }
    Ok(json!({"texts": texts, "input_type": input_type.unwrap_or("search_document")}))
}

/// The vector of a Titan answer (`embedding`) and its token count (`inputTextTokenCount`).
pub(crate) fn titan_answer(v: &Value) -> Option<(Vec<f32>, u64)> {
    let vector = serde_json::from_value(v.get("embedding")?.clone()).ok()?;
    Some((vector, v.get("inputTextTokenCount").and_then(Value::as_u64).unwrap_or(0)))
}

/// The vectors of a Cohere answer: `embeddings` as a list, or by type (`{"float": [...]}`).
pub(crate) fn cohere_answer(v: &Value) -> Option<Vec<Vec<f32>>> {
    let embeddings = v.get("embeddings")?;
    let floats = embeddings.get("float").unwrap_or(embeddings);
    serde_json::from_value(floats.clone()).ok()
}

/// The models of a ListFoundationModels answer (`modelSummaries`): text models as LLMs,
/// embedding models of known dimension as embedding models, the rest (images, video, unknown
/// embedding models) left out.
pub(crate) fn models_of(answer: &Value) -> Vec<ProviderModel> {
    let summaries = answer.get("modelSummaries").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    summaries
        .iter()
        .filter_map(|s| {
            let id = s.get("modelId")?.as_str()?;
            let outputs: Vec<&str> = s.get("outputModalities")?.as_array()?.iter().filter_map(Value::as_str).collect();
            if outputs.contains(&"EMBEDDING") {
                let Some((dimension, context)) = embedding_spec(id) else {
                    tracing::debug!(model = id, "embedding model of unknown dimension left out");
                    return None;
                };
                let mut m = ProviderModel::embedding(id, dimension);
                m.metadata.insert("context_length".into(), json!(context));
                Some(m)
            } else if outputs.contains(&"TEXT") {
                Some(ProviderModel::llm(id))
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_models::ModelType;

    #[test]
    fn families_and_dimensions() {
        assert_eq!(family("amazon.titan-embed-text-v2:0"), Family::TitanV2);
        assert_eq!(family("amazon.titan-embed-text-v1"), Family::TitanV1);
        assert_eq!(family("us.cohere.embed-v4:0"), Family::Cohere);
        assert_eq!(family("someone.custom-embedder"), Family::TitanV1);
        assert_eq!(embedding_spec("arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"), Some((1024, 8192)));
        assert_eq!(embedding_spec("cohere.embed-english-v3"), Some((1024, 512)));
        assert_eq!(embedding_spec("cohere.embed-unknown"), None);
    }

    #[test]
    fn bodies_and_answers() {
        assert_eq!(titan_body(Family::TitanV2, "x", Some(256)).unwrap()["dimensions"], 256);
        assert!(titan_body(Family::TitanV2, "x", Some(300)).is_err());
        assert!(titan_body(Family::TitanV1, "x", Some(256)).is_err());
        assert_eq!(titan_body(Family::TitanV1, "x", None).unwrap(), json!({"inputText": "x"}));
        assert_eq!(cohere_body(&["a".into()], None, None).unwrap()["input_type"], "search_document");
        assert_eq!(titan_answer(&json!({"embedding": [0.5, 1.0], "inputTextTokenCount": 2})), Some((vec![0.5, 1.0], 2)));
        assert_eq!(cohere_answer(&json!({"embeddings": [[1.0], [2.0]]})), Some(vec![vec![1.0], vec![2.0]]));
        assert_eq!(cohere_answer(&json!({"embeddings": {"float": [[1.0]]}})), Some(vec![vec![1.0]]));
    }

    #[test]
    fn summaries_become_models() {
        let answer = json!({"modelSummaries": [
            {"modelId": "meta.llama3-1-8b-instruct-v1:0", "outputModalities": ["TEXT"]},
            {"modelId": "amazon.titan-embed-text-v2:0", "outputModalities": ["EMBEDDING"]},
            {"modelId": "amazon.nova-canvas-v1:0", "outputModalities": ["IMAGE"]},
            {"modelId": "someone.embed-new", "outputModalities": ["EMBEDDING"]}]});
        let models = models_of(&answer);
        assert_eq!(models.len(), 2);
        assert_eq!(models[0].model_type, ModelType::Llm);
        assert_eq!((models[1].metadata["embedding_dimension"].clone(), models[1].metadata["context_length"].clone()), (json!(1024), json!(8192)));
    }
}
