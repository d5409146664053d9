//! `remote::azure` against the test kit's Azure OpenAI mock: the `api-key` header, both URL
//! layouts, provider data (key, endpoint, version), content filter results and refusals, and
//! Azure's errors (401, 404 deployment, 429 with Retry-After, context length).
// Helpers here (fixtures, stream collection) are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use futures::StreamExt;
use lls_api_common::{ErrorKind, OutboundPolicy, RequestContext};
use lls_api_inference::{ChatCompletionRequest, EmbeddingsRequest, Inference, InferenceProvider, Output};
use lls_api_models::ModelType;
use lls_inference_remote_azure::{AzureConfig, AzureProvider};
use lls_testkit::AzureMock;
use lls_testkit::azure_mock::{COMPLETION_FILTER_TRIGGER, CONTEXT_CHARS, PROMPT_FILTER_TRIGGER, RETRY_AFTER_SECONDS};
use serde_json::{Value, json};

const DEPLOYMENTS: &[&str] = &["gpt-4o", "text-embedding-3-small"];

async fn mock() -> AzureMock {
    AzureMock::start("k", DEPLOYMENTS, 8).await.unwrap()
}

fn provider(config: AzureConfig) -> AzureProvider {
    AzureProvider::new("azure", config, Arc::new(OutboundPolicy::permissive())).unwrap()
}

fn chat(model: &str, text: &str, stream: bool) -> ChatCompletionRequest {
    serde_json::from_value(json!({"model": model, "messages": [{"role": "user", "content": text}], "stream": stream})).unwrap()
}

fn provider_data(pairs: &[(&str, &str)]) -> RequestContext {
    RequestContext::new(pairs.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect())
}

async fn whole(p: &AzureProvider, ctx: &RequestContext, req: ChatCompletionRequest) -> Value {
    let Output::Complete(answer) = p.chat_completion(ctx, req).await.unwrap() else { panic!("expected a whole answer") };
    serde_json::from_slice(&answer.to_bytes().unwrap()).unwrap()
}

async fn streamed(p: &AzureProvider, req: ChatCompletionRequest) -> Vec<Value> {
    let Output::Stream(chunks) = p.chat_completion(&RequestContext::default(), req).await.unwrap() else { panic!("expected a stream") };
    let chunks: Vec<_> = chunks.collect().await;
    chunks.into_iter().map(|c| serde_json::from_slice(&c.unwrap().to_bytes().unwrap()).unwrap()).collect()
}

#[tokio::test]
async fn v1_api_with_the_key_in_api_key() {
    let mock = mock().await;
    let p = provider(AzureConfig::new(mock.endpoint(), "k"));
    let answer = whole(&p, &RequestContext::default(), chat("gpt-4o", "Say hi", false)).await;
    assert_eq!(answer["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"], false);
    assert_eq!(answer["choices"][0]["content_filter_results"]["violence"]["severity"], "safe");
    let sent = &mock.requests()[0];
    assert_eq!((sent.path.as_str(), sent.api_version.as_deref()), ("/openai/v1/chat/completions", None));
    assert_eq!((sent.api_key.as_deref(), sent.authorization.as_deref()), (Some("k"), None));
}

#[tokio::test]
async fn a_dated_version_calls_the_deployments_api() {
    let mock = mock().await;
    let mut config = AzureConfig::new(mock.endpoint(), "k");
    config.api_version = Some("2024-10-21".into());
    let p = provider(config);
    whole(&p, &RequestContext::default(), chat("gpt-4o", "Say hi", false)).await;
    let req: EmbeddingsRequest = serde_json::from_value(json!({"model": "text-embedding-3-small", "input": ["a", "b"]})).unwrap();
    let out = p.embeddings(&RequestContext::default(), req).await.unwrap().into_typed().unwrap();
    assert_eq!((out.data.len(), out.data[0].embedding.to_floats().unwrap().len()), (2, 8));
    let models = p.list_models().await.unwrap();
    let paths: Vec<(String, Option<String>)> = mock.requests().into_iter().map(|r| (r.path, r.api_version)).collect();
    let v = Some("2024-10-21".to_owned());
    assert_eq!(
        paths,
        [
            ("/openai/deployments/gpt-4o/chat/completions".to_owned(), v.clone()),
            ("/openai/deployments/text-embedding-3-small/embeddings".to_owned(), v.clone()),
            ("/openai/models".to_owned(), v),
        ]
    );
    let embed = models.iter().find(|m| m.provider_resource_id == "text-embedding-3-small").unwrap();
    assert_eq!((embed.model_type, embed.metadata["embedding_dimension"].clone()), (ModelType::Embedding, json!(1536)));
}

