//! `remote::openai`: OpenAI, or any endpoint speaking its REST API, as an inference provider.
#![doc = include_str!("../README.md")]

mod config;
mod provider;

pub use config::{DEFAULT_BASE_URL, OpenAiConfig};
pub use provider::{OpenAiProvider, PROVIDER_DATA_KEY};


pub const PROVIDER_TYPE: &str = "remote::openai";

/// The run.yaml `config:` block `list-providers` and the docs show.
pub const SAMPLE_CONFIG: &str = "\
base_url: ${env.OPENAI_BASE_URL:=https://api.openai.com/v1}
api_key: ${env.OPENAI_API_KEY:=}
";

lls_api_inference::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "OpenAI inference provider for accessing GPT models and other OpenAI services.",
    sample_config: SAMPLE_CONFIG,
    config: OpenAiConfig,
    build: OpenAiProvider::build,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::{check_config, descriptors};

    #[test]
    fn registered_once_for_inference() {
        let mine: Vec<_> = descriptors().into_iter().filter(|d| d.provider_type == PROVIDER_TYPE).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].api, lls_api_common::Api::Inference);
    }

    #[test]
    fn sample_config_expands_to_a_valid_config() {
                let defaults = lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None);
        let shown = check_config::<OpenAiConfig>(&defaults).unwrap();
        assert_eq!(shown["base_url"], DEFAULT_BASE_URL);
        assert!(shown["api_key"].is_null());
        let env = |name: &str| (name == "OPENAI_API_KEY").then(|| "sk-1".to_owned());
        let shown = check_config::<OpenAiConfig>(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!(shown["api_key"], "********");
    }
}
