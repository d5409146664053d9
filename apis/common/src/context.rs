//! Per-request context handed to providers: the caller's provider data
//! (`X-LlamaStack-Provider-Data`), such as per-request API keys.

use serde_json::{Map, Value};

/// What a request carries besides its body.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    provider_data: Map<String, Value>,
}

impl RequestContext {
    pub fn new(provider_data: Map<String, Value>) -> Self {
        RequestContext { provider_data }
    }

    /// A string field of the provider data, e.g. `openai_api_key`; empty strings count as absent.
    pub fn provider_data_str(&self, key: &str) -> Option<&str> {
        self.provider_data.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    pub fn provider_data(&self) -> &Map<String, Value> {
        &self.provider_data
    }
}
