//! A deterministic inference provider without network whose behaviour follows the model id: it
//! answers like the mock server ([`lls_fake_model::responder`]) and fails on the same model names.
//!
//! Models: `fake-llm` (llm), `fake-embed` (embedding) and the configured ones (a name containing
//! `embed` is an embedding model). Unknown names are `NotFound`. Failure-injection names are
//! always served: `error-<status>` fails with that status's [`lls_api_common::ErrorKind`],
//! `midstream-error` streams two chunks then an error, `empty-stream` streams nothing,
//! `slow-<ms>` waits first, `garbage` is an upstream error.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use lls_api_common::{Error, ErrorKind, HealthStatus, RequestContext, Result, unix_now};
use lls_api_inference::{ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest};
use lls_api_inference::{Answer, EmbeddingsRequest, EmbeddingsResponse, Inference, InferenceProvider, Output};
use lls_api_models::ProviderModel;

use lls_fake_model::failure::{Failure, status_error};
use lls_fake_model::responder;

use crate::FakeConfig;

/// The models every fake serves.
pub const FAKE_LLM: &str = "fake-llm";
pub const FAKE_EMBEDDING: &str = "fake-embed";

/// The fake provider.
#[derive(Debug)]
pub struct FakeInference {
    config: FakeConfig,
    provider_id: String,
    next_id: AtomicU64,
}

impl FakeInference {
    pub fn new(config: FakeConfig) -> Self {
        FakeInference { config, provider_id: "fake".into(), next_id: AtomicU64::new(1) }
    }

    /// Names the provider in the errors it returns (the run.yaml `provider_id`).
    pub fn with_provider_id(mut self, provider_id: impl Into<String>) -> Self {
        self.provider_id = provider_id.into();
        self
    }

    pub fn config(&self) -> &FakeConfig {
        &self.config
    }

    fn model_ids(&self) -> impl Iterator<Item = &str> {
        [FAKE_LLM, FAKE_EMBEDDING].into_iter().chain(self.config.models.iter().map(String::as_str))
    }

    fn error(&self, e: Error) -> Error {
        if e.provider().is_some() { e } else { e.with_provider(self.provider_id.clone()) }
    }

    /// Checks the model and applies its injected failure; returns what the answer must show.
    async fn gate(&self, model: &str, embeddings: bool) -> Result<Option<Failure>> {
        let failure = Failure::from_model(model);
        match failure {
            Some(Failure::Status(status)) => return Err(status_error(status, &self.provider_id)),
            Some(Failure::Garbage) => {
                return Err(Error::new(ErrorKind::UpstreamError, "injected failure: the backend answered garbage"));
            }
            Some(Failure::Slow(delay)) => tokio::time::sleep(delay).await,
            Some(_) => {}
            None if !self.model_ids().any(|m| m == model) => {
                return Err(Error::resource_not_found("Model", model, "client.models.list()"));
            }
            None => {}
        }
        if embeddings && !responder::serves_embeddings(model) {
            return Err(Error::invalid(format!("model '{model}' is not an embedding model")).with_param("model"));
        }
        if !embeddings && !responder::serves_text(model) {
            return Err(Error::invalid(format!("model '{model}' is an embedding model")).with_param("model"));
        }
        Ok(failure)
    }

