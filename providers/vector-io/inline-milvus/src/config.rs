//! `inline::milvus` config, as upstream 0.3.5 spells it (`db_path`, `persistence`,
//! `consistency_level`), plus where the Milvus Lite executable is, how long it may take to start,
//! and the index and search settings `remote::milvus` has.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lls_api_common::store::KvStoreRef;
use lls_api_common::{Error, ProviderConfig, Result};
use lls_milvus::{Consistency, IndexKind, IndexSettings, Metric};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// run.yaml `config:` of an `inline::milvus` provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineMilvusConfig {
    /// Where Milvus Lite keeps its data: a directory (created when missing; `~` is the home
    /// directory). 0.3.5's Milvus Lite 2.x kept one file here; 3.x keeps a directory.
    #[serde(default, deserialize_with = "optional_path")]
    pub db_path: Option<PathBuf>,
    /// Accepted for run.yaml compatibility with 0.3.5; the stores live in Milvus Lite's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<KvStoreRef>,
    #[serde(default, deserialize_with = "lls_milvus::consistency_or_default")]
    pub consistency_level: Consistency,
    /// The `milvus-lite` executable; else `$LLS_MILVUS_LITE`, else `milvus-lite` on `PATH`.
    #[serde(default, deserialize_with = "optional_path", skip_serializing_if = "Option::is_none")]
    pub milvus_lite_command: Option<PathBuf>,
    /// Seconds Milvus Lite may take to start answering.
    #[serde(default = "default_startup_timeout")]
    pub startup_timeout: f64,
    #[serde(default)]
    pub index_type: IndexKind,
    #[serde(default)]
    pub metric_type: Metric,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub index_params: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub search_params: BTreeMap<String, Value>,
}

fn default_startup_timeout() -> f64 {
    60.0
}

fn optional_path<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<PathBuf>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(PathBuf::from(s))),
        other => Err(serde::de::Error::custom(format!("expected a path, got {other}"))),
    }
}

/// `~` and `~/…` relative to `$HOME`, as run.yaml paths are written.
pub(crate) fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

impl InlineMilvusConfig {
    /// A config keeping its data in `db_path`, defaults elsewhere.
    pub fn new(db_path: impl Into<PathBuf>) -> Self {
        InlineMilvusConfig {
            db_path: Some(db_path.into()),
            persistence: None,
            consistency_level: Consistency::Strong,
            milvus_lite_command: None,
            startup_timeout: default_startup_timeout(),
            index_type: IndexKind::default(),
            metric_type: Metric::default(),
            index_params: BTreeMap::new(),
            search_params: BTreeMap::new(),
        }
    }

    /// The data directory, `~` expanded.
    pub fn data_dir(&self) -> PathBuf {
        expand_home(self.db_path.as_deref().unwrap_or(Path::new("")))
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

impl ProviderConfig for InlineMilvusConfig {
    fn validate(&self) -> Result<()> {
        if self.db_path.is_none() {
            return Err(Error::invalid(
                "config.db_path: required (the directory Milvus Lite keeps its data in, e.g. ~/.llama/distributions/starter/milvus.db)",
            )
            .with_param("db_path"));
        }
        if !(self.startup_timeout.is_finite() && self.startup_timeout > 0.0 && self.startup_timeout <= 3_600.0) {
            return Err(Error::invalid("config.startup_timeout: must be a number of seconds above 0 (at most an hour)")
                .with_param("startup_timeout"));
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
    fn upstream_config_parses() {
        let c: InlineMilvusConfig = parse_config(&json!({
            "db_path": "~/.llama/distributions/starter/milvus.db",
            "persistence": {"namespace": "vector_io::milvus", "backend": "kv_default"},
        }))
        .unwrap();
        assert_eq!(c.consistency_level, Consistency::Strong);
        let home = PathBuf::from(std::env::var_os("HOME").unwrap());
        assert_eq!(c.data_dir(), home.join(".llama/distributions/starter/milvus.db"));
        let c: InlineMilvusConfig =
            parse_config(&json!({"db_path": "/data/m", "consistency_level": "Session", "milvus_lite_command": "/opt/v/bin/milvus-lite"}))
                .unwrap();
        assert_eq!(c.consistency_level, Consistency::Session);
        assert_eq!(c.data_dir(), PathBuf::from("/data/m"));
        assert_eq!(c.milvus_lite_command.as_deref(), Some(Path::new("/opt/v/bin/milvus-lite")));
    }

    #[test]
    fn bad_values_are_refused_with_their_field() {
        let param = |v: Value| parse_config::<InlineMilvusConfig>(&v).unwrap_err().param().map(str::to_owned);
        assert_eq!(param(json!({})), Some("db_path".into()));
        assert_eq!(param(json!({"db_path": ""})), Some("db_path".into()));
        assert_eq!(param(json!({"db_path": "/d", "startup_timeout": -1})), Some("startup_timeout".into()));
        assert!(parse_config::<InlineMilvusConfig>(&json!({"db_path": "/d", "uri": "x"})).is_err());
        assert!(parse_config::<InlineMilvusConfig>(&json!({"db_path": "/d", "consistency_level": "Never"})).is_err());
    }
}
