//! `inline::localfs`: uploaded files on the local disk, their metadata in a SQL store.
#![doc = include_str!("../README.md")]

mod config;
mod disk;
mod provider;

pub use config::{DEFAULT_MAX_FILE_SIZE_BYTES, DEFAULT_TTL_SECS, LocalFsConfig};
pub use lls_files_catalog::{Clock, MAX_LIST_LIMIT, SWEEP_INTERVAL};
pub use provider::LocalFsFiles;


pub const PROVIDER_TYPE: &str = "inline::localfs";

/// The run.yaml `config:` block `list-providers` and the docs show (upstream's, for the starter).
pub const SAMPLE_CONFIG: &str = "\
storage_dir: ${env.FILES_STORAGE_DIR:=~/.llama/distributions/starter/files}
metadata_store:
  table_name: files_metadata
  backend: sql_default
";

lls_api_files::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Local filesystem-based file storage provider for managing files and documents locally.",
    sample_config: SAMPLE_CONFIG,
    config: LocalFsConfig,
    build: LocalFsFiles::build,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::{descriptors, parse_config};

    #[test]
    fn registered_once_for_files() {
        let mine: Vec<_> = descriptors().into_iter().filter(|d| d.provider_type == PROVIDER_TYPE).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].api, lls_api_common::Api::Files);
        assert!(mine[0].api_dependencies.is_empty());
    }

    #[test]
    fn sample_config_expands_to_a_valid_config() {
        let c: LocalFsConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None)).unwrap();
        assert_eq!(c.storage_dir, "~/.llama/distributions/starter/files");
        assert_eq!((c.metadata_store.table_name.as_str(), c.metadata_store.backend.as_str()), ("files_metadata", "sql_default"));
        let env = |name: &str| (name == "FILES_STORAGE_DIR").then(|| "/srv/files".to_owned());
        let c: LocalFsConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!(c.storage_dir, "/srv/files");
    }
}