#[tokio::test]
async fn provider_data_gives_key_endpoint_and_version() {
    let mock = mock().await;
    let elsewhere = AzureMock::start("other-key", DEPLOYMENTS, 8).await.unwrap();
    let p = provider(AzureConfig::new(mock.endpoint(), "k"));
    let ctx = provider_data(&[("azure_api_key", "other-key"), ("azure_api_base", &elsewhere.endpoint()), ("azure_api_version", "2025-04-01-preview")]);
    whole(&p, &ctx, chat("gpt-4o", "Say hi", false)).await;
    assert!(mock.requests().is_empty());
    let sent = &elsewhere.requests()[0];
    assert_eq!((sent.path.as_str(), sent.api_version.as_deref(), sent.api_key.as_deref()), ("/openai/deployments/gpt-4o/chat/completions", Some("2025-04-01-preview"), Some("other-key")));

    // The caller's key refused: the caller's 401. The operator's: a 502.
    let e = p.chat_completion(&provider_data(&[("azure_api_key", "wrong")]), chat("gpt-4o", "hi", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    let bad_key = provider(AzureConfig::new(mock.endpoint(), "wrong"));
    let e = bad_key.chat_completion(&RequestContext::default(), chat("gpt-4o", "hi", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamError, "{e}");
    assert!(e.message().contains("Access denied due to invalid subscription key"), "{e}");

    let e = p.chat_completion(&provider_data(&[("azure_api_version", "someday")]), chat("gpt-4o", "hi", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
}

#[tokio::test]
async fn a_provider_data_endpoint_the_outbound_policy_refuses_is_never_called() {
    let mock = mock().await;
    let policy = OutboundPolicy::new(&[], &["127.0.0.0/8".into()], false).unwrap();
    let p = AzureProvider::new("azure", AzureConfig::new("https://r.openai.azure.com", "k"), Arc::new(policy)).unwrap();
    let ctx = provider_data(&[("azure_api_base", &mock.endpoint())]);
    let e = p.chat_completion(&ctx, chat("gpt-4o", "hi", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    assert_eq!(e.param(), Some("azure_api_base"));
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn content_filter_refusals_reach_the_client() {
    let mock = mock().await;
    let p = provider(AzureConfig::new(mock.endpoint(), "k"));
    for stream in [false, true] {
        let e = p.chat_completion(&RequestContext::default(), chat("gpt-4o", &format!("tell me {PROMPT_FILTER_TRIGGER}"), stream)).await.unwrap_err();
        assert_eq!((e.kind(), e.code(), e.param()), (ErrorKind::InvalidRequest, Some("content_filter"), Some("prompt")), "{e}");
        assert!(e.message().contains("content filter: violence (high)") && e.message().contains("content_filter_result"), "{e}");
    }
    // A cut answer is an answer: its finish reason and verdict pass through.
    let answer = whole(&p, &RequestContext::default(), chat("gpt-4o", COMPLETION_FILTER_TRIGGER, false)).await;
    assert_eq!(answer["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(answer["choices"][0]["content_filter_results"]["violence"]["filtered"], true);
    let chunks = streamed(&p, chat("gpt-4o", COMPLETION_FILTER_TRIGGER, true)).await;
    let last = chunks.iter().rev().find(|c| !c["choices"].as_array().unwrap().is_empty()).unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "content_filter");
}

#[tokio::test]
async fn the_prompt_filter_chunk_joins_the_stream() {
    let mock = mock().await;
    let p = provider(AzureConfig::new(mock.endpoint(), "k"));
    let chunks = streamed(&p, chat("gpt-4o", "Say hi", true)).await;
    assert!(chunks.len() > 2, "{chunks:?}");
    assert!(chunks[0]["prompt_filter_results"].is_array(), "{}", chunks[0]);
    assert_eq!(chunks[0]["choices"], json!([]));
    assert!(chunks.iter().all(|c| c["id"] == chunks[1]["id"] && c["object"] == "chat.completion.chunk"), "{chunks:?}");
    assert!(chunks[1..].iter().any(|c| c["choices"][0]["content_filter_results"].is_object()));
}

#[tokio::test]
async fn azure_errors_map_to_kinds() {
    let mock = mock().await;
    let p = provider(AzureConfig::new(mock.endpoint(), "k"));
    let ctx = RequestContext::default();
    let e = p.chat_completion(&ctx, chat("error-429", "hi", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert!(e.message().ends_with(&format!("(Retry-After: {RETRY_AFTER_SECONDS})")), "{e}");
    let e = p.chat_completion(&ctx, chat("no-such-deployment", "hi", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().contains("deployment for this resource does not exist"), "{e}");
    let e = p.chat_completion(&ctx, chat("gpt-4o", &"x".repeat(CONTEXT_CHARS + 1), false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ContextLength, "{e}");
    let e = p.chat_completion(&ctx, chat("text-embedding-3-small", "hi", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    assert_eq!(p.chat_completion(&ctx, chat("error-503", "hi", false)).await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
}

#[tokio::test]
async fn lists_nothing_without_a_key() {
    let mock = mock().await;
    let mut config = AzureConfig::new(mock.endpoint(), "");
    config.api_key = None;
    assert!(provider(config).list_models().await.unwrap().is_empty());
    assert!(mock.requests().is_empty());
}
