//! `inline::sqlite-vec` config, as upstream 0.3.5 spells it in run.yaml; checked without I/O.

use lls_api_common::store::KvStoreRef;
use lls_api_common::{Error, ProviderConfig, Result};
use serde::{Deserialize, Serialize};

/// run.yaml `config:` of an `inline::sqlite-vec` provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteVecConfig {
    /// The SQLite file holding every vector store of this provider (created with its parent
    /// directories; `~` is the home directory; `:memory:` keeps everything in memory). Required.
    pub db_path: String,
    /// Accepted for run.yaml compatibility with 0.3.5, which kept its store registry there; this
    /// provider keeps the registry inside `db_path`, next to the chunks, so both stay consistent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<KvStoreRef>,
}

impl SqliteVecConfig {
    /// A config for the database at `db_path`.
    pub fn new(db_path: impl Into<String>) -> Self {
        SqliteVecConfig { db_path: db_path.into(), persistence: None }
    }
}

impl ProviderConfig for SqliteVecConfig {
    fn validate(&self) -> Result<()> {
        if self.db_path.trim().is_empty() {
            return Err(Error::invalid("config.db_path: the path of the SQLite file is required").with_param("db_path"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::parse_config;
    use serde_json::json;

    #[test]
    fn upstream_config_with_persistence_parses() {
        let c: SqliteVecConfig = parse_config(&json!({
            "db_path": "/tmp/x/sqlite_vec.db",
            "persistence": {"namespace": "vector_io::sqlite_vec", "backend": "kv_default"},
        }))
        .unwrap();
        assert_eq!(c.db_path, "/tmp/x/sqlite_vec.db");
        assert_eq!(c.persistence.unwrap().namespace, "vector_io::sqlite_vec");
    }

    #[test]
    fn db_path_is_required_and_unknown_fields_are_refused() {
        let e = parse_config::<SqliteVecConfig>(&json!({})).unwrap_err();
        assert!(e.message().contains("db_path"), "{e}");
        let e = parse_config::<SqliteVecConfig>(&json!({"db_path": "  "})).unwrap_err();
        assert_eq!(e.param(), Some("db_path"));
        let e = parse_config::<SqliteVecConfig>(&json!({"db_path": "a.db", "kvstore": {}})).unwrap_err();
        assert!(e.message().contains("kvstore"), "{e}");
    }
}
