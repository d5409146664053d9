//! `remote::trustyai_fms` config, with the keys of TrustyAI's `FMSSafetyProviderConfig`: a
//! provider-wide `orchestrator_url` (and TLS / token defaults) and a `shields` map whose entries
//! each describe one shield (`type: content|chat`, threshold, message types, detector
//! parameters, and a `detector_url` when the detector is called directly).

use std::collections::BTreeMap;

use lls_api_common::{Error, ProviderConfig, Result};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// run.yaml `config:` of a `remote::trustyai_fms` provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FmsConfig {
    /// The FMS guardrails orchestrator; shields without a URL of their own use it. Empty means
    /// unset.
    #[serde(default, deserialize_with = "non_empty")]
    pub orchestrator_url: Option<String>,
    /// Shields this provider serves, by id (the shield's `provider_resource_id`).
    #[serde(default)]
    pub shields: BTreeMap<String, ShieldConfig>,
    /// Default for shields that do not say: verify the servers' TLS certificates.
    #[serde(default = "yes", deserialize_with = "flexible_bool")]
    pub verify_ssl: bool,
    /// Default for shields that do not say: a PEM CA bundle to trust instead of the built-in roots.
    #[serde(default, deserialize_with = "non_empty")]
    pub ssl_cert_path: Option<String>,
    /// Default for shields that do not say: sent as `Authorization: Bearer <token>`.
    #[serde(default, deserialize_with = "non_empty")]
    pub auth_token: Option<String>,
}

impl Default for FmsConfig {
    fn default() -> Self {
        FmsConfig {
            orchestrator_url: None,
            shields: BTreeMap::new(),
            verify_ssl: true,
            ssl_cert_path: None,
            auth_token: None,
        }
    }
}

/// Which detector API a shield calls: one text at a time, or a conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShieldKind {
    #[default]
    Content,
    Chat,
}

/// The kinds of message a shield looks at (`completion` is an assistant message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    User,
    System,
    Tool,
    Completion,
    Developer,
}

impl MessageType {
    pub const ALL: [MessageType; 5] = [
        MessageType::User,
        MessageType::System,
        MessageType::Tool,
        MessageType::Completion,
        MessageType::Developer,
    ];
}

/// One detector of an orchestrator shield that runs several (`detectors: {hap: {detector_params: {}}}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NestedDetector {
    #[serde(default)]
    pub detector_params: Map<String, Value>,
}

/// One shield: `shields.<id>` in the config, or a shield's `params` when it is registered
/// through the API with a body the config does not describe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShieldConfig {
    #[serde(rename = "type", default)]
    pub kind: Option<ShieldKind>,
    /// TrustyAI's older spelling of `type: chat`, read when `type` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_chat: Option<bool>,
    /// A detection counts when its score is above this.
    #[serde(default = "half")]
    pub confidence_threshold: f64,
    #[serde(default = "all_message_types")]
    pub message_types: Vec<MessageType>,
    /// Sent to the detector as `detector_params` (direct), or as this shield's entry of
    /// `detectors` (orchestrator).
    #[serde(default)]
    pub detector_params: Map<String, Value>,
    /// Orchestrator only: several detectors at once, by detector id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detectors: Option<BTreeMap<String, NestedDetector>>,
    /// Call this detector server directly (`/api/v1/text/...`, header `detector-id`).
    #[serde(default, alias = "base_url", deserialize_with = "non_empty")]
    pub detector_url: Option<String>,
    /// Call this orchestrator (`/api/v2/text/detection/...`); defaults to the provider's.
    #[serde(
        default,
        alias = "orchestrator_base_url",
        deserialize_with = "non_empty"
    )]
    pub orchestrator_url: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    pub auth_token: Option<String>,
    #[serde(default, deserialize_with = "flexible_opt_bool")]
    pub verify_ssl: Option<bool>,
    #[serde(default, deserialize_with = "non_empty")]
    pub ssl_cert_path: Option<String>,
    /// PEM client certificate (with `ssl_client_key`, or holding the key itself).
    #[serde(default, deserialize_with = "non_empty")]
    pub ssl_client_cert: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    pub ssl_client_key: Option<String>,
    /// Requests to the backend for this shield in flight at once.
    #[serde(default = "ten")]
    pub max_concurrency: usize,
    /// Seconds one HTTP request may take.
    #[serde(default = "thirty")]
    pub request_timeout: f64,
    /// Attempts per request (5xx, 429, connect failures and timeouts are tried again).
    #[serde(default = "three")]
    pub max_retries: u32,
    /// The wait before retry `n` (1-based) is `backoff_factor^n` seconds (±20%).
    #[serde(default = "one_and_a_half")]
    pub backoff_factor: f64,
    /// Idle connections kept per host.
    #[serde(default = "five")]
    pub max_keepalive_connections: usize,
    /// Accepted for compatibility; `max_concurrency` is what bounds connections here.
    #[serde(default = "ten")]
    pub max_connections: usize,
}

