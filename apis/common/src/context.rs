//! Per-request context handed to providers: the caller's provider data
//! (`X-LlamaStack-Provider-Data`), such as per-request API keys.

use std::sync::Arc;

use serde_json::{Map, Value};

/// What a request carries besides its body. Cheap to clone (layers and background work
/// keep a copy).
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    provider_data: Option<Arc<Map<String, Value>>>,
}

impl RequestContext {
    pub fn new(provider_data: Map<String, Value>) -> Self {
        RequestContext { provider_data: (!provider_data.is_empty()).then(|| Arc::new(provider_data)) }
    }

    /// A string field of the provider data, e.g. `openai_api_key`; empty strings count as absent.
    pub fn provider_data_str(&self, key: &str) -> Option<&str> {
        self.provider_data.as_ref()?.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    /// The provider data object (empty when the request sent none).
    pub fn provider_data(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        match &self.provider_data {
            Some(map) => map,
            None => EMPTY.get_or_init(Map::new),
        }
    }
}
