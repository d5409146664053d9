//! `remote::azure` config, as upstream 0.3.5 spells it in run.yaml; checked without I/O.

use lls_api_common::call::CallPolicy;
use lls_api_common::{Error, ProviderConfig, Result, Secret};
use lls_openai_compat::HttpTimeouts;
use serde::{Deserialize, Serialize};

/// run.yaml `config:` of a `remote::azure` provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureConfig {
    /// The resource endpoint, e.g. `https://my-resource.openai.azure.com`. Required.
    #[serde(default)]
    pub api_base: Option<String>,
    /// Unset, `v1`, `preview` or `latest`: the v1 API (`{api_base}/openai/v1`, what 0.3.5
    /// calls). A dated version (`2024-10-21`, `2025-04-01-preview`): the deployments API
    /// (`{api_base}/openai/deployments/{model}/...?api-version=...`).
    #[serde(default)]
    pub api_version: Option<String>,
    /// `azure` (API key authentication), the only kind there is; unset means `azure`.
    #[serde(default)]
    pub api_type: Option<String>,
    /// The resource's API key, sent in `api-key`; a request's `azure_api_key` provider data
    /// overrides it. Without any key the provider lists no models.
    #[serde(default, deserialize_with = "lls_openai_compat::optional_secret")]
    pub api_key: Option<Secret>,
    /// When set, only these deployments are listed and callable (enforced by the server's call
    /// layers, through [`ProviderConfig::policy`]).
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// Re-list the resource's models periodically.
    #[serde(default)]
    pub refresh_models: bool,
    /// `connect_timeout`, `read_timeout` and `timeout`, in seconds.
    #[serde(flatten)]
    pub http: HttpTimeouts,
}

impl AzureConfig {
    /// A config for the resource at `api_base` with `api_key`, everything else defaulted.
    pub fn new(api_base: impl Into<String>, api_key: impl Into<String>) -> Self {
        AzureConfig {
            api_base: Some(api_base.into()),
            api_version: None,
            api_type: None,
            api_key: Some(Secret::new(api_key.into())),
            allowed_models: None,
            refresh_models: false,
            http: HttpTimeouts::default(),
        }
    }
}

/// Which of Azure's two URL layouts an `api-version` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiVersion {
    /// `/openai/v1/...`, with `api-version` sent only when it is `preview` or `latest`.
    V1(Option<String>),
    /// `/openai/deployments/{deployment}/...?api-version=<date>`.
    Dated(String),
}

impl ApiVersion {
    /// Reads a configured (or provider-data) version; `None` or empty is the v1 API.
    pub fn parse(version: Option<&str>) -> Result<ApiVersion> {
        match version.map(str::trim).filter(|v| !v.is_empty()) {
            None | Some("v1") => Ok(ApiVersion::V1(None)),
            Some(v @ ("preview" | "latest")) => Ok(ApiVersion::V1(Some(v.to_owned()))),
            Some(v) if is_dated(v) => Ok(ApiVersion::Dated(v.to_owned())),
            Some(v) => Err(Error::invalid(format!(
                "api_version: '{v}' is neither v1, preview, latest nor a dated version such as 2024-10-21 or 2025-04-01-preview"
            ))
            .with_param("api_version")),
        }
    }
}

/// `YYYY-MM-DD`, optionally followed by `-preview`.
fn is_dated(v: &str) -> bool {
    let date = v.strip_suffix("-preview").unwrap_or(v);
    let parts: Vec<&str> = date.split('-').collect();
    parts.len() == 3 && parts.iter().zip([4, 2, 2]).all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks an `api_base` (config or provider data): an http(s) URL without query or fragment.
pub(crate) fn check_api_base(base: &str) -> Result<()> {
    if !(base.starts_with("http://") || base.starts_with("https://")) || base.contains(['?', '#']) {
        return Err(Error::invalid(format!(
            "api_base: '{base}' must be the resource's http(s) endpoint, e.g. https://my-resource.openai.azure.com"
        ))
        .with_param("api_base"));
    }
    Ok(())
}

impl ProviderConfig for AzureConfig {
    fn validate(&self) -> Result<()> {
        let prefix = |e: Error| Error::invalid(format!("config.{}", e.message())).with_param(e.param().unwrap_or_default().to_owned());
        match self.api_base.as_deref() {
            None | Some("") => {
                return Err(Error::invalid(
                    "config.api_base: an Azure provider needs the resource endpoint (e.g. set AZURE_API_BASE=https://my-resource.openai.azure.com)",
                )
                .with_param("api_base"));
            }
            Some(base) => check_api_base(base).map_err(prefix)?,
        }
        ApiVersion::parse(self.api_version.as_deref()).map_err(prefix)?;
        match self.api_type.as_deref() {
            None | Some("") | Some("azure") => {}
            Some(other) => {
                return Err(Error::invalid(format!(
                    "config.api_type: '{other}' is not supported; only 'azure' (API key authentication) is"
                ))
                .with_param("api_type"));
            }
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
        let c: AzureConfig = parse_config(&json!({"api_base": "https://r.openai.azure.com"})).unwrap();
        assert!(c.api_key.is_none() && c.api_version.is_none() && c.api_type.is_none() && !c.refresh_models);
        let shown = check_config::<AzureConfig>(&json!({"api_base": "https://r.openai.azure.com", "api_key": "k", "api_version": null})).unwrap();
        assert_eq!(shown["api_key"], "********");
    }

    #[test]
    fn api_versions_pick_the_layout() {
        assert_eq!(ApiVersion::parse(None).unwrap(), ApiVersion::V1(None));
        assert_eq!(ApiVersion::parse(Some("")).unwrap(), ApiVersion::V1(None));
        assert_eq!(ApiVersion::parse(Some("v1")).unwrap(), ApiVersion::V1(None));
        assert_eq!(ApiVersion::parse(Some("preview")).unwrap(), ApiVersion::V1(Some("preview".into())));
        assert_eq!(ApiVersion::parse(Some("2024-10-21")).unwrap(), ApiVersion::Dated("2024-10-21".into()));
        assert_eq!(ApiVersion::parse(Some("2025-04-01-preview")).unwrap(), ApiVersion::Dated("2025-04-01-preview".into()));
        assert!(ApiVersion::parse(Some("2024-10")).is_err());
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for bad in [
            json!({}),
            json!({"api_base": ""}),
            json!({"api_base": "r.openai.azure.com"}),
            json!({"api_base": "https://r.openai.azure.com?x=1"}),
            json!({"api_base": "https://r", "api_version": "tomorrow"}),
            json!({"api_base": "https://r", "api_type": "azure_ad"}),
            json!({"api_base": "https://r", "base_url": "https://x"}),
            json!({"api_base": "https://r", "timeout": 0}),
        ] {
            assert!(parse_config::<AzureConfig>(&bad).is_err(), "{bad}");
        }
        let e = parse_config::<AzureConfig>(&json!({"api_base": "https://r", "api_version": "x"})).unwrap_err();
        assert!(e.message().starts_with("config.api_version"), "{e}");
    }

    #[test]
    fn timeouts_and_allowed_models_feed_the_call_policy() {
        let c: AzureConfig = parse_config(&json!({"api_base": "https://r", "timeout": 9, "allowed_models": ["gpt-4o"]})).unwrap();
        let policy = c.policy();
        assert_eq!(policy.timeout, Some(std::time::Duration::from_secs(9)));
        assert_eq!(policy.allowed_models, Some(vec!["gpt-4o".to_owned()]));
    }
}
