//! `remote::bedrock` config: upstream 0.3.5's `BedrockBaseConfig` keys (credentials, region,
//! profile, retries, timeouts, session TTL) plus `endpoint_url` and `allowed_models`/
//! `refresh_models`; checked without I/O. Unset credentials come from the environment at build.

use std::time::Duration;

use lls_api_common::call::CallPolicy;
use lls_api_common::{Error, ProviderConfig, Result, Secret};
use serde::{Deserialize, Deserializer, Serialize};

/// run.yaml `config:` of a `remote::bedrock` provider. Each credential field left unset (or
/// empty) falls back to the `AWS_*` environment variable 0.3.5 reads, then to the shared
/// credentials file's profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BedrockConfig {
    /// The access key id (else `AWS_ACCESS_KEY_ID`, else the profile's).
    #[serde(default, deserialize_with = "optional_text")]
    pub aws_access_key_id: Option<String>,
    /// The secret access key (else `AWS_SECRET_ACCESS_KEY`, else the profile's).
    #[serde(default, deserialize_with = "lls_openai_compat::optional_secret")]
    pub aws_secret_access_key: Option<Secret>,
    /// A session token of temporary credentials (else `AWS_SESSION_TOKEN`, else the profile's).
    #[serde(default, deserialize_with = "lls_openai_compat::optional_secret")]
    pub aws_session_token: Option<Secret>,
    /// The AWS region, e.g. `us-west-2` (else `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's
    /// `region` in `~/.aws/config`, else `us-east-1`).
    #[serde(default, deserialize_with = "optional_text")]
    pub region_name: Option<String>,
    /// The profile of `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`) to read keys from
    /// (else `AWS_PROFILE`, else `default`).
    #[serde(default, deserialize_with = "optional_text")]
    pub profile_name: Option<String>,
    /// Attempts of one call, the first included (else `AWS_MAX_ATTEMPTS`, else the retry
    /// mode's default: 3 for `standard` and `adaptive`, 5 for `legacy`).
    #[serde(default, deserialize_with = "optional_number")]
    pub total_max_attempts: Option<u32>,
    /// `standard`, `adaptive` or `legacy` (else `AWS_RETRY_MODE`, else `standard`): which
    /// failures are retried (throttling and 5xx; `legacy` only 429/500/502/503/504) and how many
    /// times by default.
    #[serde(default, deserialize_with = "optional_text")]
    pub retry_mode: Option<String>,
    /// Seconds a TCP (and TLS) connect may take.
    #[serde(default = "default_timeout")]
    pub connect_timeout: f64,
    /// Seconds a read may wait (the whole answer, or a stream's start and each silence in it).
    #[serde(default = "default_timeout")]
    pub read_timeout: f64,
    /// Seconds credentials read from a profile are kept before the file is read again.
    #[serde(default = "default_session_ttl")]
    pub session_ttl: u64,
    /// Replaces both AWS endpoints (`https://bedrock-runtime.{region}.amazonaws.com` and
    /// `https://bedrock.{region}.amazonaws.com`), e.g. a VPC endpoint or a test double.
    #[serde(default, deserialize_with = "optional_text")]
    pub endpoint_url: Option<String>,
    /// When set, only these model ids are listed and callable (the server's call layers).
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// Re-list the models periodically.
    #[serde(default)]
    pub refresh_models: bool,
}

/// The region used when neither config, environment nor profile names one (0.3.5's too).
pub const DEFAULT_REGION: &str = "us-east-1";

fn default_timeout() -> f64 {
    60.0
}

fn default_session_ttl() -> u64 {
    3600
}

/// A string where empty means none (`${env.AWS_PROFILE:=}`); numbers read back as text.
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
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty()))
}

/// A whole number, or text holding one (`${env.AWS_MAX_ATTEMPTS:=}`); empty means none.
fn optional_number<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u32>, D::Error> {
    let Some(text) = optional_text(d)? else {
        return Ok(None);
    };
    text.parse().map(Some).map_err(|_| serde::de::Error::custom(format!("'{text}' is not a whole number")))
}

impl Default for BedrockConfig {
    fn default() -> Self {
        BedrockConfig {
            aws_access_key_id: None,
            aws_secret_access_key: None,
            aws_session_token: None,
            region_name: None,
            profile_name: None,
            total_max_attempts: None,
            retry_mode: None,
            connect_timeout: default_timeout(),
            read_timeout: default_timeout(),
            session_ttl: default_session_ttl(),
            endpoint_url: None,
            allowed_models: None,
            refresh_models: false,
        }
    }
}

/// How failed calls are retried (botocore's retry modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMode {
    /// Throttling, 5xx and transient transport failures; 3 attempts by default.
    Standard,
    /// As `Standard` (botocore adds a client-side rate limiter, which a gateway leaves to its
    /// callers); 3 attempts by default.
    Adaptive,
    /// 429, 500, 502, 503, 504 and transport failures; 5 attempts by default.
    Legacy,
}

impl RetryMode {
    pub(crate) fn parse(text: &str) -> Option<RetryMode> {
        match text.to_ascii_lowercase().as_str() {
            "standard" => Some(RetryMode::Standard),
            "adaptive" => Some(RetryMode::Adaptive),
            "legacy" => Some(RetryMode::Legacy),
            _ => None,
        }
    }

