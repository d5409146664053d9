//! `inline::milvus`: a Milvus Lite server that llama-stack-rs starts and stops itself, as a
//! vector_io provider (the Milvus code is `lls-milvus`, shared with `remote::milvus`).
#![doc = include_str!("../README.md")]

mod config;
mod provider;
mod server;

pub use config::InlineMilvusConfig;
pub use lls_milvus::{Consistency, IndexKind, Metric};
pub use provider::InlineMilvus;
pub use server::{EXECUTABLE, EXECUTABLE_ENV, INSTALL_HINT, MilvusLite, find_executable};

pub const PROVIDER_TYPE: &str = "inline::milvus";

/// The run.yaml `config:` block `list-providers` and the docs show (0.3.5's).
pub const SAMPLE_CONFIG: &str = "\
db_path: ${env.MILVUS_DB_PATH:=~/.llama/distributions/starter}/milvus.db
persistence:
  namespace: vector_io::milvus
  backend: kv_default
";

lls_api_vector_io::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Milvus Lite 3.2 (pip install milvus-lite==3.2.2 pymilvus==3.0.2) run by the server on a local directory: one collection per vector store, dense vector search and BM25 keyword search. One server per directory.",
    sample_config: SAMPLE_CONFIG,
    config: InlineMilvusConfig,
    build: InlineMilvus::build,
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
        let env = |name: &str| (name == "MILVUS_DB_PATH").then(|| "/srv/llama".to_owned());
        let c: InlineMilvusConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!(c.data_dir(), std::path::PathBuf::from("/srv/llama/milvus.db"));
        assert_eq!(c.persistence.unwrap().namespace, "vector_io::milvus");
    }
}
