//! `remote::pgvector`: vector and keyword search in PostgreSQL with pgvector, as a vector_io
//! provider.
#![doc = include_str!("../README.md")]

mod config;
mod index;
mod provider;
mod wire;

pub use config::{DistanceMetric, PgVectorConfig};
pub use index::HNSW_MAX_DIMENSION;
pub use provider::{MAX_DIMENSION, PgVectorProvider};

pub const PROVIDER_TYPE: &str = "remote::pgvector";

/// The run.yaml `config:` block `list-providers` and the docs show (the env names of the Red Hat
/// distribution).
pub const SAMPLE_CONFIG: &str = "\
host: ${env.PGVECTOR_HOST:=localhost}
port: ${env.PGVECTOR_PORT:=5432}
db: ${env.PGVECTOR_DB:=postgres}
user: ${env.PGVECTOR_USER:=postgres}
password: ${env.PGVECTOR_PASSWORD:=mysecretpassword}
persistence:
  namespace: vector_io::pgvector
  backend: kv_default
";

lls_api_vector_io::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "PostgreSQL with pgvector: one table per vector store, HNSW vector search (cosine, L2 or inner product) and full-text keyword search; shared by every server on the database.",
    sample_config: SAMPLE_CONFIG,
    config: PgVectorConfig,
    build: PgVectorProvider::build,
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
        let env = |name: &str| (name == "PGVECTOR_HOST").then(|| "pg.internal".to_owned());
        let c: PgVectorConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!((c.host.as_str(), c.port, c.db.as_str()), ("pg.internal", 5432, "postgres"));
        assert_eq!(c.persistence.unwrap().namespace, "vector_io::pgvector");
    }
}
