//! `remote::milvus` config, as upstream 0.3.5 spells it in run.yaml (`uri`, `token`,
//! `consistency_level`, `persistence`), plus the `MilvusClient` options the Red Hat distribution
//! passes (`db_name`, `secure`, the TLS files, `timeout`) and the index and search settings.

use std::collections::BTreeMap;
use std::time::Duration;

use lls_api_common::store::KvStoreRef;
use lls_api_common::{Error, ProviderConfig, Result};
use lls_milvus::{ConnectOptions, Consistency, IndexKind, IndexSettings, Metric};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// run.yaml `config:` of a `remote::milvus` provider.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilvusConfig {
    /// The server: `http://host:19530`, `https://…`, or `host:port`.
    #[serde(default, deserialize_with = "optional_text")]
    pub uri: Option<String>,
    /// `user:password` or an API key; `null` or empty (an unset `${env.MILVUS_TOKEN}`) means none.
    #[serde(default, deserialize_with = "optional_text", skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, deserialize_with = "lls_milvus::consistency_or_default")]
    pub consistency_level: Consistency,
    /// Accepted for run.yaml compatibility with 0.3.5, which kept its store registry there; this
    /// provider reads stores from Milvus itself (a collection per store, named from its id), so
    /// every server on the same Milvus sees them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<KvStoreRef>,
    /// The Milvus database (default: the server's `default`).
    #[serde(default, deserialize_with = "optional_text", skip_serializing_if = "Option::is_none")]
    pub db_name: Option<String>,
    /// TLS even for an `http://` URI.
    #[serde(default, deserialize_with = "flag")]
    pub secure: bool,
    #[serde(default, deserialize_with = "optional_text", skip_serializing_if = "Option::is_none")]
    pub ca_pem_path: Option<String>,
    #[serde(default, deserialize_with = "optional_text", skip_serializing_if = "Option::is_none")]
    pub client_pem_path: Option<String>,
    #[serde(default, deserialize_with = "optional_text", skip_serializing_if = "Option::is_none")]
    pub client_key_path: Option<String>,
    /// Seconds one call to Milvus may take.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// The vector index built for each store (`FLAT`, exact, as 0.3.5; or `HNSW`, `IVF_FLAT`, …).
    #[serde(default)]
    pub index_type: IndexKind,
    /// `COSINE` (0.3.5's), `L2` or `IP`.
    #[serde(default)]
    pub metric_type: Metric,
    /// Build parameters of the vector index, e.g. `{M: 16, efConstruction: 200}` for HNSW.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub index_params: BTreeMap<String, Value>,
    /// Search parameters, e.g. `{ef: 64}` for HNSW or `{nprobe: 16}` for IVF.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub search_params: BTreeMap<String, Value>,
}

impl std::fmt::Debug for MilvusConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MilvusConfig")
            .field("uri", &self.uri)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("consistency_level", &self.consistency_level)
            .field("db_name", &self.db_name)
            .field("index_type", &self.index_type)
            .field("metric_type", &self.metric_type)
            .finish_non_exhaustive()
    }
}

fn default_timeout() -> f64 {
    60.0
}

/// A string, or a number env substitution made of one; `None` for `null` or empty.
fn optional_text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(serde::de::Error::custom(format!("expected a string, got {other}"))),
    }
}

/// A boolean, or its text (`"true"`, `"1"`, …); `null` or empty is false.
fn flag<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "false" | "0" | "no" | "off" => Ok(false),
            "true" | "1" | "yes" | "on" => Ok(true),
            other => Err(serde::de::Error::custom(format!("expected true or false, got '{other}'"))),
        },
        other => Err(serde::de::Error::custom(format!("expected true or false, got {other}"))),
    }
}

impl MilvusConfig {
    /// A config for the server at `uri`, defaults elsewhere.
    pub fn new(uri: impl Into<String>) -> Self {
        MilvusConfig {
            uri: Some(uri.into()),
            token: None,
            consistency_level: Consistency::Strong,
            persistence: None,
            db_name: None,
            secure: false,
            ca_pem_path: None,
            client_pem_path: None,
            client_key_path: None,
            timeout: default_timeout(),
            index_type: IndexKind::default(),
            metric_type: Metric::default(),
            index_params: BTreeMap::new(),
            search_params: BTreeMap::new(),
        }
    }

    pub fn connect_options(&self) -> ConnectOptions {
        let mut o = ConnectOptions::new(self.uri.clone().unwrap_or_default());
        o.token = self.token.clone();
        o.db_name = self.db_name.clone();
        o.secure = self.secure;
        o.ca_pem_path = self.ca_pem_path.clone();
        o.client_pem_path = self.client_pem_path.clone();
        o.client_key_path = self.client_key_path.clone();
        o.rpc_timeout = Duration::from_secs_f64(self.timeout);
        o
    }

    pub fn index_settings(&self) -> IndexSettings {
        IndexSettings {
            consistency: self.consistency_level,
            index_type: self.index_type,
            metric_type: self.metric_type,
            index_params: self.index_params.clone(),
            search_params: self.search_params.clone(),
        }
    }
}

