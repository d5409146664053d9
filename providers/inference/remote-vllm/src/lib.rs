//! `remote::vllm`: a vLLM server's OpenAI-compatible API as an inference provider.
#![doc = include_str!("../README.md")]

mod config;
mod provider;

pub use config::{DEFAULT_MAX_TOKENS, VllmConfig};
pub use provider::{HEALTH_TIMEOUT, NO_KEY, PROVIDER_DATA_KEY, VllmProvider};


pub const PROVIDER_TYPE: &str = "remote::vllm";

/// The run.yaml `config:` block `list-providers` and the docs show.
pub const SAMPLE_CONFIG: &str = "\
url: ${env.VLLM_URL:=http://localhost:8000/v1}
max_tokens: ${env.VLLM_MAX_TOKENS:=4096}
api_token: ${env.VLLM_API_TOKEN:=fake}
tls_verify: ${env.VLLM_TLS_VERIFY:=true}
";

lls_api_inference::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Remote vLLM inference provider for connecting to vLLM servers.",
    sample_config: SAMPLE_CONFIG,
    config: VllmConfig,
    build: VllmProvider::build,
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
                let c: VllmConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None)).unwrap();
        assert_eq!(c.url.as_deref(), Some("http://localhost:8000/v1"));
        assert_eq!((c.max_tokens, c.api_token.unwrap().expose()), (4096, "fake"));
        assert_eq!(c.tls_verify, lls_openai_compat::TlsVerify::Enabled(true));
        // Env coercion turns a numeric token into an integer and "false" into a boolean.
        let env = |name: &str| match name {
            "VLLM_API_TOKEN" => Some("1234".to_owned()),
            "VLLM_TLS_VERIFY" => Some("false".to_owned()),
            _ => None,
        };
        let c: VllmConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!(c.api_token.unwrap().expose(), "1234");
        assert_eq!(c.tls_verify, lls_openai_compat::TlsVerify::Enabled(false));
    }
}
