//! Model discovery shared by OpenAI-like providers: `GET /models` entries. (`allowed_models`
//! is enforced for every provider by the server's call layers.)

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One entry of `GET {base}/models`; vendor fields (vLLM's `max_model_len`, ...) stay in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteModel {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"object": "list", "data": [...]}`.
#[derive(Debug, Deserialize)]
pub struct ModelList {
    pub data: Vec<RemoteModel>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_fields_are_kept() {
        let listed: ModelList =
            serde_json::from_str(r#"{"object":"list","data":[{"id":"a","object":"model","max_model_len":8},{"id":"b"}]}"#).unwrap();
        assert_eq!(listed.data.len(), 2);
        assert_eq!(listed.data[0].extra["max_model_len"], 8);
    }
}
