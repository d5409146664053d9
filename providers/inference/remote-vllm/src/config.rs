//! `remote::vllm` config, as upstream 0.3.5 spells it in run.yaml; checked without I/O
//! (a CA bundle path is only read when the provider is built).

use lls_api_common::call::CallPolicy;
use lls_api_common::{Error, ProviderConfig, Result, Secret};
use lls_openai_compat::{HttpTimeouts, TlsVerify};
use serde::{Deserialize, Serialize};

/// run.yaml `config:` of a `remote::vllm` provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VllmConfig {
    /// The server's OpenAI-compatible base URL, including `/v1` (used as is). Required.
    #[serde(default)]
    pub url: Option<String>,
    /// `max_tokens` for chat and completion requests that set neither `max_tokens` nor
    /// `max_completion_tokens`.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// The server's API token (`--api-key` of `vllm serve`); `api_key` is accepted too.
    /// A request's `vllm_api_token` provider data overrides it; without either,
    /// "NO KEY REQUIRED" is sent, as upstream does.
    #[serde(default, alias = "api_key", deserialize_with = "lls_openai_compat::optional_secret")]
    pub api_token: Option<Secret>,
    /// Verify the server's TLS certificate (`true`/`false`), or the path of a PEM CA bundle to trust.
    #[serde(default)]
    pub tls_verify: TlsVerify,
    /// When set, only these model ids are listed and callable (enforced by the server's call
    /// layers, through [`ProviderConfig::policy`]).
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// Re-list the server's models periodically.
    #[serde(default)]
    pub refresh_models: bool,
    /// `connect_timeout`, `read_timeout` and `timeout`, in seconds.
    #[serde(flatten)]
    pub http: HttpTimeouts,
}

pub const DEFAULT_MAX_TOKENS: u32 = 4096;

fn default_max_tokens() -> u32 {
    DEFAULT_MAX_TOKENS
}

impl VllmConfig {
    /// A config for a server at `url`, everything else defaulted.
    pub fn new(url: impl Into<String>) -> Self {
        VllmConfig {
            url: Some(url.into()),
            max_tokens: DEFAULT_MAX_TOKENS,
            api_token: None,
            tls_verify: TlsVerify::default(),
            allowed_models: None,
            refresh_models: false,
            http: HttpTimeouts::default(),
        }
    }
}

impl ProviderConfig for VllmConfig {
    fn validate(&self) -> Result<()> {
        match self.url.as_deref() {
            None | Some("") => {
                return Err(Error::invalid(
                    "config.url: a vLLM provider needs the server's URL including /v1 (e.g. set VLLM_URL=http://localhost:8000/v1)",
                )
                .with_param("url"));
            }
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(Error::invalid(format!("config.url: '{url}' must start with http:// or https://")).with_param("url"));
            }
            Some(_) => {}
        }
        if self.max_tokens == 0 {
            return Err(Error::invalid("config.max_tokens: must be at least 1").with_param("max_tokens"));
        }
        self.tls_verify.validate().map_err(|e| Error::invalid(format!("config.{}", e.message())).with_param("tls_verify"))?;
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
    fn defaults_alias_and_redaction() {
        let c: VllmConfig = parse_config(&json!({"url": "http://h:8000/v1"})).unwrap();
        assert_eq!((c.max_tokens, c.tls_verify.clone(), c.refresh_models), (4096, TlsVerify::Enabled(true), false));
        let c: VllmConfig = parse_config(&json!({"url": "http://h/v1", "api_key": "k"})).unwrap();
        assert_eq!(c.api_token.unwrap().expose(), "k");
        let shown = check_config::<VllmConfig>(&json!({"url": "http://h/v1", "api_token": "k", "tls_verify": "/ca.pem"})).unwrap();
        assert_eq!(shown["api_token"], "********");
        assert_eq!(shown["tls_verify"], "/ca.pem");
    }

    #[test]
    fn timeouts_and_allowed_models_feed_the_call_policy() {
        let c: VllmConfig = parse_config(&json!({"url": "http://h/v1", "read_timeout": 120, "timeout": 30.5, "allowed_models": ["m"]})).unwrap();
        assert_eq!((c.http.connect_timeout, c.http.read_timeout), (5.0, 120.0));
        let policy = c.policy();
        assert_eq!(policy.timeout, Some(std::time::Duration::from_millis(30_500)));
        assert_eq!(policy.allowed_models, Some(vec!["m".to_owned()]));
        assert_eq!(VllmConfig::new("http://h/v1").policy().timeout, None);
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for bad in [
            json!({}),
            json!({"url": ""}),
            json!({"url": "localhost:8000/v1"}),
            json!({"url": "http://h/v1", "tls_verify": ""}),
            json!({"url": "http://h/v1", "max_tokens": 0}),
            json!({"url": "http://h/v1", "max_token": 5}),
            json!({"url": "http://h/v1", "timeout": -3}),
            json!({"url": "http://h/v1", "connect_timeout": "soon"}),
        ] {
            assert!(parse_config::<VllmConfig>(&bad).is_err(), "{bad}");
        }
        // A missing CA bundle is found at build time, not here (no I/O in validate).
        assert!(parse_config::<VllmConfig>(&json!({"url": "http://h/v1", "tls_verify": "/nonexistent.pem"})).is_ok());
    }
}
