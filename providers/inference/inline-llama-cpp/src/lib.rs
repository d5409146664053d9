//! `inline::llama-cpp`: GGUF chat models run in-process with llama.cpp.
#![doc = include_str!("../README.md")]

mod config;
mod engine;
mod generate;
pub mod grammar;
mod provider;
mod stops;
pub mod template;
pub mod tool_calls;

pub use config::{
    DEFAULT_CONTEXT_LENGTH, DEFAULT_MAX_CONCURRENT_SEQUENCES, DEFAULT_MAX_QUEUED_REQUESTS,
    DEFAULT_MAX_TOKENS, LlamaCppConfig, Load, id_from_file_name,
};
pub use provider::{INSTALL_HINT, LlamaCppProvider};

pub const PROVIDER_TYPE: &str = "inline::llama-cpp";

/// The run.yaml `config:` block `list-providers` and the docs show.
pub const SAMPLE_CONFIG: &str = "\
model: ${env.LLAMA_CPP_MODEL:=qwen2.5-coder-0.5b-instruct-q4_k_m.gguf}
model_id: ${env.LLAMA_CPP_MODEL_ID:=}
context_length: 4096
max_concurrent_sequences: 4
";

lls_api_inference::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "llama.cpp inference provider: GGUF chat models run in-process on the CPU.",
    sample_config: SAMPLE_CONFIG,
    config: LlamaCppConfig,
    build: LlamaCppProvider::build,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::{descriptors, parse_config};

    #[test]
    fn registered_once_for_inference() {
        let mine: Vec<_> = descriptors()
            .into_iter()
            .filter(|d| d.provider_type == PROVIDER_TYPE)
            .collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].api, lls_api_common::Api::Inference);
    }

    #[test]
    fn sample_config_expands_to_a_valid_config() {
        let c: LlamaCppConfig =
            parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None)).unwrap();
        assert_eq!(c.model_id(), "qwen2.5-coder-0.5b-instruct");
        assert_eq!(
            c.model.as_deref(),
            Some("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
        );
    }
}
