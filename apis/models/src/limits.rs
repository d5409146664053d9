//! What one `POST /v1/models` may ask for. OpenAI has no model registration, so the bounds
//! are ours: ids short enough to key a registry, metadata small enough to list often.

use lls_api_common::limits::{MAX_ID_CHARS, MapLimits, MapValues, check_id, check_map};
use lls_api_common::Result;

use crate::RegisterModelRequest;

/// `model_id` and `provider_model_id`: not empty, at most this many characters (Hugging Face
/// repo ids, the longest model names in use, stay under 100).
pub const MAX_MODEL_ID_CHARS: usize = MAX_ID_CHARS;

/// `metadata`: OpenAI bounds every `metadata` map at 16 keys of up to 64 characters and
/// string values of up to 512 characters; model metadata also carries numbers
/// (`embedding_dimension`, `context_length`) and nested values, bounded by their JSON text.
pub const METADATA: MapLimits = MapLimits { max_keys: 16, max_key_chars: 64, max_value_chars: 512, values: MapValues::Any };

impl RegisterModelRequest {
    /// Bounds only; what the ids name is checked by the models table.
    pub fn validate(&self) -> Result<()> {
        check_id("model_id", &self.model_id, MAX_MODEL_ID_CHARS)?;
        if let Some(id) = self.provider_model_id.as_deref().filter(|id| !id.is_empty()) {
            check_id("provider_model_id", id, MAX_MODEL_ID_CHARS)?;
        }
        if let Some(metadata) = &self.metadata {
            check_map("metadata", metadata, &METADATA)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(body: serde_json::Value) -> RegisterModelRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn ids_and_metadata_are_bounded() {
        assert!(request(json!({"model_id": "m", "metadata": {"embedding_dimension": 384}})).validate().is_ok());
        assert!(request(json!({"model_id": "m", "provider_model_id": ""})).validate().is_ok());
        assert_eq!(request(json!({"model_id": ""})).validate().unwrap_err().param(), Some("model_id"));
        let long = "x".repeat(MAX_MODEL_ID_CHARS + 1);
        assert_eq!(request(json!({"model_id": long})).validate().unwrap_err().param(), Some("model_id"));
        let e = request(json!({"model_id": "m", "provider_model_id": long})).validate().unwrap_err();
        assert_eq!(e.param(), Some("provider_model_id"));
        let many: serde_json::Map<String, serde_json::Value> = (0..17).map(|i| (format!("k{i}"), json!(i))).collect();
        assert_eq!(request(json!({"model_id": "m", "metadata": many})).validate().unwrap_err().param(), Some("metadata"));
    }
}
