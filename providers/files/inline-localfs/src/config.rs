//! `inline::localfs` config, as upstream 0.3.5 spells it in run.yaml (plus our upload size cap);
//! checked without I/O (the directory is created and the table opened when the provider is built).

use lls_api_common::store::SqlStoreRef;
use lls_api_common::{Error, ProviderConfig, Result};
use lls_files_catalog::check_catalog_settings;
use serde::{Deserialize, Serialize};

pub use lls_files_catalog::{DEFAULT_MAX_FILE_SIZE_BYTES, DEFAULT_TTL_SECS};

/// run.yaml `config:` of an `inline::localfs` files provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalFsConfig {
    /// Directory holding the uploaded bytes, one file per file id (`~/` is the home directory).
    pub storage_dir: String,
    /// The table of file metadata, inside a `sql_*` storage backend.
    pub metadata_store: SqlStoreRef,
    /// Lifetime of a file uploaded without `expires_after`, in seconds.
    #[serde(default = "default_ttl")]
    pub ttl_secs: i64,
    /// Uploads larger than this are refused with 413.
    #[serde(default = "default_max_size")]
    pub max_file_size_bytes: u64,
}

fn default_ttl() -> i64 {
    DEFAULT_TTL_SECS
}

fn default_max_size() -> u64 {
    DEFAULT_MAX_FILE_SIZE_BYTES
}

impl LocalFsConfig {
    /// Files under `storage_dir`, metadata in table `files_metadata` of backend `sql_backend`.
    pub fn new(storage_dir: impl Into<String>, sql_backend: impl Into<String>) -> Self {
        LocalFsConfig {
            storage_dir: storage_dir.into(),
            metadata_store: SqlStoreRef { backend: sql_backend.into(), table_name: "files_metadata".into() },
            ttl_secs: DEFAULT_TTL_SECS,
            max_file_size_bytes: DEFAULT_MAX_FILE_SIZE_BYTES,
        }
    }
}

impl ProviderConfig for LocalFsConfig {
    fn validate(&self) -> Result<()> {
        if self.storage_dir.trim().is_empty() {
            return Err(Error::invalid(
                "config.storage_dir: a directory for the uploaded files is required (e.g. ~/.llama/distributions/starter/files)",
            )
            .with_param("storage_dir"));
        }
        check_catalog_settings(&self.metadata_store, self.ttl_secs, self.max_file_size_bytes)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::parse_config;
    use serde_json::json;

    #[test]
    fn defaults_match_upstream() {
        let c: LocalFsConfig = parse_config(&json!({
            "storage_dir": "/tmp/files",
            "metadata_store": {"table_name": "files_metadata", "backend": "sql_default"}
        }))
        .unwrap();
        assert_eq!((c.ttl_secs, c.max_file_size_bytes), (31_536_000, 536_870_912));
        assert_eq!(c.metadata_store.backend, "sql_default");
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        let store = json!({"table_name": "files_metadata", "backend": "sql_default"});
        for bad in [
            json!({}),
            json!({"storage_dir": "/tmp/f"}),
            json!({"storage_dir": "", "metadata_store": store}),
            json!({"storage_dir": "/tmp/f", "metadata_store": store, "ttl_secs": 0}),
            json!({"storage_dir": "/tmp/f", "metadata_store": store, "max_file_size_bytes": 0}),
            json!({"storage_dir": "/tmp/f", "metadata_store": store, "max_file_size_bytes": -1}),
            json!({"storage_dir": "/tmp/f", "metadata_store": store, "ttl": 5}),
            json!({"storage_dir": "/tmp/f", "metadata_store": {"table_name": "x; drop", "backend": "sql_default"}}),
            json!({"storage_dir": "/tmp/f", "metadata_store": {"table_name": "t", "backend": ""}}),
            json!({"storage_dir": "/tmp/f", "metadata_store": {"table_name": "t"}}),
        ] {
            assert!(parse_config::<LocalFsConfig>(&bad).is_err(), "{bad}");
        }
        let err = parse_config::<LocalFsConfig>(&json!({"storage_dir": "/tmp/f", "metadata_store": store, "ttl_secs": 0})).unwrap_err();
        assert!(err.message().contains("config.ttl_secs"), "{}", err.message());
    }
}
