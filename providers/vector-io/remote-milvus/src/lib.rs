//! `remote::milvus`: vector and BM25 keyword search in a Milvus server, as a vector_io provider.
#![doc = include_str!("../README.md")]

mod config;

use std::sync::Arc;

use lls_api_common::{BuildContext, Result};
use lls_api_vector_io::VectorIo;
use lls_milvus::MilvusIndex;

pub use config::MilvusConfig;
pub use lls_milvus::{Consistency, IndexKind, Metric};

pub const PROVIDER_TYPE: &str = "remote::milvus";

/// The run.yaml `config:` block `list-providers` and the docs show (the env names of 0.3.5 and
/// the Red Hat distribution).
pub const SAMPLE_CONFIG: &str = "\
uri: ${env.MILVUS_ENDPOINT}
token: ${env.MILVUS_TOKEN:=}
consistency_level: ${env.MILVUS_CONSISTENCY_LEVEL:=Strong}
persistence:
  namespace: vector_io::milvus_remote
  backend: kv_default
";

/// Connects to the configured server (a server that cannot be reached fails the start with a
/// 503-kind error naming the address).
pub async fn build(_ctx: BuildContext, config: MilvusConfig) -> Result<Arc<dyn VectorIo>> {
    Ok(Arc::new(MilvusIndex::connect(PROVIDER_TYPE, &config.connect_options(), config.index_settings()).await?))
}

/// The provider as its own type, for callers that want the filtered searches
/// ([`MilvusIndex::query_vector_filtered`]) besides the `VectorIo` trait.
pub async fn connect(config: &MilvusConfig) -> Result<MilvusIndex> {
    MilvusIndex::connect(PROVIDER_TYPE, &config.connect_options(), config.index_settings()).await
}

lls_api_vector_io::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "A Milvus server: one collection per vector store, dense vector search (FLAT, HNSW, IVF…; cosine, L2 or inner product), Milvus's BM25 full-text keyword search; shared by every server on the same Milvus.",
    sample_config: SAMPLE_CONFIG,
    config: MilvusConfig,
    build: build,
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
        let env = |name: &str| (name == "MILVUS_ENDPOINT").then(|| "http://milvus.svc:19530".to_owned());
        let c: MilvusConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!(c.uri.as_deref(), Some("http://milvus.svc:19530"));
        assert_eq!((c.token, c.consistency_level), (None, Consistency::Strong));
        assert_eq!(c.persistence.unwrap().namespace, "vector_io::milvus_remote");
    }
}
