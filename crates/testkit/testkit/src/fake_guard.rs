//! A Llama Guard model for safety tests: an in-process `Inference` whose chat completions are
//! the deterministic model's ([`lls_fake_model::responder`]), which answers Llama Guard prompts
//! with `safe` / `unsafe\n<code>` by keyword rules.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{Error, RequestContext, Result};
use lls_api_inference::{
    Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion,
    CompletionRequest, EmbeddingsRequest, EmbeddingsResponse, Inference, Output,
};

/// The model id shields name (any id works: the prompt, not the name, makes it a guard).
pub const MODEL: &str = "fake/fake-guard";

struct FakeGuard;

/// The fake guard as the inference API.
pub fn inference() -> Arc<dyn Inference> {
    Arc::new(FakeGuard)
}

#[async_trait]
impl Inference for FakeGuard {
    async fn chat_completion(
        &self,
        _: &RequestContext,
        request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        let completion = lls_fake_model::responder::chat(&request, "chatcmpl-guard", 0)?;
        Ok(Output::Complete(Answer::Typed(completion)))
    }

    async fn completion(
        &self,
        _: &RequestContext,
        _: CompletionRequest,
    ) -> Result<Output<Completion, Completion>> {
        Err(Error::invalid(
            "the fake guard serves chat completions only",
        ))
    }

    async fn embeddings(
        &self,
        _: &RequestContext,
        _: EmbeddingsRequest,
    ) -> Result<Answer<EmbeddingsResponse>> {
        Err(Error::invalid(
            "the fake guard serves chat completions only",
        ))
    }
}
