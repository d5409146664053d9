//! `inline::sentence-transformers` config. Upstream 0.3.5 takes no keys at all (run.yaml gives
//! the provider no `config:`), so every key here is ours and optional; checked without I/O.

use lls_api_common::{Error, ProviderConfig, Result};
use serde::{Deserialize, Serialize};

/// The model served when the config names none.
pub const DEFAULT_MODEL: &str = "all-MiniLM-L6-v2";

/// Sentences per forward pass, as sentence-transformers' `encode` batches by default.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// The largest `batch_size` accepted: bigger batches only add memory (the attention scores of
/// one batch are `batch × heads × length²` floats).
pub const MAX_BATCH_SIZE: usize = 1024;

/// run.yaml `config:` of an `inline::sentence-transformers` provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentenceTransformersConfig {
    /// The embedding model this provider lists (as `<provider_id>/<model>`), by its
    /// sentence-transformers name; `sentence-transformers/<model>` names it too.
    #[serde(default = "default_model")]
    pub model: String,
    /// A directory holding `model`'s files (`model.safetensors`, `tokenizer.json`,
    /// `config.json`, `modules.json`, ...); searched before anything else. Empty means unset.
    #[serde(default)]
    pub model_dir: Option<String>,
    /// More directories searched for `<name>/` (and `<org>/<name>/`), before
    /// `$LLS_MODELS_DIR` and the Hugging Face cache.
    #[serde(default)]
    pub model_search_paths: Vec<String>,
    /// Sentences per forward pass. Inputs are sorted by length first, so a batch holds
    /// sentences of similar length and little padding.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
}

fn default_model() -> String {
    DEFAULT_MODEL.to_owned()
}

fn default_batch_size() -> usize {
    DEFAULT_BATCH_SIZE
}

impl Default for SentenceTransformersConfig {
    fn default() -> Self {
        SentenceTransformersConfig {
            model: default_model(),
            model_dir: None,
            model_search_paths: Vec::new(),
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

impl SentenceTransformersConfig {
    /// `model_dir`, unless unset or empty (what `${env.X:=}` expands to).
    pub fn model_dir(&self) -> Option<&str> {
        self.model_dir.as_deref().filter(|d| !d.is_empty())
    }
}

impl ProviderConfig for SentenceTransformersConfig {
    fn validate(&self) -> Result<()> {
        if !crate::locate::is_valid_name(&self.model) {
            return Err(Error::invalid(format!(
                "config.model: '{}' is not a model name (letters, digits, '-', '_', '.', and at most one '/')",
                self.model
            ))
            .with_param("model"));
        }
        if self.batch_size == 0 || self.batch_size > MAX_BATCH_SIZE {
            return Err(Error::invalid(format!(
                "config.batch_size: must be between 1 and {MAX_BATCH_SIZE}, not {}",
                self.batch_size
            ))
            .with_param("batch_size"));
        }
        if self.model_search_paths.iter().any(String::is_empty) {
            return Err(Error::invalid("config.model_search_paths: an entry is empty").with_param("model_search_paths"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::parse_config;
    use serde_json::json;

    #[test]
    fn upstream_config_is_empty_and_everything_defaults() {
        // Upstream's run.yaml gives this provider no `config:` at all.
        let c: SentenceTransformersConfig = parse_config(&serde_json::Value::Null).unwrap();
        assert_eq!(c, SentenceTransformersConfig::default());
        let c: SentenceTransformersConfig = parse_config(&json!({})).unwrap();
        assert_eq!((c.model.as_str(), c.batch_size, c.model_dir()), (DEFAULT_MODEL, 32, None));
    }

    #[test]
    fn our_keys_parse_and_empty_model_dir_is_unset() {
        let c: SentenceTransformersConfig = parse_config(&json!({
            "model": "sentence-transformers/all-MiniLM-L6-v2", "model_dir": "/m", "model_search_paths": ["/a", "/b"], "batch_size": 8
        }))
        .unwrap();
        assert_eq!((c.model_dir(), c.model_search_paths.len(), c.batch_size), (Some("/m"), 2, 8));
        let c: SentenceTransformersConfig = parse_config(&json!({"model_dir": ""})).unwrap();
        assert_eq!(c.model_dir(), None);
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for bad in [
            json!({"batch_size": 0}),
            json!({"batch_size": 100000}),
            json!({"model": ""}),
            json!({"model": "../etc"}),
            json!({"model": "a/b/c"}),
            json!({"model_search_paths": [""]}),
            json!({"modle": "x"}),
        ] {
            assert!(parse_config::<SentenceTransformersConfig>(&bad).is_err(), "{bad}");
        }
    }
}
