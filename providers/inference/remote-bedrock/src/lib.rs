//! `remote::bedrock`: Amazon Bedrock as an inference provider.
#![doc = include_str!("../README.md")]

mod config;
mod converse;
mod credentials;
mod error;
mod eventstream;
mod models;
mod provider;

pub use config::{BedrockConfig, DEFAULT_REGION, RetryMode};
pub use credentials::{ACCESS_KEY_FIELD, EnvLookup, SECRET_KEY_FIELD, SESSION_TOKEN_FIELD, process_env};
pub use provider::{BedrockProvider, SIGNING_NAME};

pub const PROVIDER_TYPE: &str = "remote::bedrock";

/// The run.yaml `config:` block `list-providers` and the docs show: the `AWS_*` variables 0.3.5
/// reads (unset ones are also read from the process environment when the provider is built).
pub const SAMPLE_CONFIG: &str = "\
aws_access_key_id: ${env.AWS_ACCESS_KEY_ID:=}
aws_secret_access_key: ${env.AWS_SECRET_ACCESS_KEY:=}
aws_session_token: ${env.AWS_SESSION_TOKEN:=}
region_name: ${env.AWS_DEFAULT_REGION:=}
";

lls_api_inference::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Amazon Bedrock inference provider: chat through the Converse API (streamed, with tools) and Titan/Cohere embeddings, SigV4-signed with AWS credentials.",
    sample_config: SAMPLE_CONFIG,
    config: BedrockConfig,
    build: BedrockProvider::build,
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
        let shown = check_config::<BedrockConfig>(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None)).unwrap();
        assert!(shown["aws_access_key_id"].is_null() && shown["region_name"].is_null());
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKID".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret".to_owned()),
            "AWS_DEFAULT_REGION" => Some("eu-west-1".to_owned()),
            _ => None,
        };
        let shown = check_config::<BedrockConfig>(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!((shown["aws_access_key_id"].as_str(), shown["aws_secret_access_key"].as_str()), (Some("AKID"), Some("********")));
        assert_eq!(shown["region_name"], "eu-west-1");
    }
}
