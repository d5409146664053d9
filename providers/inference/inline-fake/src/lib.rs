#![doc = include_str!("../README.md")]

use std::sync::Arc;

use lls_api_common::{BuildContext, Result};
use lls_api_inference::InferenceProvider;

mod config;
mod fake;

pub use config::FakeConfig;
pub use fake::{FAKE_EMBEDDING, FAKE_LLM, FakeInference};

/// How run.yaml names this provider.
pub const PROVIDER_TYPE: &str = "inline::fake";

/// Builds the fake; it needs nothing but its config, and names itself by its `provider_id`.
pub async fn build(ctx: BuildContext, config: FakeConfig) -> Result<Arc<dyn InferenceProvider>> {
    Ok(Arc::new(FakeInference::new(config).with_provider_id(ctx.provider_id)))
}

lls_api_inference::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Deterministic fake inference whose behaviour follows the model id (tests, demos)",
    sample_config: "embedding_dimension: 384\nmodels: []\n",
    config: FakeConfig,
    build: build,
}
