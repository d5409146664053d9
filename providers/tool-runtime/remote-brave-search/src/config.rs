//! `remote::brave-search` config: upstream's `api_key` and `max_results`, plus where the
//! Brave Search API is (`base_url`, for a proxy or a mock) and how long one search may take.

use std::time::Duration;

use lls_api_common::{Error, ProviderConfig, Result, Secret};
use lls_openai_compat::optional_secret;
use serde::{Deserialize, Serialize};

pub const DEFAULT_BASE_URL: &str = "https://api.search.brave.com";
pub const DEFAULT_MAX_RESULTS: u32 = 3;
/// Brave answers at most this many web results per page.
pub const MAX_MAX_RESULTS: u32 = 20;
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 30.0;

/// run.yaml `config:` of a `remote::brave-search` provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BraveSearchConfig {
    /// The Brave Search API key (subscription token); empty counts as none. A request's
    /// provider data (`brave_search_api_key`) takes precedence.
    #[serde(default, deserialize_with = "optional_secret")]
    pub api_key: Option<Secret>,
    /// How many of Brave's ranked results (`mixed.main`) one search answers with (1 to 20).
    #[serde(default = "default_max_results")]
    pub max_results: u32,
    /// The Brave Search API's base URL; searches go to `{base_url}/res/v1/web/search`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Longest one search may take, connecting included (seconds); past it the call is a 504.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
}

fn default_max_results() -> u32 {
    DEFAULT_MAX_RESULTS
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.into()
}

fn default_timeout() -> f64 {
    DEFAULT_TIMEOUT_SECONDS
}

impl Default for BraveSearchConfig {
    fn default() -> Self {
        BraveSearchConfig {
            api_key: None,
            max_results: DEFAULT_MAX_RESULTS,
            base_url: default_base_url(),
            timeout: DEFAULT_TIMEOUT_SECONDS,
        }
    }
}

impl BraveSearchConfig {
    /// The configured key, if it is not empty.
    pub fn key(&self) -> Option<&str> {
        self.api_key
            .as_ref()
            .map(Secret::expose)
            .filter(|k| !k.is_empty())
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout)
    }
}

impl ProviderConfig for BraveSearchConfig {
    fn validate(&self) -> Result<()> {
        if !(1..=MAX_MAX_RESULTS).contains(&self.max_results) {
            return Err(Error::invalid(format!(
                "config.max_results: must be from 1 to {MAX_MAX_RESULTS}"
            ))
            .with_param("max_results"));
        }
        let url = reqwest::Url::parse(&self.base_url)
            .map_err(|e| Error::invalid(format!("config.base_url: {e}")).with_param("base_url"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(
                Error::invalid("config.base_url: must be an http or https URL")
                    .with_param("base_url"),
            );
        }
        if !(self.timeout.is_finite() && self.timeout > 0.0 && self.timeout <= 86_400.0) {
            return Err(Error::invalid(
                "config.timeout: must be more than 0 seconds (and at most a day)",
            )
            .with_param("timeout"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use lls_api_common::provider::{check_config, parse_config};
    use serde_json::json;

    use super::*;

    #[test]
    fn upstreams_config_reads_with_defaults() {
        let c: BraveSearchConfig =
            parse_config(&json!({ "api_key": "", "max_results": 3 })).unwrap();
        assert_eq!(
            (c.key(), c.max_results, c.base_url.as_str()),
            (None, 3, DEFAULT_BASE_URL)
        );
        assert_eq!(
            parse_config::<BraveSearchConfig>(&serde_json::Value::Null).unwrap(),
            BraveSearchConfig::default()
        );
        // Env coercion can turn a key into a number; it is read back as text.
        let c: BraveSearchConfig = parse_config(&json!({ "api_key": 1234 })).unwrap();
        assert_eq!(c.key(), Some("1234"));
    }

    #[test]
    fn the_key_is_redacted() {
        let c: BraveSearchConfig = parse_config(&json!({ "api_key": "brave-secret" })).unwrap();
        assert!(!format!("{c:?}").contains("brave-secret"));
        assert_eq!(
            check_config::<BraveSearchConfig>(&json!({ "api_key": "brave-secret" })).unwrap()["api_key"],
            Secret::REDACTED
        );
    }

    #[test]
    fn bad_configs_name_the_field() {
        for (config, field) in [
            (json!({ "max_results": 0 }), "max_results"),
            (json!({ "max_results": 21 }), "max_results"),
            (json!({ "base_url": "ftp://x" }), "base_url"),
            (json!({ "base_url": "not a url" }), "base_url"),
            (json!({ "timeout": 0 }), "timeout"),
            (json!({ "url": "x" }), "url"),
        ] {
            let e = check_config::<BraveSearchConfig>(&config).unwrap_err();
            assert!(e.message().contains(field), "{config}: {e}");
        }
    }
}