fn yes() -> bool {
    true
}
fn half() -> f64 {
    0.5
}
fn all_message_types() -> Vec<MessageType> {
    MessageType::ALL.to_vec()
}
fn ten() -> usize {
    10
}
fn five() -> usize {
    5
}
fn thirty() -> f64 {
    30.0
}
fn three() -> u32 {
    3
}
fn one_and_a_half() -> f64 {
    1.5
}

/// `null` and `""` (what `${env.X:=}` gives when X is unset) both mean unset.
fn non_empty<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.trim().is_empty()))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrString {
    Bool(bool),
    String(String),
}

fn read_bool<E: serde::de::Error>(v: BoolOrString) -> std::result::Result<Option<bool>, E> {
    match v {
        BoolOrString::Bool(b) => Ok(Some(b)),
        BoolOrString::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "true" | "1" | "yes" => Ok(Some(true)),
            "false" | "0" | "no" => Ok(Some(false)),
            other => Err(E::custom(format!("expected true or false, got '{other}'"))),
        },
    }
}

fn flexible_bool<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(read_bool::<D::Error>(BoolOrString::deserialize(d)?)?.unwrap_or(true))
}

fn flexible_opt_bool<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<bool>, D::Error> {
    match Option::<BoolOrString>::deserialize(d)? {
        None => Ok(None),
        Some(v) => read_bool::<D::Error>(v),
    }
}

fn check_url(field: &str, url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host)
            if !host.is_empty()
                && !host.starts_with('/')
                && !url.chars().any(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(
            Error::invalid(format!("config.{field}: '{url}' is not an http(s) URL"))
                .with_param(field.to_owned()),
        ),
    }
}

impl ShieldConfig {
    /// Chat detector or content detector (`type`, else the older `is_chat`).
    pub fn shield_kind(&self) -> ShieldKind {
        match (self.kind, self.is_chat) {
            (Some(k), _) => k,
            (None, Some(true)) => ShieldKind::Chat,
            (None, _) => ShieldKind::Content,
        }
    }

    /// Parses a shield's registration `params` (a shield the config does not describe);
    /// as TrustyAI does for such shields, `message_types` defaults to `["system"]`.
    pub fn from_params(id: &str, params: &Map<String, Value>) -> Result<ShieldConfig> {
        let mut params = params.clone();
        params
            .entry("message_types")
            .or_insert_with(|| Value::from(vec!["system"]));
        serde_json::from_value(Value::Object(params)).map_err(|e| {
            Error::invalid(format!(
                "shield '{id}': params do not describe a TrustyAI FMS shield: {e}"
            ))
            .with_param("params")
        })
    }

    /// Fills what the shield leaves to the provider (TLS, token, and the orchestrator when the
    /// shield names no URL of its own), as TrustyAI copies the provider-wide settings into each
    /// shield.
    pub fn inherit(mut self, provider: &FmsConfig) -> ShieldConfig {
        if self.orchestrator_url.is_none() && self.detector_url.is_none() {
            self.orchestrator_url.clone_from(&provider.orchestrator_url);
        }
        self.verify_ssl.get_or_insert(provider.verify_ssl);
        if self.ssl_cert_path.is_none() {
            self.ssl_cert_path.clone_from(&provider.ssl_cert_path);
        }
        if self.auth_token.is_none() {
            self.auth_token.clone_from(&provider.auth_token);
        }
        self
    }

    /// The checks of one (inherited) shield; `at` names it in messages.
    pub fn validate(&self, at: &str) -> Result<()> {
        if self.orchestrator_url.is_none() && self.detector_url.is_none() {
            return Err(Error::invalid(format!(
                "config.{at}: no orchestrator_url (here or provider-wide) and no detector_url: the shield has nothing to call"
            )));
        }
        for (field, url) in [
            ("detector_url", &self.detector_url),
            ("orchestrator_url", &self.orchestrator_url),
        ] {
            if let Some(url) = url {
                check_url(&format!("{at}.{field}"), url)?;
            }
        }
        if !(0.0..=1.0).contains(&self.confidence_threshold) {
            return Err(Error::invalid(format!(
                "config.{at}.confidence_threshold: must be between 0 and 1, got {}",
                self.confidence_threshold
            )));
        }
        if self.message_types.is_empty() {
            return Err(Error::invalid(format!(
                "config.{at}.message_types: must name at least one of user, system, tool, completion, developer"
            )));
        }
        if self.max_concurrency == 0 || self.max_retries == 0 || self.max_connections == 0 {
            return Err(Error::invalid(format!(
                "config.{at}: max_concurrency, max_retries and max_connections must be at least 1"
            )));
        }
        if !(self.request_timeout.is_finite() && self.request_timeout > 0.0) {
            return Err(Error::invalid(format!(
                "config.{at}.request_timeout: must be a positive number of seconds"
            )));
        }
        if !(self.backoff_factor.is_finite() && (0.0..=60.0).contains(&self.backoff_factor)) {
            return Err(Error::invalid(format!(
                "config.{at}.backoff_factor: must be between 0 and 60"
            )));
        }
        if self.ssl_client_key.is_some() && self.ssl_client_cert.is_none() {
            return Err(Error::invalid(format!(
                "config.{at}.ssl_client_key: given without ssl_client_cert"
            )));
        }
        if let Some(t) = self
            .detector_params
            .get("temperature")
            .and_then(Value::as_f64)
            && !(0.0..=1.0).contains(&t)
        {
            return Err(Error::invalid(format!(
                "config.{at}.detector_params.temperature: must be between 0 and 1"
            )));
        }
        Ok(())
    }
}

