//! `remote::openai` config, as upstream 0.3.5 spells it in run.yaml; checked without I/O.

use lls_api_common::call::CallPolicy;
use lls_api_common::{Error, ProviderConfig, Result, Secret};
use lls_openai_compat::HttpTimeouts;
use serde::{Deserialize, Serialize};

/// run.yaml `config:` of a `remote::openai` provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiConfig {
    /// The OpenAI-compatible base URL, including `/v1`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The server-side API key; a request's `openai_api_key` provider data overrides it.
    /// Without any key the provider lists no models.
    #[serde(default, deserialize_with = "lls_openai_compat::optional_secret")]
    pub api_key: Option<Secret>,
    /// When set, only these provider model ids are listed and callable (enforced by the
    /// server's call layers, through [`ProviderConfig::policy`]).
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// Re-list the backend's models periodically.
    #[serde(default)]
    pub refresh_models: bool,
    /// `connect_timeout`, `read_timeout` and `timeout`, in seconds.
    #[serde(flatten)]
    pub http: HttpTimeouts,
}

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        OpenAiConfig {
            base_url: default_base_url(),
            api_key: None,
            allowed_models: None,
            refresh_models: false,
            http: HttpTimeouts::default(),
        }
    }
}

impl ProviderConfig for OpenAiConfig {
    fn validate(&self) -> Result<()> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(Error::invalid(format!("config.base_url: '{}' must start with http:// or https://", self.base_url))
                .with_param("base_url"));
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
    use lls_api_common::provider::{check_config, parse_config};
    use serde_json::json;

    #[test]
    fn defaults_and_redaction() {
        let c: OpenAiConfig = parse_config(&json!(null)).unwrap();
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        assert!(c.api_key.is_none() && c.allowed_models.is_none() && !c.refresh_models);
        let shown = check_config::<OpenAiConfig>(&json!({"api_key": "sk-secret"})).unwrap();
        assert_eq!(shown["api_key"], "********");
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        assert!(parse_config::<OpenAiConfig>(&json!({"base_url": "api.openai.com"})).is_err());
        let e = parse_config::<OpenAiConfig>(&json!({"url": "http://x"})).unwrap_err();
        assert!(e.message().contains("unknown field"), "{e}");
        let e = parse_config::<OpenAiConfig>(&json!({"refresh_models": "often"})).unwrap_err();
        assert!(e.message().starts_with("config.refresh_models"), "{e}");
        let e = parse_config::<OpenAiConfig>(&json!({"read_timeout": 0})).unwrap_err();
        assert!(e.message().starts_with("config.read_timeout"), "{e}");
    }

    #[test]
    fn timeouts_and_allowed_models_feed_the_call_policy() {
        let c: OpenAiConfig =
            parse_config(&json!({"connect_timeout": 2, "read_timeout": 30, "timeout": 90, "allowed_models": ["gpt-4o"]})).unwrap();
        assert_eq!((c.http.connect_timeout, c.http.read_timeout), (2.0, 30.0));
        let policy = c.policy();
        assert_eq!(policy.timeout, Some(std::time::Duration::from_secs(90)));
        assert_eq!(policy.allowed_models, Some(vec!["gpt-4o".to_owned()]));
        let defaults = OpenAiConfig::default().policy();
        assert_eq!((defaults.timeout, defaults.allowed_models), (None, None));
        let shown = check_config::<OpenAiConfig>(&json!({"timeout": 5})).unwrap();
        assert_eq!((shown["timeout"].clone(), shown["read_timeout"].clone()), (json!(5.0), json!(600.0)));
    }
}
