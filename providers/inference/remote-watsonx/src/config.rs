//! `remote::watsonx` config, with upstream 0.3.5's keys (`url`, `api_key`, `project_id`,
//! `timeout`, `allowed_models`, `refresh_models`) and a few of ours; checked without I/O.

use std::time::Duration;

use lls_api_common::call::CallPolicy;
use lls_api_common::{Error, ProviderConfig, Result, Secret};
use serde::{Deserialize, Deserializer, Serialize};

/// run.yaml `config:` of a `remote::watsonx` provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatsonxConfig {
    /// The watsonx.ai regional endpoint, e.g. `https://us-south.ml.cloud.ibm.com`.
    #[serde(default = "default_url")]
    pub url: String,
    /// The IBM Cloud API key exchanged for IAM tokens; a request's `watsonx_api_key` provider
    /// data overrides it.
    #[serde(default, deserialize_with = "lls_openai_compat::optional_secret")]
    pub api_key: Option<Secret>,
    /// The watsonx.ai project every call runs in; a request's `watsonx_project_id` provider
    /// data overrides it. Empty counts as unset.
    #[serde(default, deserialize_with = "optional_text")]
    pub project_id: Option<String>,
    /// Seconds a call may take (the whole answer, or a stream's start and each silence in it).
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// Seconds a TCP (and TLS) connect may take.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: f64,
    /// The IBM Cloud IAM service the API key is exchanged at (`{iam_url}/identity/token`).
    #[serde(default = "default_iam_url")]
    pub iam_url: String,
    /// The watsonx.ai API version date sent as `version=` on every call.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// When set, only these model ids are listed and callable (the server's call layers).
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// Re-list the models periodically.
    #[serde(default)]
    pub refresh_models: bool,
}

pub const DEFAULT_URL: &str = "https://us-south.ml.cloud.ibm.com";
pub const DEFAULT_IAM_URL: &str = "https://iam.cloud.ibm.com";
/// The API version this provider was written against.
pub const DEFAULT_API_VERSION: &str = "2025-02-11";

fn default_url() -> String {
    DEFAULT_URL.to_owned()
}

fn default_iam_url() -> String {
    DEFAULT_IAM_URL.to_owned()
}

fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_owned()
}

fn default_timeout() -> f64 {
    60.0
}

fn default_connect_timeout() -> f64 {
    5.0
}

/// A string where empty means none (`${env.WATSONX_PROJECT_ID:=}`); numbers read back as text.
fn optional_text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(Option::<Raw>::deserialize(d)?
        .map(|raw| match raw {
            Raw::Text(t) => t,
            Raw::Number(n) => n.to_string(),
        })
        .filter(|t| !t.trim().is_empty()))
}

impl Default for WatsonxConfig {
    fn default() -> Self {
        WatsonxConfig {
            url: default_url(),
            api_key: None,
            project_id: None,
            timeout: default_timeout(),
            connect_timeout: default_connect_timeout(),
            iam_url: default_iam_url(),
            api_version: default_api_version(),
            allowed_models: None,
            refresh_models: false,
        }
    }
}

impl WatsonxConfig {
    pub(crate) fn call_timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.timeout).unwrap_or(Duration::from_secs(60))
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.connect_timeout).unwrap_or(Duration::from_secs(5))
    }
}

fn check_url(name: &str, url: &str) -> Result<()> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(Error::invalid(format!("config.{name}: '{url}' must start with http:// or https://")).with_param(name))
    }
}

/// `YYYY-MM-DD`, as watsonx.ai's `version` parameter wants it.
fn is_date(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}

impl ProviderConfig for WatsonxConfig {
    fn validate(&self) -> Result<()> {
        check_url("url", &self.url)?;
        check_url("iam_url", &self.iam_url)?;
        if !is_date(&self.api_version) {
            return Err(Error::invalid(format!("config.api_version: '{}' is not a date (YYYY-MM-DD)", self.api_version))
                .with_param("api_version"));
        }
        for (name, v) in [("timeout", self.timeout), ("connect_timeout", self.connect_timeout)] {
            if !(v.is_finite() && v > 0.0 && v <= 86_400.0) {
                return Err(Error::invalid(format!("config.{name}: {v} is not a number of seconds between 0 and 86400")).with_param(name));
            }
        }
        Ok(())
    }

    fn policy(&self) -> CallPolicy {
        CallPolicy { allowed_models: self.allowed_models.clone(), timeout: Some(self.call_timeout()), retries: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::{check_config, parse_config};
    use serde_json::json;

    #[test]
    fn defaults_are_upstreams_and_secrets_are_hidden() {
        let c: WatsonxConfig = parse_config(&json!(null)).unwrap();
        assert_eq!((c.url.as_str(), c.timeout, c.project_id.as_deref()), (DEFAULT_URL, 60.0, None));
        assert_eq!((c.iam_url.as_str(), c.api_version.as_str()), (DEFAULT_IAM_URL, DEFAULT_API_VERSION));
        let shown = check_config::<WatsonxConfig>(&json!({"api_key": "secret", "project_id": ""})).unwrap();
        assert_eq!(shown["api_key"], "********");
        assert!(shown["project_id"].is_null());
        let c: WatsonxConfig = parse_config(&json!({"project_id": 1234, "timeout": 5})).unwrap();
        assert_eq!(c.project_id.as_deref(), Some("1234"));
        assert_eq!(c.policy().timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for (bad, what) in [
            (json!({"url": "us-south.ml.cloud.ibm.com"}), "config.url"),
            (json!({"iam_url": "iam"}), "config.iam_url"),
            (json!({"api_version": "2025-2-11"}), "config.api_version"),
            (json!({"timeout": 0}), "config.timeout"),
            (json!({"base_url": "https://x"}), "unknown field"),
        ] {
            let e = parse_config::<WatsonxConfig>(&bad).unwrap_err();
            assert!(e.message().contains(what), "{bad}: {e}");
        }
    }

    #[test]
    fn allowed_models_feed_the_call_policy() {
        let c: WatsonxConfig = parse_config(&json!({"allowed_models": ["ibm/granite-3-3-8b-instruct"]})).unwrap();
        assert_eq!(c.policy().allowed_models, Some(vec!["ibm/granite-3-3-8b-instruct".to_owned()]));
    }
}
