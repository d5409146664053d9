//! `POST /v1/embeddings`: request and response, with float and base64 encodings.

use base64::Engine;
use lls_api_common::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EmbeddingsRequest {
    pub model: String,
    pub input: EmbeddingInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<EncodingFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub dimensions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EmbeddingsRequest {
    pub fn validate(&self) -> Result<()> {
        crate::limits::check_embeddings(self)?;
        if self.input.is_empty() {
            return Err(Error::invalid("'input' must be a non-empty string or list").with_param("input"));
        }
        if self.dimensions == Some(0) {
            return Err(Error::invalid("'dimensions' must be at least 1").with_param("dimensions"));
        }
        Ok(())
    }

    pub fn encoding(&self) -> EncodingFormat {
        self.encoding_format.unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    #[default]
    Float,
    Base64,
}

/// `input`: a string, several strings, tokens, or several token lists.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum EmbeddingInput {
    Text(String),
    Texts(#[schemars(length(min = 1))] Vec<String>),
    Tokens(#[schemars(length(min = 1))] Vec<i64>),
    TokenLists(#[schemars(length(min = 1))] Vec<Vec<i64>>),
}

impl EmbeddingInput {
    /// How many embeddings the answer will hold.
    pub fn len(&self) -> usize {
        match self {
            EmbeddingInput::Text(_) | EmbeddingInput::Tokens(_) => 1,
            EmbeddingInput::Texts(v) => v.len(),
            EmbeddingInput::TokenLists(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EmbeddingsResponse {
    #[serde(default = "list_object")]
    pub object: String,
    pub data: Vec<Embedding>,
    pub model: String,
    #[serde(default)]
    pub usage: EmbeddingUsage,
}

fn list_object() -> String {
    "list".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Embedding {
    #[serde(default = "embedding_object")]
    pub object: String,
    pub embedding: EmbeddingVector,
    pub index: u32,
}

fn embedding_object() -> String {
    "embedding".into()
}

impl Embedding {
    pub fn new(index: u32, vector: Vec<f32>) -> Self {
        Embedding { object: embedding_object(), embedding: EmbeddingVector::Float(vector), index }
    }
}

/// Floats, or base64 of little-endian float32s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum EmbeddingVector {
    Float(Vec<f32>),
    Base64(String),
}

impl EmbeddingVector {
    pub fn to_base64(&self) -> EmbeddingVector {
        match self {
            EmbeddingVector::Float(v) => {
                let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                EmbeddingVector::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            b => b.clone(),
        }
    }

    /// The floats, decoding base64 if needed.
    pub fn to_floats(&self) -> Result<Vec<f32>> {
        match self {
            EmbeddingVector::Float(v) => Ok(v.clone()),
            EmbeddingVector::Base64(s) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| Error::new(lls_api_common::ErrorKind::UpstreamError, format!("bad base64 embedding: {e}")))?;
                Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
            }
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EmbeddingUsage {
    #[serde(default)]
    pub prompt_tokens: i64,
    #[serde(default)]
    pub total_tokens: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        let v = EmbeddingVector::Float(vec![0.5, -1.25, 3.0]);
        let b = v.to_base64();
        assert!(matches!(b, EmbeddingVector::Base64(_)));
        assert_eq!(b.to_floats().unwrap(), vec![0.5, -1.25, 3.0]);
    }

    #[test]
    fn empty_input_is_rejected() {
        let r: EmbeddingsRequest = serde_json::from_value(serde_json::json!({"model": "m", "input": []})).unwrap();
        assert!(r.validate().is_err());
    }
}
