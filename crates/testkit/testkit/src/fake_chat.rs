//! A chat model for tests of what sits above inference (agents, guardrails): an in-process
//! `Inference` answering as the deterministic model ([`lls_fake_model::responder`]) does,
//! streaming when asked, and failing as failure-injection model names say (`error-<status>`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use lls_api_common::{Error, RequestContext, Result};
use lls_api_inference::{
    Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion,
    CompletionRequest, EmbeddingsRequest, EmbeddingsResponse, Inference, Output,
};
use lls_fake_model::failure::{Failure, status_error};
use lls_fake_model::responder;

struct FakeChat {
    next_id: AtomicU64,
}

/// The fake chat model as the inference API.
pub fn inference() -> Arc<dyn Inference> {
    Arc::new(FakeChat {
        next_id: AtomicU64::new(1),
    })
}

#[async_trait]
impl Inference for FakeChat {
    async fn chat_completion(
        &self,
        _: &RequestContext,
        request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        if let Some(Failure::Status(status)) = Failure::from_model(&request.model) {
            return Err(status_error(status, "fake-chat"));
        }
        let id = format!(
            "chatcmpl-fake-{}",
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let answer = responder::chat(&request, &id, lls_api_common::unix_now())?;
        if !request.is_stream() {
            return Ok(Output::Complete(Answer::Typed(answer)));
        }
        let chunks: Vec<Result<Answer<ChatCompletionChunk>>> =
            responder::chat_chunks(&answer, request.include_usage())
                .into_iter()
                .map(|c| Ok(Answer::Typed(c)))
                .collect();
        Ok(Output::Stream(futures::stream::iter(chunks).boxed()))
    }

    async fn completion(
        &self,
        _: &RequestContext,
        _: CompletionRequest,
    ) -> Result<Output<Completion, Completion>> {
        Err(Error::unsupported(
            "the fake chat model serves chat completions only",
        ))
    }

    async fn embeddings(
        &self,
        _: &RequestContext,
        _: EmbeddingsRequest,
    ) -> Result<Answer<EmbeddingsResponse>> {
        Err(Error::unsupported(
            "the fake chat model serves chat completions only",
        ))
    }
}
