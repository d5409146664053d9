//! `inline::llama-guard`: shields judged by a Llama Guard model served through the inference
//! API (the shield's `provider_resource_id` is the model), with 0.3.5's prompt, categories and
//! verdict rules.
#![doc = include_str!("../README.md")]

mod categories;
mod config;
mod error;
mod prompt;
mod provider;
mod verdict;

pub use config::LlamaGuardConfig;
pub use error::GuardError;
pub use provider::LlamaGuard;

pub const PROVIDER_TYPE: &str = "inline::llama-guard";

/// The run.yaml `config:` block `list-providers` and the docs show (upstream's sample).
pub const SAMPLE_CONFIG: &str = "excluded_categories: []\n";

lls_api_safety::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Llama Guard shields: a Llama Guard model served by the inference API judges conversations (categories S1-S14).",
    sample_config: SAMPLE_CONFIG,
    config: LlamaGuardConfig,
    deps: [lls_api_inference::InferenceApi],
    build: LlamaGuard::build,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lls_api_common::provider::{descriptors, parse_config};

    #[test]
    fn registered_once_for_safety_with_inference() {
        let mine: Vec<_> = descriptors().into_iter().filter(|d| d.provider_type == PROVIDER_TYPE).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].api, lls_api_common::Api::Safety);
        assert_eq!(mine[0].api_dependencies, [lls_api_common::Api::Inference]);
    }

    #[test]
    fn sample_config_expands_to_a_valid_config() {
        let c: LlamaGuardConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None)).unwrap();
        assert_eq!(c, LlamaGuardConfig::default());
    }
}