    fn next_id(&self, prefix: &str) -> String {
        format!("{prefix}-fake-{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }
}

/// Streams `chunks` as the model's failure asks: all, none, or two then an error.
fn chunk_stream<C: Send + 'static>(chunks: Vec<C>, failure: Option<Failure>, provider: &str) -> BoxStream<'static, Result<C>> {
    match failure {
        Some(Failure::EmptyStream) => stream::empty().boxed(),
        Some(Failure::MidstreamError) => {
            let err = Error::new(ErrorKind::UpstreamError, "injected failure: the stream broke midway").with_provider(provider);
            stream::iter(chunks.into_iter().take(2).map(Ok).chain([Err(err)])).boxed()
        }
        _ => stream::iter(chunks.into_iter().map(Ok)).boxed(),
    }
}

#[async_trait]
impl Inference for FakeInference {
    async fn chat_completion(
        &self,
        _ctx: &RequestContext,
        request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        let answer = async {
            request.validate()?;
            let failure = self.gate(&request.model, false).await?;
            let answer = responder::chat(&request, &self.next_id("chatcmpl"), unix_now())?;
            Ok((answer, failure))
        };
        let (answer, failure) = answer.await.map_err(|e| self.error(e))?;
        if !request.is_stream() {
            return Ok(Output::Complete(Answer::Typed(answer)));
        }
        let chunks = responder::chat_chunks(&answer, request.include_usage()).into_iter().map(Answer::Typed).collect();
        Ok(Output::Stream(chunk_stream(chunks, failure, &self.provider_id)))
    }

    async fn completion(&self, _ctx: &RequestContext, request: CompletionRequest) -> Result<Output<Completion, Completion>> {
        let answer = async {
            request.validate()?;
            let failure = self.gate(&request.model, false).await?;
            let answer = responder::completion(&request, &self.next_id("cmpl"), unix_now())?;
            Ok((answer, failure))
        };
        let (answer, failure) = answer.await.map_err(|e| self.error(e))?;
        if !request.is_stream() {
            return Ok(Output::Complete(Answer::Typed(answer)));
        }
        let include_usage = request.stream_options.as_ref().and_then(|o| o.include_usage).unwrap_or(false);
        let chunks = responder::completion_chunks(&answer, include_usage).into_iter().map(Answer::Typed).collect();
        Ok(Output::Stream(chunk_stream(chunks, failure, &self.provider_id)))
    }

    async fn embeddings(&self, _ctx: &RequestContext, request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        let answer = async {
            self.gate(&request.model, true).await?;
            responder::embeddings(&request, self.config.embedding_dimension as usize)
        };
        answer.await.map(Answer::Typed).map_err(|e| self.error(e))
    }
}

#[async_trait]
impl InferenceProvider for FakeInference {
    async fn list_models(&self) -> Result<Vec<ProviderModel>> {
        let dimension = u64::from(self.config.embedding_dimension);
        Ok(self
            .model_ids()
            .map(|id| {
                if responder::is_embedding_model(id) {
                    ProviderModel::embedding(id, dimension)
                } else {
                    ProviderModel::llm(id)
                }
            })
            .collect())
    }

    async fn health(&self) -> HealthStatus {
        HealthStatus::ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::parse_config;
    use serde_json::json;

    fn chat_req(model: &str, stream: bool) -> ChatCompletionRequest {
        serde_json::from_value(json!({"model": model, "messages": [{"role": "user", "content": "hi there"}], "stream": stream}))
            .unwrap()
    }

    #[tokio::test]
    async fn answers_like_the_mock() {
        let fake = FakeInference::new(FakeConfig::default());
        let Output::Complete(c) = fake.chat_completion(&RequestContext::default(), chat_req(FAKE_LLM, false)).await.unwrap()
        else {
            panic!("expected a complete answer")
        };
        let c = c.into_typed().unwrap();
        assert_eq!(c.choices[0].message.content.as_deref(), Some("Mock answer. You asked: hi there"));
        assert!(c.id.starts_with("chatcmpl-fake-"));
    }

    #[tokio::test]
    async fn failures_follow_the_model_id() {
        let fake = FakeInference::new(FakeConfig::default()).with_provider_id("f1");
        let ctx = RequestContext::default();
        for (status, kind) in [
            (400, ErrorKind::InvalidRequest),
            (404, ErrorKind::NotFound),
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::UpstreamError),
            (502, ErrorKind::UpstreamError),
            (503, ErrorKind::UpstreamUnavailable),
            (504, ErrorKind::Timeout),
        ] {
            let e = fake.chat_completion(&ctx, chat_req(&format!("error-{status}"), false)).await.unwrap_err();
            assert_eq!(e.kind(), kind, "status {status}");
            assert_eq!(e.provider(), Some("f1"));
        }
        let e = fake.chat_completion(&ctx, chat_req("nope", false)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.provider(), Some("f1"));
        let Output::Stream(s) = fake.chat_completion(&ctx, chat_req("midstream-error", true)).await.unwrap() else {
            panic!("expected a stream")
        };
        let items: Vec<_> = s.collect().await;
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok() && items[1].is_ok() && items[2].is_err());
        let Output::Stream(s) = fake.chat_completion(&ctx, chat_req("empty-stream", true)).await.unwrap() else {
            panic!("expected a stream")
        };
        assert_eq!(s.count().await, 0);
    }

    #[tokio::test]
    async fn models_and_embeddings() {
        let config: FakeConfig = parse_config(&json!({"embedding_dimension": 8, "models": ["my-embed", "my-llm"]})).unwrap();
        let fake = FakeInference::new(config);
        let models = fake.list_models().await.unwrap();
        assert_eq!(models.len(), 4);
        assert_eq!(models[3], ProviderModel::llm("my-llm"));
        assert_eq!(models[2], ProviderModel::embedding("my-embed", 8));
        let req: EmbeddingsRequest = serde_json::from_value(json!({"model": "my-embed", "input": ["a", "b c"]})).unwrap();
        let r = fake.embeddings(&RequestContext::default(), req).await.unwrap().into_typed().unwrap();
        assert_eq!(r.data.len(), 2);
        assert_eq!(r.data[1].embedding.to_floats().unwrap().len(), 8);
        assert_eq!(r.usage.prompt_tokens, 3);
        let req: EmbeddingsRequest = serde_json::from_value(json!({"model": "my-llm", "input": "a"})).unwrap();
        assert_eq!(fake.embeddings(&RequestContext::default(), req).await.unwrap_err().kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn config_is_strict() {
        assert!(parse_config::<FakeConfig>(&json!({"bogus": 1})).is_err());
        assert!(parse_config::<FakeConfig>(&json!({"embedding_dimension": 0})).is_err());
        assert_eq!(parse_config::<FakeConfig>(&serde_json::Value::Null).unwrap(), FakeConfig::default());
    }
}
