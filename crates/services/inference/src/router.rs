//! The inference router: validates a request, finds the provider that owns its model, calls it
//! with the provider's model id, and gives the answer back under the client's model id. A
//! backend's answer passes through as its bytes: only `model` is rewritten (and an empty
//! `tool_calls` list nulled, as 0.3.5 does).

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use lls_api_common::{RequestContext, Result};
use lls_api_inference::{
    Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest, EmbeddingsRequest,
    EmbeddingsResponse, EncodingFormat, Inference, Output, ToolChoice,
};
use lls_api_inference::Capability;
use lls_api_models::ModelType;

use crate::stream::RecordingStream;
use crate::{CompletionRecord, InferenceStore, ModelsTable};

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
        // Serialised once, before the request moves to the provider.
        let inputs = match &self.store {
            Some(_) => Some(serde_json::to_string(&request.messages)?),
            None => None,
        };
        match provider.chat_completion(ctx, request).await? {
            Output::Complete(mut answer) => {
                answer.set_model(&client_model);
                answer.drop_empty_tool_calls();
                if let (Some(store), Some(inputs)) = (&self.store, inputs)
                    && let Some(record) = CompletionRecord::from_answer(&answer, &client_model, inputs, ctx.owner())
                {
                    store.record(record);
                }
                Ok(Output::Complete(answer))
            }
            Output::Stream(stream) => {
                let on_end = match (&self.store, inputs) {
                    (Some(store), Some(inputs)) => {
                        let (store, owner) = (store.clone(), ctx.owner());
                        Some(Box::new(move |done: ChatCompletion| {
                            store.record(CompletionRecord::from_completion(&done, inputs, owner))
                        }) as crate::stream::OnEnd)
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
                c.set_model(&client_model);
                Output::Complete(c)
            }
            Output::Stream(s) => Output::Stream(Box::pin(s.map(move |chunk| {
                chunk.map(|mut c| {
                    c.set_model(&client_model);
                    c
                })
            }))),
        })
    }

    async fn embeddings(&self, ctx: &RequestContext, mut request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        request.validate()?;
        let (provider, provider_model) = self.models.resolve_for(&request.model, ModelType::Embedding, &[Capability::Embeddings])?;
        let client_model = std::mem::replace(&mut request.model, provider_model);
        let encoding = request.encoding();
        let mut answer = provider.embeddings(ctx, request).await?;
        answer.set_model(&client_model);
        if encoding == EncodingFormat::Base64 && has_float_vectors(&answer) {
            // The client asked for base64 and the provider gave floats (in-process models,
            // backends that ignore `encoding_format`).
            let mut response = answer.into_typed()?;
            for e in &mut response.data {
                e.embedding = e.embedding.to_base64();
            }
            answer = Answer::Typed(response);
        }
        Ok(answer)
    }
}

/// Whether an embeddings answer holds float vectors (a backend's bytes are only parsed when
/// they show an `"embedding"` that is a list).
fn has_float_vectors(answer: &Answer<EmbeddingsResponse>) -> bool {
    match answer {
        Answer::Typed(r) => r.data.iter().any(|e| matches!(e.embedding, lls_api_inference::EmbeddingVector::Float(_))),
        Answer::Json(j) => {
            #[derive(serde::Deserialize)]
            struct Data<'a> {
                #[serde(borrow)]
                data: Vec<Item<'a>>,
            }
            #[derive(serde::Deserialize)]
            struct Item<'a> {
                #[serde(borrow)]
                embedding: &'a serde_json::value::RawValue,
            }
            j.contains(b"\"embedding\"")
                && serde_json::from_slice::<Data<'_>>(j.original())
                    .is_ok_and(|d| d.data.iter().any(|i| i.embedding.get().starts_with('[')))
        }
    }
}
