//! `remote::ollama`: an Ollama server's OpenAI-compatible API as an inference provider.
#![doc = include_str!("../README.md")]

mod config;
mod provider;

pub use config::{DEFAULT_URL, OllamaConfig};
pub use provider::{EMBEDDING_MODELS, HEALTH_TIMEOUT, NO_KEY, OllamaProvider};

pub const PROVIDER_TYPE: &str = "remote::ollama";

/// The run.yaml `config:` block `list-providers` and the docs show (0.3.5's).
pub const SAMPLE_CONFIG: &str = "\
url: ${env.OLLAMA_URL:=http://localhost:11434}
";

lls_api_inference::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Ollama inference provider for running local models through the Ollama runtime.",
    sample_config: SAMPLE_CONFIG,
    config: OllamaConfig,
    build: OllamaProvider::build,
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
        let c: OllamaConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None)).unwrap();
        assert_eq!(c.url, DEFAULT_URL);
        let env = |name: &str| (name == "OLLAMA_URL").then(|| "http://gpu:11434".to_owned());
        let c: OllamaConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!(c.url, "http://gpu:11434");
    }
}