impl ProviderConfig for FmsConfig {
    fn validate(&self) -> Result<()> {
        if let Some(url) = &self.orchestrator_url {
            check_url("orchestrator_url", url)?;
        }
        for (id, shield) in &self.shields {
            if id.trim().is_empty() {
                return Err(Error::invalid(
                    "config.shields: shield ids must not be empty",
                ));
            }
            shield
                .clone()
                .inherit(self)
                .validate(&format!("shields.{id}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lls_api_common::provider::{check_config, parse_config};
    use serde_json::json;

    use super::*;

    #[test]
    fn upstream_shapes_and_defaults() {
        let c: FmsConfig = parse_config(&json!({
            "orchestrator_url": "http://orch:8033",
            "shields": {
                "email_hap": {"type": "content", "confidence_threshold": 0.5, "message_types": ["system"],
                              "detectors": {"hap": {"detector_params": {}}, "regex": {"detector_params": {"regex": ["email"]}}}},
                "granite": {"type": "chat", "detector_params": {"temperature": 0.0, "risk_name": "code_execution"}},
                "pii": {"detector_url": "https://regex:8080", "is_chat": false, "verify_ssl": "false"}
            }
        }))
        .unwrap();
        let g = &c.shields["granite"];
        assert_eq!(
            (
                g.shield_kind(),
                g.confidence_threshold,
                g.message_types.len()
            ),
            (ShieldKind::Chat, 0.5, 5)
        );
        assert_eq!(
            (
                g.max_concurrency,
                g.request_timeout,
                g.max_retries,
                g.backoff_factor
            ),
            (10, 30.0, 3, 1.5)
        );
        assert_eq!(c.shields["pii"].verify_ssl, Some(false));
        assert_eq!(c.shields["email_hap"].detectors.as_ref().unwrap().len(), 2);
        assert!(c.verify_ssl);
    }

    #[test]
    fn validation() {
        let bad = |v: Value| {
            check_config::<FmsConfig>(&v)
                .unwrap_err()
                .message()
                .to_owned()
        };
        assert!(bad(json!({"shields": {"x": {}}})).contains("nothing to call"));
        assert!(bad(json!({"orchestrator_url": "ftp://x", "shields": {}})).contains("http(s)"));
        assert!(bad(json!({"orchestrator_url": "http://o", "shields": {"x": {"confidence_threshold": 1.5}}})).contains("between 0 and 1"));
        assert!(bad(json!({"shields": {"x": {"detector_url": "http://d", "message_types": ["assistant"]}}})).contains("shields.x"));
        assert!(
            bad(json!({"shields": {"x": {"detector_url": "http://d", "threshold": 0.2}}}))
                .contains("unknown field")
        );
        assert!(bad(json!({"orchestrator_url": "http://o", "bogus": 1})).contains("unknown field"));
        // `${env.X:=}` gives empty strings: unset, and a config without shields is fine.
        let c: FmsConfig = parse_config(&json!({"orchestrator_url": "", "ssl_cert_path": "", "auth_token": "", "verify_ssl": ""})).unwrap();
        assert_eq!(c, FmsConfig::default());
    }

    #[test]
    fn params_and_inheritance() {
        let provider = FmsConfig {
            orchestrator_url: Some("http://o".into()),
            auth_token: Some("t".into()),
            ..FmsConfig::default()
        };
        let s = ShieldConfig::from_params("hap", json!({"type": "content"}).as_object().unwrap())
            .unwrap()
            .inherit(&provider);
        assert_eq!(s.message_types, [MessageType::System]);
        assert_eq!(
            (
                s.orchestrator_url.as_deref(),
                s.auth_token.as_deref(),
                s.verify_ssl
            ),
            (Some("http://o"), Some("t"), Some(true))
        );
        s.validate("hap").unwrap();
        assert_eq!(
            ShieldConfig::from_params("x", json!({"kind": 1}).as_object().unwrap())
                .unwrap_err()
                .param(),
            Some("params")
        );
    }
}
