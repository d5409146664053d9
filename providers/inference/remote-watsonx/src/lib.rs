//! `remote::watsonx`: IBM watsonx.ai as an inference provider.
#![doc = include_str!("../README.md")]

mod config;
mod error;
mod iam;
mod provider;
mod wire;

pub use config::{DEFAULT_API_VERSION, DEFAULT_IAM_URL, DEFAULT_URL, WatsonxConfig};
pub use error::KEY_FIELD;
pub use iam::APIKEY_GRANT_TYPE;
pub use provider::{PROJECT_FIELD, WatsonxProvider};

pub const PROVIDER_TYPE: &str = "remote::watsonx";

/// The run.yaml `config:` block `list-providers` and the docs show (0.3.5's sample).
pub const SAMPLE_CONFIG: &str = "\
url: ${env.WATSONX_BASE_URL:=https://us-south.ml.cloud.ibm.com}
api_key: ${env.WATSONX_API_KEY:=}
project_id: ${env.WATSONX_PROJECT_ID:=}
";

lls_api_inference::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "IBM watsonx.ai inference provider: foundation models for chat, text generation and embeddings, with IBM Cloud IAM API keys.",
    sample_config: SAMPLE_CONFIG,
    config: WatsonxConfig,
    build: WatsonxProvider::build,
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
        let shown = check_config::<WatsonxConfig>(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None)).unwrap();
        assert_eq!(shown["url"], DEFAULT_URL);
        assert!(shown["api_key"].is_null() && shown["project_id"].is_null());
        let env = |name: &str| match name {
            "WATSONX_API_KEY" => Some("k".to_owned()),
            "WATSONX_PROJECT_ID" => Some("p".to_owned()),
            "WATSONX_BASE_URL" => Some("https://eu-de.ml.cloud.ibm.com".to_owned()),
            _ => None,
        };
        let shown = check_config::<WatsonxConfig>(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!((shown["api_key"].as_str(), shown["project_id"].as_str()), (Some("********"), Some("p")));
        assert_eq!(shown["url"], "https://eu-de.ml.cloud.ibm.com");
    }
}
