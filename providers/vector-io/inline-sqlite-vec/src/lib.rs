//! `inline::sqlite-vec`: vector and keyword search over one SQLite file, as a vector_io provider.
#![doc = include_str!("../README.md")]

mod config;
mod error;
mod extension;
mod provider;
mod schema;

pub use config::SqliteVecConfig;
pub use provider::{IN_MEMORY, SqliteVecProvider};


pub const PROVIDER_TYPE: &str = "inline::sqlite-vec";

/// The run.yaml `config:` block `list-providers` and the docs show.
pub const SAMPLE_CONFIG: &str = "\
db_path: ${env.SQLITE_STORE_DIR:=~/.llama/distributions/starter}/sqlite_vec.db
persistence:
  namespace: vector_io::sqlite_vec
  backend: kv_default
";

lls_api_vector_io::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "SQLite with the sqlite-vec extension: vector search (vec0, L2) and keyword search (FTS5, bm25) in one local file.",
    sample_config: SAMPLE_CONFIG,
    config: SqliteVecConfig,
    build: SqliteVecProvider::build,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::{descriptors, parse_config};

    #[test]
    fn registered_once_for_vector_io() {
        let mine: Vec<_> = descriptors().into_iter().filter(|d| d.provider_type == PROVIDER_TYPE).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].api, lls_api_common::Api::VectorIo);
    }

    #[test]
    fn sample_config_expands_to_a_valid_config() {
        let env = |name: &str| (name == "HOME").then(|| "/home/me".to_owned());
        let c: SqliteVecConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!(c.db_path, "/home/me/.llama/distributions/starter/sqlite_vec.db");
        assert_eq!(c.persistence.unwrap().backend, "kv_default");
    }
}
