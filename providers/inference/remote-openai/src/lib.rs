//! `remote::openai`: OpenAI, or any endpoint speaking its REST API, as an inference provider.
#![doc = include_str!("../README.md")]

mod config;
mod provider;

pub use config::{DEFAULT_BASE_URL, OpenAiConfig};
pub use provider::{OpenAiProvider, PROVIDER_DATA_KEY};

use lls_api_common::Api;

pub const PROVIDER_TYPE: &str = "remote::openai";

/// The run.yaml `config:` block `list-providers` and the docs show.
pub const SAMPLE_CONFIG: &str = "\
base_url: ${env.OPENAI_BASE_URL:=https://api.openai.com/v1}
api_key: ${env.OPENAI_API_KEY:=}
";

lls_api_common::register_provider! {
    api: Api::Inference,
    provider_type: PROVIDER_TYPE,
    description: "OpenAI inference provider for accessing GPT models and other OpenAI services.",
    sample_config: SAMPLE_CONFIG,
    config: OpenAiConfig,
    build: OpenAiProvider::build,
}
