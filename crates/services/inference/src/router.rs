//! The inference router: validates a request, finds the provider that owns its model, calls it
//! with the provider's model id, and gives the answer back under the client's model id.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{RequestContext, Result};
use lls_api_inference::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest, EmbeddingsRequest,
    EmbeddingsResponse, Inference, Output, ToolChoice,
};
use lls_api_inference::Capability;
use lls_api_models::ModelType;

use crate::stream::RecordingStream;
use crate::{InferenceStore, ModelsTable};

pub struct InferenceRouter {
    models: Arc<ModelsTable>,
    store: Option<Arc<InferenceStore>>,
}

impl InferenceRouter {
    pub fn new(models: Arc<ModelsTable>, store: Option<Arc<InferenceStore>>) -> Self {
        InferenceRouter { models, store }
    }

    pub fn models(&self) -> &Arc<ModelsTable> {
        &self.models
    }

    pub fn store(&self) -> Option<&Arc<InferenceStore>> {
        self.store.as_ref()
    }
}

#[async_trait]
impl Inference for InferenceRouter {
    async fn chat_completion(
        &self,
        ctx: &RequestContext,
        mut request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        request.validate()?;
        let (provider, provider_model) = self.models.resolve_for(&request.model, ModelType::Llm, &request.needs())?;
        let client_model = std::mem::replace(&mut request.model, provider_model);
        if matches!(&request.tool_choice, Some(ToolChoice::Mode(m)) if m == "none") {
            request.tools = None;
            request.tool_choice = None;
        }
        let inputs = self.store.as_ref().map(|_| request.messages.clone());
        match provider.chat_completion(ctx, request).await? {
            Output::Complete(mut completion) => {
                completion.model = client_model;
                for choice in &mut completion.choices {
                    if choice.message.tool_calls.as_ref().is_some_and(Vec::is_empty) {
                        choice.message.tool_calls = None;
                    }
                }
                if let (Some(store), Some(inputs)) = (&self.store, &inputs) {
                    store.record(&completion, inputs);
                }
                Ok(Output::Complete(completion))
            }
            Output::Stream(stream) => {
                let on_end = match (&self.store, inputs) {
                    (Some(store), Some(inputs)) => {
                        let store = store.clone();
                        Some(Box::new(move |done: ChatCompletion| store.record(&done, &inputs)) as crate::stream::OnEnd)
                    }
                    _ => None,
                };
                Ok(Output::Stream(Box::pin(RecordingStream::new(stream, client_model, on_end))))
            }
        }
    }

    async fn completion(&self, ctx: &RequestContext, mut request: CompletionRequest) -> Result<Output<Completion, Completion>> {
        request.validate()?;
        let (provider, provider_model) = self.models.resolve_for(&request.model, ModelType::Llm, &request.needs())?;
        let client_model = std::mem::replace(&mut request.model, provider_model);
        request.normalize_logprobs();
        Ok(match provider.completion(ctx, request).await? {
            Output::Complete(mut c) => {
                c.model = client_model;
                Output::Complete(c)
            }
            Output::Stream(s) => {
                use futures::StreamExt;
                Output::Stream(Box::pin(s.map(move |chunk| {
                    chunk.map(|mut c| {
                        c.model.clone_from(&client_model);
                        c
                    })
                })))
            }
        })
    }

    async fn embeddings(&self, ctx: &RequestContext, mut request: EmbeddingsRequest) -> Result<EmbeddingsResponse> {
        request.validate()?;
        let (provider, provider_model) = self.models.resolve_for(&request.model, ModelType::Embedding, &[Capability::Embeddings])?;
        let client_model = std::mem::replace(&mut request.model, provider_model);
        let encoding = request.encoding();
        let mut response = provider.embeddings(ctx, request).await?;
        response.model = client_model;
        if encoding == lls_api_inference::EncodingFormat::Base64 {
            for e in &mut response.data {
                e.embedding = e.embedding.to_base64();
            }
        }
        Ok(response)
    }
}
