//! `remote::azure`: Azure OpenAI deployments as an inference provider.
#![doc = include_str!("../README.md")]

mod config;
mod error;
mod provider;

pub use config::{ApiVersion, AzureConfig};
pub use error::CONTENT_FILTER;
pub use provider::{AzureProvider, PROVIDER_DATA_BASE, PROVIDER_DATA_KEY, PROVIDER_DATA_VERSION};

pub const PROVIDER_TYPE: &str = "remote::azure";

/// The run.yaml `config:` block `list-providers` and the docs show (0.3.5's).
pub const SAMPLE_CONFIG: &str = "\
api_key: ${env.AZURE_API_KEY:=}
api_base: ${env.AZURE_API_BASE:=}
api_version: ${env.AZURE_API_VERSION:=}
api_type: ${env.AZURE_API_TYPE:=}
";

lls_api_inference::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Azure OpenAI inference provider for accessing GPT models and other Azure services.",
    sample_config: SAMPLE_CONFIG,
    config: AzureConfig,
    build: AzureProvider::build,
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
    fn sample_config_needs_the_endpoint_and_takes_the_environment() {
        let unset = lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None);
        let e = check_config::<AzureConfig>(&unset).unwrap_err();
        assert!(e.message().contains("AZURE_API_BASE"), "{e}");
        let env = |name: &str| match name {
            "AZURE_API_KEY" => Some("k".to_owned()),
            "AZURE_API_BASE" => Some("https://r.openai.azure.com".to_owned()),
            "AZURE_API_VERSION" => Some("2024-10-21".to_owned()),
            "AZURE_API_TYPE" => Some("azure".to_owned()),
            _ => None,
        };
        let shown = check_config::<AzureConfig>(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!((shown["api_key"].as_str(), shown["api_version"].as_str()), (Some("********"), Some("2024-10-21")));
    }
}
