//! `inline::fake`'s config: the embedding length and extra model ids to serve.

use lls_api_common::{Error, ProviderConfig, Result};
use lls_fake_model::embedding::DEFAULT_DIMENSION;
use serde::{Deserialize, Serialize};

/// Config of the fake provider (`inline::fake`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeConfig {
    /// Length of the embeddings when a request names no `dimensions`.
    #[serde(default = "default_dimension")]
    pub embedding_dimension: u32,
    /// Extra model ids to serve besides `fake-llm` and `fake-embed`; a name containing `embed`
    /// is an embedding model.
    #[serde(default)]
    pub models: Vec<String>,
}

fn default_dimension() -> u32 {
    DEFAULT_DIMENSION as u32
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig { embedding_dimension: default_dimension(), models: Vec::new() }
    }
}

impl ProviderConfig for FakeConfig {
    fn validate(&self) -> Result<()> {
        if !(1..=65_536).contains(&self.embedding_dimension) {
            return Err(Error::invalid("config.embedding_dimension: must be between 1 and 65536"));
        }
        if let Some(m) = self.models.iter().find(|m| m.trim().is_empty()) {
            return Err(Error::invalid(format!("config.models: '{m}' is not a model id")));
        }
        Ok(())
    }
}
