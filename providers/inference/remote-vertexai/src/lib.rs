//! `remote::vertexai`: Gemini on Google Vertex AI as an inference provider.
#![doc = include_str!("../README.md")]

mod adc;
mod config;
mod error;
mod provider;

pub use adc::{CLOUD_PLATFORM_SCOPE, DEFAULT_TOKEN_URI, JWT_BEARER_GRANT, METADATA_TOKEN_PATH};
pub use config::{DEFAULT_LOCATION, VertexAiConfig};
pub use provider::{MODELS, PROVIDER_DATA_LOCATION, PROVIDER_DATA_PROJECT, VertexAiProvider};

pub const PROVIDER_TYPE: &str = "remote::vertexai";

/// The run.yaml `config:` block `list-providers` and the docs show (0.3.5's).
pub const SAMPLE_CONFIG: &str = "\
project: ${env.VERTEX_AI_PROJECT:=}
location: ${env.VERTEX_AI_LOCATION:=us-central1}
";

lls_api_inference::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Google Vertex AI inference provider: Gemini models through Vertex AI's OpenAI-compatible endpoint, authenticated with Application Default Credentials.",
    sample_config: SAMPLE_CONFIG,
    config: VertexAiConfig,
    build: VertexAiProvider::build,
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
    fn sample_config_needs_the_project_and_takes_the_environment() {
        let unset = lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None);
        let e = check_config::<VertexAiConfig>(&unset).unwrap_err();
        assert!(e.message().contains("VERTEX_AI_PROJECT"), "{e}");
        let env = |name: &str| match name {
            "VERTEX_AI_PROJECT" => Some("my-project".to_owned()),
            "VERTEX_AI_LOCATION" => Some("europe-west4".to_owned()),
            _ => None,
        };
        let shown = check_config::<VertexAiConfig>(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!((shown["project"].as_str(), shown["location"].as_str()), (Some("my-project"), Some("europe-west4")));
        let only_project = |name: &str| (name == "VERTEX_AI_PROJECT").then(|| "p".to_owned());
        let shown = check_config::<VertexAiConfig>(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &only_project)).unwrap();
        assert_eq!(shown["location"], "us-central1");
    }
}
