//! The run.yaml `config:` of a web search provider: upstream's `api_key` and `max_results`,
//! plus where the vendor's API is (`base_url`, for a proxy or a mock) and how long one search
//! may take. Only the default `base_url` differs between vendors.

use std::marker::PhantomData;
use std::time::Duration;

use lls_api_common::{Error, ProviderConfig, Result, Secret};
use lls_openai_compat::optional_secret;
use serde::{Deserialize, Serialize};

use crate::WebSearchVendor;

pub const DEFAULT_MAX_RESULTS: u32 = 3;
/// Tavily refuses more, and Brave answers at most this many web results per page.
pub const MAX_MAX_RESULTS: u32 = 20;
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 30.0;

/// run.yaml `config:` of a web search provider of vendor `V`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(serialize = "", deserialize = "V: WebSearchVendor")
)]
pub struct WebSearchConfig<V> {
    /// The vendor's API key; empty counts as none. A request's provider data
    /// ([`WebSearchVendor::PROVIDER_DATA_KEY`]) takes precedence.
    #[serde(default, deserialize_with = "optional_secret")]
    pub api_key: Option<Secret>,
    /// How many results one search answers with (1 to 20).
    #[serde(default = "default_max_results")]
    pub max_results: u32,
    /// The vendor API's base URL; searches go to `{base_url}{SEARCH_PATH}`.
    #[serde(default = "default_base_url::<V>")]
    pub base_url: String,
    /// Longest one search may take, connecting included (seconds); past it the call is a 504.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// The vendor; not a config key.
    #[serde(skip)]
    pub vendor: PhantomData<V>,
}

fn default_max_results() -> u32 {
    DEFAULT_MAX_RESULTS
}

fn default_base_url<V: WebSearchVendor>() -> String {
    V::DEFAULT_BASE_URL.into()
}

fn default_timeout() -> f64 {
    DEFAULT_TIMEOUT_SECONDS
}

impl<V: WebSearchVendor> Default for WebSearchConfig<V> {
    fn default() -> Self {
        WebSearchConfig {
            api_key: None,
            max_results: DEFAULT_MAX_RESULTS,
            base_url: default_base_url::<V>(),
            timeout: DEFAULT_TIMEOUT_SECONDS,
            vendor: PhantomData,
        }
    }
}

impl<V> WebSearchConfig<V> {
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

impl<V: WebSearchVendor> ProviderConfig for WebSearchConfig<V> {
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
    use crate::test_vendor::Acme;

    type AcmeConfig = WebSearchConfig<Acme>;

    #[test]
    fn upstreams_config_reads_with_the_vendors_defaults() {
        let c: AcmeConfig = parse_config(&json!({ "api_key": "", "max_results": 3 })).unwrap();
        assert_eq!(
            (c.key(), c.max_results, c.base_url.as_str()),
            (None, 3, Acme::DEFAULT_BASE_URL)
        );
        assert_eq!(c.timeout(), Duration::from_secs(30));
        assert_eq!(
            parse_config::<AcmeConfig>(&serde_json::Value::Null).unwrap(),
            AcmeConfig::default()
        );
        // Env coercion can turn a key into a number; it is read back as text.
        let c: AcmeConfig = parse_config(&json!({ "api_key": 1234 })).unwrap();
        assert_eq!(c.key(), Some("1234"));
    }

    #[test]
    fn the_config_writes_back_its_four_keys() {
        let c = AcmeConfig::default();
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({ "api_key": null, "max_results": 3, "base_url": "https://api.acme.test", "timeout": 30.0 })
        );
    }

    #[test]
    fn the_key_is_redacted() {
        let c: AcmeConfig = parse_config(&json!({ "api_key": "acme-secret" })).unwrap();
        assert!(!format!("{c:?}").contains("acme-secret"));
        assert_eq!(
            check_config::<AcmeConfig>(&json!({ "api_key": "acme-secret" })).unwrap()["api_key"],
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
            (json!({ "vendor": null }), "vendor"),
        ] {
            let e = check_config::<AcmeConfig>(&config).unwrap_err();
            assert!(e.message().contains(field), "{config}: {e}");
        }
    }
}
