//! [`OllamaProvider`]: the inference API over [`OpenAiCompatClient`] on Ollama's `/v1`, with
//! upstream's embedding model table for listing and `/api/ps` as the health check.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::{BuildContext, HealthStatus, RequestContext, Result, Secret};
use lls_api_inference::{Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest};
use lls_api_inference::{EmbeddingsRequest, EmbeddingsResponse, Inference, InferenceProvider, Output};
use lls_api_models::ProviderModel;
use lls_openai_compat::{ClientConfig, OpenAiCompatClient};

use crate::OllamaConfig;

/// What upstream sends as the key; Ollama ignores it.
pub const NO_KEY: &str = "NO KEY REQUIRED";

/// How long a health check waits.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// Upstream's known embedding models: name, dimension, context length. Every other listed
/// model is an LLM (register an embedding model by hand with its `embedding_dimension`).
pub const EMBEDDING_MODELS: &[(&str, u64, u64)] = &[
    ("all-minilm:l6-v2", 384, 512),
    ("nomic-embed-text:latest", 768, 8192),
    ("nomic-embed-text:v1.5", 768, 8192),
    ("nomic-embed-text:137m-v1.5-fp16", 768, 8192),
];

/// `remote::ollama`.
#[derive(Debug)]
pub struct OllamaProvider {
    /// Based at `{url}/v1`.
    client: OpenAiCompatClient,
    /// The same pool, based at `{url}` (the native API).
    native: OpenAiCompatClient,
    refresh_models: bool,
}

impl OllamaProvider {
    /// Builds the pooled client; no request is made.
    pub fn new(provider_id: &str, config: OllamaConfig) -> Result<Self> {
        let root = config.url.trim_end_matches('/').to_owned();
        let mut client = ClientConfig::new(provider_id, format!("{root}/v1")).with_timeouts(&config.http);
        client.api_key = Some(Secret::new(NO_KEY));
        let client = OpenAiCompatClient::new(client)?;
        let native = client.with_base_url(&root)?;
        Ok(OllamaProvider { client, native, refresh_models: config.refresh_models })
    }

    /// The registry's entry point.
    pub async fn build(ctx: BuildContext, config: OllamaConfig) -> Result<Arc<dyn InferenceProvider>> {
        Ok(Arc::new(Self::new(&ctx.provider_id, config)?))
    }
}

/// How a listed model is registered: upstream's embedding models with their metadata, others as LLMs.
fn classify(id: String) -> ProviderModel {
    match EMBEDDING_MODELS.iter().find(|(name, _, _)| *name == id) {
        Some((_, dimension, context)) => {
            let mut model = ProviderModel::embedding(id, *dimension);
            model.metadata.insert("context_length".into(), (*context).into());
            model
        }
        None => ProviderModel::llm(id),
    }
}

#[async_trait]
impl Inference for OllamaProvider {
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
impl InferenceProvider for OllamaProvider {
    /// The pulled models (`GET /v1/models`, as upstream lists them; no key needed).
    async fn list_models(&self) -> Result<Vec<ProviderModel>> {
        let listed = self.client.list_models(&RequestContext::default()).await?;
        Ok(listed.into_iter().map(|m| classify(m.id)).collect())
    }

    fn refresh_models(&self) -> bool {
        self.refresh_models
    }

    /// `GET /api/ps` (what upstream's `ollama.ps()` calls) answers within [`HEALTH_TIMEOUT`].
    async fn health(&self) -> HealthStatus {
        let ctx = RequestContext::default();
        match tokio::time::timeout(HEALTH_TIMEOUT, self.native.get_json::<serde_json::Value>(&ctx, "api/ps")).await {
            Ok(Ok(_)) => HealthStatus::ok(),
            Ok(Err(e)) => HealthStatus::error(format!("Health check failed: {}", e.message())),
            Err(_) => HealthStatus::error(format!("Health check failed: no answer within {}s", HEALTH_TIMEOUT.as_secs())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_models::ModelType;

    #[test]
    fn upstream_embedding_models_carry_their_metadata() {
        let m = classify("all-minilm:l6-v2".into());
        assert_eq!(m.model_type, ModelType::Embedding);
        assert_eq!((m.metadata["embedding_dimension"].clone(), m.metadata["context_length"].clone()), (384.into(), 512.into()));
        assert_eq!(classify("nomic-embed-text:latest".into()).metadata["embedding_dimension"], 768);
        assert_eq!(classify("llama3.2:3b".into()).model_type, ModelType::Llm);
    }
}
