//! [`OpenAiProvider`]: the inference API over [`OpenAiCompatClient`], with upstream's model
//! listing (known embedding models get their dimensions). `allowed_models` is the call layers'
//! job (the config's `policy()`), not this provider's.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{BuildContext, RequestContext, Result};
use lls_api_inference::{Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest};
use lls_api_inference::{EmbeddingsRequest, EmbeddingsResponse, Inference, InferenceProvider, Output};
use lls_api_models::ProviderModel;
use lls_openai_compat::{ClientConfig, OpenAiCompatClient};

use crate::OpenAiConfig;

/// The provider-data field whose value overrides the configured key.
pub const PROVIDER_DATA_KEY: &str = "openai_api_key";

/// OpenAI's embedding models: id, dimension. Every other listed model is an LLM.
const EMBEDDING_MODELS: &[(&str, u64)] =
    &[("text-embedding-3-small", 1536), ("text-embedding-3-large", 3072), ("text-embedding-ada-002", 1536)];
const EMBEDDING_CONTEXT_LENGTH: u64 = 8192;

/// `remote::openai`.
#[derive(Debug)]
pub struct OpenAiProvider {
    client: OpenAiCompatClient,
    refresh_models: bool,
}

impl OpenAiProvider {
    /// Builds the pooled client; no request is made.
    pub fn new(provider_id: &str, config: OpenAiConfig) -> Result<Self> {
        let mut client = ClientConfig::new(provider_id, &config.base_url).with_timeouts(&config.http);
        client.api_key = config.api_key;
        client.provider_data_key = Some(PROVIDER_DATA_KEY);
        Ok(OpenAiProvider { client: OpenAiCompatClient::new(client)?, refresh_models: config.refresh_models })
    }

    /// The registry's entry point.
    pub async fn build(ctx: BuildContext, config: OpenAiConfig) -> Result<Arc<dyn InferenceProvider>> {
        Ok(Arc::new(Self::new(&ctx.provider_id, config)?))
    }
}

/// How a listed model is registered: known embedding models with their metadata, others as LLMs.
fn classify(id: String) -> ProviderModel {
    match EMBEDDING_MODELS.iter().find(|(name, _)| *name == id) {
        Some((_, dimension)) => {
            let mut model = ProviderModel::embedding(id, *dimension);
            model.metadata.insert("context_length".into(), EMBEDDING_CONTEXT_LENGTH.into());
            model
        }
        None => ProviderModel::llm(id),
    }
}

#[async_trait]
impl Inference for OpenAiProvider {
    async fn chat_completion(
        &self,
        ctx: &RequestContext,
        request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        self.client.chat_completion(ctx, &request).await
    }

    async fn completion(&self, ctx: &RequestContext, request: CompletionRequest) -> Result<Output<Completion, Completion>> {
        self.client.completion(ctx, &request).await
    }

    async fn embeddings(&self, ctx: &RequestContext, request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        self.client.embeddings(ctx, &request).await
    }
}

#[async_trait]
impl InferenceProvider for OpenAiProvider {
    /// Empty without a configured key, as upstream skips such a provider.
    async fn list_models(&self) -> Result<Vec<ProviderModel>> {
        let ctx = RequestContext::default();
        if !self.client.has_api_key(&ctx) {
            return Ok(Vec::new());
        }
        Ok(self.client.list_models(&ctx).await?.into_iter().map(|m| classify(m.id)).collect())
    }

    fn refresh_models(&self) -> bool {
        self.refresh_models
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_models::ModelType;

    #[test]
    fn embedding_models_carry_their_metadata() {
        let m = classify("text-embedding-3-large".into());
        assert_eq!(m.model_type, ModelType::Embedding);
        assert_eq!(m.metadata["embedding_dimension"], 3072);
        assert_eq!(m.metadata["context_length"], 8192);
        assert_eq!(classify("gpt-4o".into()).model_type, ModelType::Llm);
    }
}
