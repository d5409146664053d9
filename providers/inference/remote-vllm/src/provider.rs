//! [`VllmProvider`]: the inference API over [`OpenAiCompatClient`], filling the configured
//! `max_tokens` and sending "NO KEY REQUIRED" when no token is configured, as upstream does.
//! `allowed_models` is the call layers' job (the config's `policy()`), not this provider's.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::{BuildContext, Error, HealthStatus, RequestContext, Result, Secret};
use lls_api_inference::{Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest};
use lls_api_inference::{EmbeddingsRequest, EmbeddingsResponse, Inference, InferenceProvider, Output};
use lls_api_models::ProviderModel;
use lls_openai_compat::{ClientConfig, OpenAiCompatClient};

use crate::VllmConfig;

/// The provider-data field whose value overrides the configured token.
pub const PROVIDER_DATA_KEY: &str = "vllm_api_token";

/// What upstream sends when no token is configured; vLLM without `--api-key` ignores it.
pub const NO_KEY: &str = "NO KEY REQUIRED";

/// How long a health check waits: a hung server must not hang `/v1/providers`.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// `remote::vllm`.
#[derive(Debug)]
pub struct VllmProvider {
    client: OpenAiCompatClient,
    max_tokens: u32,
    refresh_models: bool,
}

impl VllmProvider {
    /// Builds the pooled client (reading a CA bundle if one is configured); no request is made.
    pub fn new(provider_id: &str, config: VllmConfig) -> Result<Self> {
        let url = config
            .url
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Error::invalid(format!("provider {provider_id}: config.url is required")))?;
        let mut client = ClientConfig::new(provider_id, url).with_timeouts(&config.http);
        client.api_key = Some(config.api_token.filter(|t| !t.expose().is_empty()).unwrap_or_else(|| Secret::new(NO_KEY)));
        client.provider_data_key = Some(PROVIDER_DATA_KEY);
        client.tls_verify = config.tls_verify;
        Ok(VllmProvider {
            client: OpenAiCompatClient::new(client)?,
            max_tokens: config.max_tokens,
            refresh_models: config.refresh_models,
        })
    }

    /// The registry's entry point.
    pub async fn build(ctx: BuildContext, config: VllmConfig) -> Result<Arc<dyn InferenceProvider>> {
        Ok(Arc::new(Self::new(&ctx.provider_id, config)?))
    }
}

#[async_trait]
impl Inference for VllmProvider {
    async fn chat_completion(
        &self,
        ctx: &RequestContext,
        mut request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        if request.max_tokens.is_none() && request.max_completion_tokens.is_none() {
            request.max_tokens = Some(self.max_tokens);
        }
        self.client.chat_completion(ctx, &request).await
    }

    async fn completion(&self, ctx: &RequestContext, mut request: CompletionRequest) -> Result<Output<Completion, Completion>> {
        if request.max_tokens.is_none() && !request.extra.contains_key("max_completion_tokens") {
            request.max_tokens = Some(self.max_tokens);
        }
        self.client.completion(ctx, &request).await
    }

    async fn embeddings(&self, ctx: &RequestContext, request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        self.client.embeddings(ctx, &request).await
    }
}

#[async_trait]
impl InferenceProvider for VllmProvider {
    /// Every served model, as an LLM (vLLM does not say which models embed).
    async fn list_models(&self) -> Result<Vec<ProviderModel>> {
        let listed = self.client.list_models(&RequestContext::default()).await?;
        Ok(listed.into_iter().map(|m| ProviderModel::llm(m.id)).collect())
    }

    fn refresh_models(&self) -> bool {
        self.refresh_models
    }

    /// `GET {url}/models` answers within [`HEALTH_TIMEOUT`]: OK; anything else: Error with the reason.
    async fn health(&self) -> HealthStatus {
        let ctx = RequestContext::default();
        match tokio::time::timeout(HEALTH_TIMEOUT, self.client.list_models(&ctx)).await {
            Ok(Ok(_)) => HealthStatus::ok(),
            Ok(Err(e)) => HealthStatus::error(format!("Health check failed: {}", e.message())),
            Err(_) => HealthStatus::error(format!("Health check failed: no answer within {}s", HEALTH_TIMEOUT.as_secs())),
        }
    }
}