    pub(crate) fn default_attempts(self) -> u32 {
        match self {
            RetryMode::Legacy => 5,
            RetryMode::Standard | RetryMode::Adaptive => 3,
        }
    }
}

fn seconds(v: f64, fallback: u64) -> Duration {
    Duration::try_from_secs_f64(v).unwrap_or(Duration::from_secs(fallback))
}

impl BedrockConfig {
    pub(crate) fn connect_timeout(&self) -> Duration {
        seconds(self.connect_timeout, 60)
    }

    pub(crate) fn read_timeout(&self) -> Duration {
        seconds(self.read_timeout, 60)
    }
}

fn check_seconds(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Ok(())
    } else {
        Err(Error::invalid(format!("config.{name}: {v} is not a number of seconds between 0 and 86400")).with_param(name))
    }
}

/// An AWS region name: lowercase letters, digits and dashes (`us-east-1`, `eu-central-2`).
fn is_region(r: &str) -> bool {
    !r.is_empty() && r.len() <= 32 && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl ProviderConfig for BedrockConfig {
    fn validate(&self) -> Result<()> {
        check_seconds("connect_timeout", self.connect_timeout)?;
        check_seconds("read_timeout", self.read_timeout)?;
        if self.session_ttl == 0 {
            return Err(Error::invalid("config.session_ttl: must be at least 1 second").with_param("session_ttl"));
        }
        if let Some(mode) = &self.retry_mode
            && RetryMode::parse(mode).is_none()
        {
            return Err(Error::invalid(format!("config.retry_mode: '{mode}' is not one of standard, adaptive, legacy")).with_param("retry_mode"));
        }
        if let Some(n) = self.total_max_attempts
            && !(1..=20).contains(&n)
        {
            return Err(Error::invalid(format!("config.total_max_attempts: {n} is not between 1 and 20")).with_param("total_max_attempts"));
        }
        if let Some(region) = &self.region_name
            && !is_region(region)
        {
            return Err(Error::invalid(format!("config.region_name: '{region}' is not an AWS region name (e.g. us-east-1)")).with_param("region_name"));
        }
        if let Some(url) = &self.endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(Error::invalid(format!("config.endpoint_url: '{url}' must start with http:// or https://")).with_param("endpoint_url"));
        }
        if self.aws_secret_access_key.is_some() != self.aws_access_key_id.is_some() {
            return Err(Error::invalid("config: aws_access_key_id and aws_secret_access_key go together; set both or neither")
                .with_param("aws_access_key_id"));
        }
        Ok(())
    }

    /// The provider retries itself (`total_max_attempts`), so the layers do not retry again;
    /// the layers' timeout bounds a call's wait for its first answer like `read_timeout`.
    fn policy(&self) -> CallPolicy {
        CallPolicy { allowed_models: self.allowed_models.clone(), timeout: Some(self.read_timeout()), retries: Some(0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::{check_config, parse_config};
    use serde_json::json;

    #[test]
    fn defaults_are_upstreams_and_secrets_are_hidden() {
        let c: BedrockConfig = parse_config(&json!(null)).unwrap();
        assert_eq!((c.connect_timeout, c.read_timeout, c.session_ttl), (60.0, 60.0, 3600));
        assert!(c.aws_access_key_id.is_none() && c.region_name.is_none() && c.endpoint_url.is_none());
        let shown = check_config::<BedrockConfig>(&json!({"aws_access_key_id": "AKID", "aws_secret_access_key": "s",
            "aws_session_token": "t", "region_name": "", "total_max_attempts": "4"}))
        .unwrap();
        assert_eq!((shown["aws_secret_access_key"].as_str(), shown["aws_session_token"].as_str()), (Some("********"), Some("********")));
        assert_eq!(shown["aws_access_key_id"], "AKID");
        assert!(shown["region_name"].is_null());
        assert_eq!(shown["total_max_attempts"], 4);
        let c: BedrockConfig = parse_config(&json!({"read_timeout": 5, "allowed_models": ["m"]})).unwrap();
        assert_eq!(c.policy().timeout, Some(Duration::from_secs(5)));
        assert_eq!((c.policy().retries, c.policy().allowed_models), (Some(0), Some(vec!["m".to_owned()])));
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for (bad, what) in [
            (json!({"retry_mode": "eager"}), "config.retry_mode"),
            (json!({"total_max_attempts": 0}), "config.total_max_attempts"),
            (json!({"total_max_attempts": "many"}), "not a whole number"),
            (json!({"region_name": "US East"}), "config.region_name"),
            (json!({"endpoint_url": "localhost:9000"}), "config.endpoint_url"),
            (json!({"read_timeout": 0}), "config.read_timeout"),
            (json!({"session_ttl": 0}), "config.session_ttl"),
            (json!({"aws_access_key_id": "AKID"}), "go together"),
            (json!({"api_key": "x"}), "unknown field"),
        ] {
            let e = parse_config::<BedrockConfig>(&bad).unwrap_err();
            assert!(e.message().contains(what), "{bad}: {e}");
        }
    }

    #[test]
    fn retry_modes() {
        assert_eq!(RetryMode::parse("Legacy").map(RetryMode::default_attempts), Some(5));
        assert_eq!(RetryMode::parse("adaptive").map(RetryMode::default_attempts), Some(3));
    }
}
