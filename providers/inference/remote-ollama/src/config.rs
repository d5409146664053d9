//! `remote::ollama` config, as upstream 0.3.5 spells it in run.yaml; checked without I/O.

use lls_api_common::call::CallPolicy;
use lls_api_common::{Error, ProviderConfig, Result};
use lls_openai_compat::HttpTimeouts;
use serde::{Deserialize, Serialize};

pub const DEFAULT_URL: &str = "http://localhost:11434";

/// run.yaml `config:` of a `remote::ollama` provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OllamaConfig {
    /// The Ollama server, without `/v1` (its OpenAI-compatible API is under `{url}/v1`).
    #[serde(default = "default_url")]
    pub url: String,
    /// When set, only these models are listed and callable (enforced by the server's call
    /// layers, through [`ProviderConfig::policy`]).
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// Re-list the server's models periodically (models pulled later then appear).
    #[serde(default)]
    pub refresh_models: bool,
    /// `connect_timeout`, `read_timeout` and `timeout`, in seconds.
    #[serde(flatten)]
    pub http: HttpTimeouts,
}

fn default_url() -> String {
    DEFAULT_URL.to_owned()
}

impl OllamaConfig {
    /// A config for the server at `url`, everything else defaulted.
    pub fn new(url: impl Into<String>) -> Self {
        OllamaConfig { url: url.into(), allowed_models: None, refresh_models: false, http: HttpTimeouts::default() }
    }
}

impl Default for OllamaConfig {
    fn default() -> Self {
        Self::new(DEFAULT_URL)
    }
}

impl ProviderConfig for OllamaConfig {
    fn validate(&self) -> Result<()> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(Error::invalid(format!("config.url: '{}' must start with http:// or https:// (e.g. http://localhost:11434)", self.url))
                .with_param("url"));
        }
        if self.url.trim_end_matches('/').ends_with("/v1") {
            return Err(Error::invalid(format!(
                "config.url: '{}' must be the server's address without /v1 (the provider adds it)",
                self.url
            ))
            .with_param("url"));
        }
        self.http.validate()
    }

    fn policy(&self) -> CallPolicy {
        CallPolicy { allowed_models: self.allowed_models.clone(), timeout: self.http.call_timeout(), retries: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::parse_config;
    use serde_json::json;

    #[test]
    fn defaults() {
        let c: OllamaConfig = parse_config(&json!(null)).unwrap();
        assert_eq!((c.url.as_str(), c.refresh_models), (DEFAULT_URL, false));
        let c: OllamaConfig = parse_config(&json!({"url": "http://gpu:11434", "refresh_models": true, "timeout": 30})).unwrap();
        assert_eq!(c.policy().timeout, Some(std::time::Duration::from_secs(30)));
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for bad in [json!({"url": "localhost:11434"}), json!({"url": "http://h:11434/v1"}), json!({"api_key": "k"}), json!({"read_timeout": 0})] {
            assert!(parse_config::<OllamaConfig>(&bad).is_err(), "{bad}");
        }
    }
}