impl ProviderConfig for MilvusConfig {
    fn validate(&self) -> Result<()> {
        let Some(uri) = self.uri.as_deref() else {
            return Err(Error::invalid("config.uri: required (the Milvus server, e.g. http://localhost:19530)").with_param("uri"));
        };
        let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest).trim_end_matches('/');
        let scheme_ok = uri.split_once("://").is_none_or(|(s, _)| matches!(s, "http" | "https" | "tcp" | "grpc"));
        // pymilvus reads a file path as "run Milvus Lite on this file": here that is inline::milvus.
        let local_file = !uri.contains("://") && (uri.starts_with(['/', '.', '~']) || uri.ends_with(".db"));
        if !scheme_ok || local_file || rest.is_empty() || rest.contains(char::is_whitespace) {
            return Err(Error::invalid(format!(
                "config.uri: '{uri}' is not a Milvus server address (http://host:19530, https://host:port or host:port); \
                 inline::milvus serves a local Milvus Lite"
            ))
            .with_param("uri"));
        }
        if !(self.timeout.is_finite() && self.timeout > 0.0 && self.timeout <= 86_400.0) {
            return Err(Error::invalid("config.timeout: must be a number of seconds above 0 (at most a day)").with_param("timeout"));
        }
        if self.client_pem_path.is_some() != self.client_key_path.is_some() {
            return Err(Error::invalid("config.client_pem_path and config.client_key_path: give both (mutual TLS) or neither")
                .with_param("client_key_path"));
        }
        self.index_settings().validate()
    }
}

#[cfg(test)]
mod tests {
    use lls_api_common::provider::parse_config;
    use serde_json::json;

    use super::*;

    #[test]
    fn upstream_config_parses_with_env_values() {
        let c: MilvusConfig = parse_config(&json!({
            "uri": "http://milvus.svc:19530", "token": "root:Milvus", "consistency_level": "Bounded",
            "persistence": {"namespace": "vector_io::milvus_remote", "backend": "kv_default"},
        }))
        .unwrap();
        assert_eq!(c.uri.as_deref(), Some("http://milvus.svc:19530"));
        assert_eq!(c.consistency_level, Consistency::Bounded);
        assert_eq!(c.connect_options().token.as_deref(), Some("root:Milvus"));
        assert_eq!((c.index_type, c.metric_type), (IndexKind::Flat, Metric::Cosine));
        // Unset env values: no token, Strong, not secure.
        let c: MilvusConfig =
            parse_config(&json!({"uri": "localhost:19530", "token": null, "consistency_level": "", "secure": "false"})).unwrap();
        assert_eq!((c.token, c.consistency_level, c.secure), (None, Consistency::Strong, false));
        let c: MilvusConfig = parse_config(&json!({
            "uri": "https://z.cloud", "secure": "True", "index_type": "HNSW", "metric_type": "L2",
            "index_params": {"M": 16, "efConstruction": 64}, "search_params": {"ef": 32}, "db_name": "rag", "timeout": 5,
        }))
        .unwrap();
        assert!(c.secure);
        let s = c.index_settings();
        assert_eq!((s.index_type, s.metric_type), (IndexKind::Hnsw, Metric::L2));
        assert_eq!(c.connect_options().db_name.as_deref(), Some("rag"));
        assert_eq!(c.connect_options().rpc_timeout, Duration::from_secs(5));
        assert!(!format!("{:?}", parse_config::<MilvusConfig>(&json!({"uri": "h:1", "token": "sekrit"})).unwrap()).contains("sekrit"));
    }

    #[test]
    fn bad_values_are_refused_with_their_field() {
        let param = |v: Value| parse_config::<MilvusConfig>(&v).unwrap_err().param().map(str::to_owned);
        assert_eq!(param(json!({})), Some("uri".into()));
        assert_eq!(param(json!({"uri": null})), Some("uri".into()));
        assert_eq!(param(json!({"uri": "./milvus.db"})), Some("uri".into()));
        assert_eq!(param(json!({"uri": "~/.llama/milvus.db"})), Some("uri".into()));
        assert_eq!(param(json!({"uri": "file://x"})), Some("uri".into()));
        assert_eq!(param(json!({"uri": "h:1", "timeout": 0})), Some("timeout".into()));
        assert_eq!(param(json!({"uri": "h:1", "client_pem_path": "/c.pem"})), Some("client_key_path".into()));
        assert_eq!(param(json!({"uri": "h:1", "index_params": {"M": [1]}})), Some("index_params".into()));
        for bad in [json!({"uri": "h:1", "consistency_level": "Sometimes"}), json!({"uri": "h:1", "metric_type": "HAMMING"}), json!({"uri": "h:1", "urls": "x"})] {
            let e = parse_config::<MilvusConfig>(&bad).unwrap_err();
            assert_eq!(e.kind(), lls_api_common::ErrorKind::InvalidRequest, "{bad}");
        }
    }
}
