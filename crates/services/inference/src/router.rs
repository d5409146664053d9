//! The inference router: validates a request, finds the provider that owns its model, calls it
//! with the provider's model id, and gives the answer back under the client's model id. A
//! backend's answer passes through as its bytes: only `model` is rewritten (and an empty
//! `tool_calls` list nulled, as 0.3.5 does). Each routed call is metered (`crate::metrics`).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures::StreamExt;
use lls_api_common::{RequestContext, Result};
use lls_api_inference::{
    Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest, EmbeddingsRequest,
    EmbeddingsResponse, EncodingFormat, Inference, Output, ToolChoice,
};
use lls_api_inference::Capability;
use lls_api_models::ModelType;

use crate::metrics::Meter;
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
        let started = Instant::now();
        request.validate()?;
        let (provider_id, provider, provider_model) =
            self.models.resolve_for(ctx, &request.model, ModelType::Llm, &request.needs()).await?;
        let meter = Meter::new(&provider_id, &request.model, started);
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
                meter.tokens(answer.usage());
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
                Ok(Output::Stream(Box::pin(meter.stream(RecordingStream::new(stream, client_model, on_end)))))
            }
        }
    }

    async fn completion(&self, ctx: &RequestContext, mut request: CompletionRequest) -> Result<Output<Completion, Completion>> {
        let started = Instant::now();
        request.validate()?;
        let (provider_id, provider, provider_model) =
            self.models.resolve_for(ctx, &request.model, ModelType::Llm, &request.needs()).await?;
        let meter = Meter::new(&provider_id, &request.model, started);
        let client_model = std::mem::replace(&mut request.model, provider_model);
        request.normalize_logprobs();
        Ok(match provider.completion(ctx, request).await? {
            Output::Complete(mut c) => {
                meter.tokens(c.usage());
                c.set_model(&client_model);
                Output::Complete(c)
            }
            Output::Stream(s) => Output::Stream(Box::pin(meter.stream(s.map(move |chunk| {
                chunk.map(|mut c| {
                    c.set_model(&client_model);
                    c
                })
            })))),
        })
    }

    async fn embeddings(&self, ctx: &RequestContext, mut request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        request.validate()?;
        let (provider_id, provider, provider_model) =
            self.models.resolve_for(ctx, &request.model, ModelType::Embedding, &[Capability::Embeddings]).await?;
        let meter = Meter::new(&provider_id, &request.model, Instant::now());
        let client_model = std::mem::replace(&mut request.model, provider_model);
        let encoding = request.encoding();
        let mut answer = provider.embeddings(ctx, request).await?;
        meter.tokens(answer.usage());
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bytes::Bytes;
    use futures::StreamExt;
    use lls_api_common::store::{KvStoreRef, StoreResolver};
    use lls_api_common::{Error, ErrorKind};
    use lls_api_inference::{ChunkStream, InferenceProvider};
    use lls_api_models::ProviderModel;
    use lls_storage::Stores;
    use lls_testkit::callers::{caller_ctx, default_policy};

    use super::*;

    /// Model `m`: answers completion `c-<first message>`, streamed when asked.
    struct Echo;

    #[async_trait]
    impl Inference for Echo {
        async fn chat_completion(&self, _: &RequestContext, r: ChatCompletionRequest) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
            let id = format!("c-{}", serde_json::to_value(&r.messages).unwrap()[0]["content"].as_str().unwrap());
            if r.stream == Some(true) {
                let chunks = [r#"{"role":"assistant","content":"hi"},"finish_reason":null"#, r#"{},"finish_reason":"stop""#].map(|delta| {
                    let body = format!(
                        r#"{{"id":"{id}","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{delta}}}]}}"#
                    );
                    Answer::from_json(Bytes::from(body)).map_err(|e| Error::internal(e.to_string()))
                });
                let stream: ChunkStream<Answer<ChatCompletionChunk>> = futures::stream::iter(chunks).boxed();
                return Ok(Output::Stream(stream));
            }
            let body = format!(
                r#"{{"id":"{id}","object":"chat.completion","created":1,"model":"m","choices":[{{"index":0,"message":{{"role":"assistant","content":"hi"}},"finish_reason":"stop"}}]}}"#
            );
            Ok(Output::Complete(Answer::from_json(Bytes::from(body)).unwrap()))
        }
        async fn completion(&self, _: &RequestContext, _: CompletionRequest) -> Result<Output<Completion, Completion>> {
            Err(Error::unsupported("no completions"))
        }
        async fn embeddings(&self, _: &RequestContext, _: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
            Err(Error::unsupported("no embeddings"))
        }
    }

    #[async_trait]
    impl InferenceProvider for Echo {
        async fn list_models(&self) -> Result<Vec<ProviderModel>> {
            Ok(vec![ProviderModel::llm("m")])
        }
    }

    async fn router() -> InferenceRouter {
        let stores = Stores::in_memory();
        let kv = stores.kv(&KvStoreRef { backend: "kv_default".into(), namespace: "registry".into() }).await.unwrap();
        let registry = Arc::new(lls_registry::ResourceRegistry::open(kv).await.unwrap());
        let provider: Arc<dyn lls_api_inference::InferenceProvider> = Arc::new(Echo);
        let models = Arc::new(ModelsTable::new(registry, std::collections::BTreeMap::from([("p".to_owned(), provider)])));
        models.refresh("p").await.unwrap();
        let store = InferenceStore::open(stores.sql("sql_default").await.unwrap(), "chats", 100, 1).await.unwrap();
        InferenceRouter::new(models, Some(Arc::new(store)))
    }

    fn chat(content: &str, stream: bool) -> ChatCompletionRequest {
        let body = serde_json::json!({"model": "p/m", "messages": [{"role": "user", "content": content}], "stream": stream});
        serde_json::from_value(body).unwrap()
    }

    /// The caller of a chat completion, streamed or not, owns the stored completion.
    #[tokio::test]
    async fn stored_completions_belong_to_the_caller() {
        let r = router().await;
        let alice = caller_ctx("alice", &[("roles", &["a"])], default_policy());
        let bob = caller_ctx("bob", &[("roles", &["b"])], default_policy());
        assert!(matches!(r.chat_completion(&alice, chat("x", false)).await.unwrap(), Output::Complete(_)));
        let Output::Stream(chunks) = r.chat_completion(&bob, chat("y", true)).await.unwrap() else { panic!("not streamed") };
        assert_eq!(chunks.count().await, 2);
        let store = r.store().unwrap();
        assert_eq!(store.get(&alice, "c-x").await.unwrap().model, "p/m");
        assert_eq!(store.get(&bob, "c-y").await.unwrap().choices[0]["message"]["content"], "hi");
        assert_eq!(store.get(&bob, "c-x").await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(store.get(&alice, "c-y").await.unwrap_err().kind(), ErrorKind::NotFound);
        let listed = store.list(&alice, None, None, None, lls_api_common::store::Order::Asc).await.unwrap();
        assert_eq!(listed.data.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c-x"]);
    }
}
