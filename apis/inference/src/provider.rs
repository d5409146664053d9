//! The traits: [`Inference`] is what clients call (the router implements it, and vector stores
//! or agents depend on it); [`InferenceProvider`] adds what the model registry needs.

use async_trait::async_trait;
use futures::stream::BoxStream;
use lls_api_common::{HealthStatus, RequestContext, Result};
use lls_api_models::ProviderModel;

use crate::{Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest};
use crate::{Capabilities, EmbeddingsRequest, EmbeddingsResponse};

/// A stream of chunks; an `Err` item ends it.
pub type ChunkStream<T> = BoxStream<'static, Result<T>>;

/// A whole answer, or a stream of chunks when the request asked for `stream: true`; either
/// typed or as the backend's JSON ([`Answer`]).
// A whole answer is moved once or twice per request; boxing it would cost an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Output<T, C> {
    Complete(Answer<T>),
    Stream(ChunkStream<Answer<C>>),
}

impl<T: std::fmt::Debug, C> std::fmt::Debug for Output<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Complete(t) => f.debug_tuple("Complete").field(t).finish(),
            Output::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// OpenAI-compatible inference. `model` in each request is the provider's own model id
/// when a provider is called, and the client's model id when the router is called.
#[async_trait]
pub trait Inference: Send + Sync {
    async fn chat_completion(
        &self,
        ctx: &RequestContext,
        request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>>;

    async fn completion(
        &self,
        ctx: &RequestContext,
        request: CompletionRequest,
    ) -> Result<Output<Completion, Completion>>;

    async fn embeddings(&self, ctx: &RequestContext, request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>>;
}

/// An inference provider: [`Inference`] plus model discovery and health.
#[async_trait]
pub trait InferenceProvider: Inference {
    /// The models the backend serves; an empty list when it cannot tell (e.g. no API key).
    async fn list_models(&self) -> Result<Vec<ProviderModel>>;

    /// Whether the model list should be refreshed periodically (`refresh_models` in config).
    fn refresh_models(&self) -> bool {
        false
    }

    /// What the provider can do. The router refuses requests needing more with a 400 before
    /// calling it, and the conformance suite runs the scenarios these allow. The default is
    /// everything (an OpenAI-compatible backend); providers that do less say so.
    fn capabilities(&self) -> Capabilities {
        Capabilities::all()
    }

    async fn health(&self) -> HealthStatus {
        HealthStatus::not_implemented()
    }
}
