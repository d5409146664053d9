//! [`InferenceApi`]: the inference API's marker for typed registration and dependencies,
//! its `register_provider!`, and the wrapper that sends every provider call through the
//! registry's call layers.

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use lls_api_common::call::CallStack;
use lls_api_common::{Api, ApiSpec, HealthStatus, RequestContext, Result};
use lls_api_models::ProviderModel;

use crate::{
    Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest, EmbeddingsRequest,
    EmbeddingsResponse, Inference, InferenceProvider, Output,
};

/// The inference API: providers build `dyn InferenceProvider`; dependents get the router as
/// `dyn Inference`.
#[derive(Debug)]
pub struct InferenceApi;

impl ApiSpec for InferenceApi {
    const API: Api = Api::Inference;
    type Provider = dyn InferenceProvider;
    type Service = dyn Inference;

    fn layer(provider: Arc<dyn InferenceProvider>, calls: &CallStack) -> Arc<dyn InferenceProvider> {
        Arc::new(Layered { inner: provider, calls: calls.clone() })
    }

    fn health(provider: &dyn InferenceProvider) -> BoxFuture<'_, HealthStatus> {
        provider.health()
    }
}

/// Registers an inference provider; `build` must return `Arc<dyn InferenceProvider>`.
///
/// ```ignore
/// lls_api_inference::register_provider! {
///     provider_type: "remote::vllm",
///     description: "vLLM's OpenAI-compatible server",
///     sample_config: "url: ${env.VLLM_URL:=http://localhost:8000/v1}\n",
///     config: VllmConfig,
///     build: VllmProvider::build,
/// }
/// ```
#[macro_export]
macro_rules! register_provider {
    ($($body:tt)*) => {
        $crate::__common::__register_provider! { spec: $crate::InferenceApi, $($body)* }
    };
}

/// A provider behind its call layers.
struct Layered {
    inner: Arc<dyn InferenceProvider>,
    calls: CallStack,
}

#[async_trait]
impl Inference for Layered {
    async fn chat_completion(
        &self,
        ctx: &RequestContext,
        request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        let (inner, ctx) = (self.inner.clone(), ctx.clone());
        let model = request.model.clone();
        self.calls.once("chat_completion", Some(&model), async move { inner.chat_completion(&ctx, request).await }).await
    }

    async fn completion(&self, ctx: &RequestContext, request: CompletionRequest) -> Result<Output<Completion, Completion>> {
        let (inner, ctx) = (self.inner.clone(), ctx.clone());
        let model = request.model.clone();
        self.calls.once("completion", Some(&model), async move { inner.completion(&ctx, request).await }).await
    }

    async fn embeddings(&self, ctx: &RequestContext, request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        let model = request.model.clone();
        // Embeddings have no side effects: a retryable failure may be tried again.
        self.calls
            .repeatable("embeddings", Some(&model), || {
                let (inner, ctx, request) = (self.inner.clone(), ctx.clone(), request.clone());
                async move { inner.embeddings(&ctx, request).await }
            })
            .await
    }
}

#[async_trait]
impl InferenceProvider for Layered {
    async fn list_models(&self) -> Result<Vec<ProviderModel>> {
        self.calls
            .repeatable("list_models", None, || {
                let inner = self.inner.clone();
                async move { inner.list_models().await }
            })
            .await
    }

    fn refresh_models(&self) -> bool {
        self.inner.refresh_models()
    }

    fn capabilities(&self) -> crate::Capabilities {
        self.inner.capabilities()
    }

    async fn health(&self) -> HealthStatus {
        self.inner.health().await
    }
}
