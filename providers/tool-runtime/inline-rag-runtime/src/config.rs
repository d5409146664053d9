//! `inline::rag-runtime` config: empty, as upstream's (`config: {}`); unknown keys are refused
//! so a typo is not silently ignored.

use lls_api_common::ProviderConfig;
use serde::{Deserialize, Serialize};

/// run.yaml `config:` of an `inline::rag-runtime` provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RagRuntimeConfig {}

impl ProviderConfig for RagRuntimeConfig {}

#[cfg(test)]
mod tests {
    use lls_api_common::provider::{check_config, parse_config};
    use serde_json::json;

    use super::*;

    #[test]
    fn empty_config_is_upstreams_and_unknown_keys_are_refused() {
        assert_eq!(parse_config::<RagRuntimeConfig>(&json!({})).unwrap(), RagRuntimeConfig::default());
        assert_eq!(parse_config::<RagRuntimeConfig>(&serde_json::Value::Null).unwrap(), RagRuntimeConfig::default());
        let e = check_config::<RagRuntimeConfig>(&json!({ "chunk_size": 3 })).unwrap_err();
        assert!(e.message().contains("chunk_size"), "{e}");
    }
}
