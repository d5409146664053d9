//! `remote::vllm`: a vLLM server's OpenAI-compatible API as an inference provider.
#![doc = include_str!("../README.md")]

mod config;
mod provider;

pub use config::{DEFAULT_MAX_TOKENS, VllmConfig};
pub use provider::{HEALTH_TIMEOUT, NO_KEY, PROVIDER_DATA_KEY, VllmProvider};

use lls_api_common::Api;

pub const PROVIDER_TYPE: &str = "remote::vllm";

/// The run.yaml `config:` block `list-providers` and the docs show.
pub const SAMPLE_CONFIG: &str = "\
url: ${env.VLLM_URL:=http://localhost:8000/v1}
max_tokens: ${env.VLLM_MAX_TOKENS:=4096}
api_token: ${env.VLLM_API_TOKEN:=fake}
tls_verify: ${env.VLLM_TLS_VERIFY:=true}
";

lls_api_common::register_provider! {
    api: Api::Inference,
    provider_type: PROVIDER_TYPE,
    description: "Remote vLLM inference provider for connecting to vLLM servers.",
    sample_config: SAMPLE_CONFIG,
    config: VllmConfig,
    build: VllmProvider::build,
}
