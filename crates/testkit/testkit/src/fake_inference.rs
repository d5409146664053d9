//! Inference for tests of what runs requests in bulk (batches): chat completions, completions
//! and embeddings answered by the deterministic model ([`lls_fake_model::responder`]), with its
//! failure injection by model name (`error-<status>`, `slow-<ms>`), counting the calls it
//! answers. Every model name is served.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use lls_api_common::{RequestContext, Result};
use lls_api_inference::{
    Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest, EmbeddingsRequest,
    EmbeddingsResponse, Inference, Output,
};
use lls_fake_model::failure::{Failure, status_error};
use lls_fake_model::responder;

/// The fake model as the inference API; [`FakeInference::calls`] counts what it answered.
#[derive(Debug, Default)]
pub struct FakeInference {
    calls: AtomicU64,
}

impl FakeInference {
    pub fn new() -> Arc<Self> {
        Arc::new(FakeInference::default())
    }

    /// Requests answered so far (failures injected by model name included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    async fn enter(&self, model: &str) -> Result<u64> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        match Failure::from_model(model) {
            Some(Failure::Status(status)) => Err(status_error(status, "fake-inference")),
            Some(Failure::Slow(delay)) => {
                tokio::time::sleep(delay).await;
                Ok(n)
            }
            _ => Ok(n),
        }
    }
}

#[async_trait]
impl Inference for FakeInference {
    async fn chat_completion(&self, _: &RequestContext, request: ChatCompletionRequest) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        request.validate()?;
        let n = self.enter(&request.model).await?;
        let answer = responder::chat(&request, &format!("chatcmpl-fake-{n}"), lls_api_common::unix_now())?;
        Ok(Output::Complete(Answer::Typed(answer)))
    }

    async fn completion(&self, _: &RequestContext, request: CompletionRequest) -> Result<Output<Completion, Completion>> {
        request.validate()?;
        let n = self.enter(&request.model).await?;
        let answer = responder::completion(&request, &format!("cmpl-fake-{n}"), lls_api_common::unix_now())?;
        Ok(Output::Complete(Answer::Typed(answer)))
    }

    async fn embeddings(&self, _: &RequestContext, request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        request.validate()?;
        self.enter(&request.model).await?;
        Ok(Answer::Typed(responder::embeddings(&request, 384)?))
    }
}

/// A models table of fixed models (`fake/<name>` ids are not made: each name is its own id),
/// for what checks that a request's model exists.
#[derive(Debug, Clone)]
pub struct FixedModels {
    names: Vec<String>,
}

impl FixedModels {
    pub fn new(names: &[&str]) -> Arc<Self> {
        Arc::new(FixedModels { names: names.iter().map(|n| (*n).to_owned()).collect() })
    }

    fn model(name: &str) -> lls_api_models::Model {
        let mut model = lls_api_models::Model::new("fake", name, lls_api_models::ModelType::Llm, Default::default());
        model.identifier = name.to_owned();
        model
    }
}

#[async_trait]
impl lls_api_models::Models for FixedModels {
    async fn list(&self, _: &RequestContext) -> Result<Vec<lls_api_models::Model>> {
        Ok(self.names.iter().map(|n| FixedModels::model(n)).collect())
    }

    async fn get(&self, _: &RequestContext, identifier: &str) -> Result<lls_api_models::Model> {
        self.names
            .iter()
            .find(|n| *n == identifier)
            .map(|n| FixedModels::model(n))
            .ok_or_else(|| lls_api_common::Error::resource_not_found("Model", identifier, "models.list()"))
    }

    async fn register(&self, _: &RequestContext, _: lls_api_models::RegisterModelRequest) -> Result<lls_api_models::Model> {
        Err(lls_api_common::Error::unsupported("fixed models cannot be registered"))
    }

    async fn unregister(&self, _: &RequestContext, _: &str) -> Result<()> {
        Err(lls_api_common::Error::unsupported("fixed models cannot be unregistered"))
    }
}
