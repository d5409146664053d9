//! `inline::sentence-transformers`: sentence-transformers embedding models run in-process.
#![doc = include_str!("../README.md")]

pub mod bert;
mod config;
pub mod encoder;
pub mod locate;
pub mod pipeline;
pub mod pooling;
mod provider;
mod token_input;

pub use config::{DEFAULT_BATCH_SIZE, DEFAULT_MODEL, MAX_BATCH_SIZE, SentenceTransformersConfig};
pub use encoder::{EncodeError, Encoder, Tokenized, plan_batches};
pub use locate::SearchPaths;
pub use provider::{INSTALL_HINT, SentenceTransformersProvider};


pub const PROVIDER_TYPE: &str = "inline::sentence-transformers";

/// The run.yaml `config:` block `list-providers` and the docs show (upstream's is empty;
/// every key is optional).
pub const SAMPLE_CONFIG: &str = "\
model: all-MiniLM-L6-v2
model_dir: ${env.SENTENCE_TRANSFORMERS_MODEL_DIR:=}
";

lls_api_inference::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Sentence Transformers inference provider for text embeddings and similarity search.",
    sample_config: SAMPLE_CONFIG,
    config: SentenceTransformersConfig,
    build: SentenceTransformersProvider::build,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::{descriptors, parse_config};

    #[test]
    fn registered_once_for_inference() {
        let mine: Vec<_> = descriptors().into_iter().filter(|d| d.provider_type == PROVIDER_TYPE).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].api, lls_api_common::Api::Inference);
    }

    #[test]
    fn sample_config_expands_to_a_valid_config() {
        let c: SentenceTransformersConfig =
            parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None)).unwrap();
        assert_eq!((c.model.as_str(), c.model_dir()), (DEFAULT_MODEL, None));
        let env = |name: &str| (name == "SENTENCE_TRANSFORMERS_MODEL_DIR").then(|| "/models/minilm".to_owned());
        let c: SentenceTransformersConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!(c.model_dir(), Some("/models/minilm"));
    }
}
