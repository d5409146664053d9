//! `inline::llama-guard` config: `excluded_categories` (codes `S1`–`S14`), checked when the
//! config is read (0.3.5 checks on every request and answers 500).

use lls_api_common::{Error, ProviderConfig, Result};
use serde::{Deserialize, Serialize};

use crate::categories::validate_excluded;

/// run.yaml `config:` of an `inline::llama-guard` provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlamaGuardConfig {
    /// Category codes left out of the prompt and ignored in verdicts.
    #[serde(default)]
    pub excluded_categories: Vec<String>,
}

impl ProviderConfig for LlamaGuardConfig {
    fn validate(&self) -> Result<()> {
        validate_excluded(&self.excluded_categories).map_err(|e| Error::invalid(format!("config.excluded_categories: {e}")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lls_api_common::provider::{check_config, parse_config};
    use serde_json::json;

    use super::*;

    #[test]
    fn excluded_categories_are_codes() {
        let c: LlamaGuardConfig = parse_config(&json!({"excluded_categories": ["S1", "S14"]})).unwrap();
        assert_eq!(c.excluded_categories, ["S1", "S14"]);
        let e = check_config::<LlamaGuardConfig>(&json!({"excluded_categories": ["s2"]})).unwrap_err();
        assert!(e.message().starts_with("config.excluded_categories: Invalid categories"), "{e}");
        assert!(check_config::<LlamaGuardConfig>(&json!({"excluded": []})).is_err());
    }
}
