//! `remote::bedrock` against the test kit's Bedrock mock beyond the shared suite: whose keys
//! sign (provider data over config) and who is blamed when they are refused, session tokens,
//! retries of throttling, context overflow, Cohere embeddings, streamed tool calls.
// Helpers of an integration test crate are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::StreamExt;
use lls_api_common::{ErrorKind, RequestContext, Secret};
use lls_api_inference::{Answer, ChatCompletionRequest, EmbeddingsRequest, Inference, InferenceProvider, Output};
use lls_inference_remote_bedrock::{BedrockConfig, BedrockProvider};
use lls_testkit::BedrockMock;
use lls_testkit::bedrock_mock::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};
use serde_json::{Value, json};

const LLM: &str = "meta.llama3-1-8b-instruct-v1:0";

fn config(mock: &BedrockMock, key: &str, secret: &str) -> BedrockConfig {
    BedrockConfig {
        aws_access_key_id: Some(key.into()),
        aws_secret_access_key: Some(Secret::new(secret)),
        region_name: Some(mock.region().to_owned()),
        endpoint_url: Some(mock.url()),
        ..BedrockConfig::default()
    }
}

fn provider(config: BedrockConfig) -> BedrockProvider {
    BedrockProvider::with_env("bedrock", config, &|_| None).unwrap()
}

fn chat(v: Value) -> ChatCompletionRequest {
    serde_json::from_value(v).unwrap()
}

fn hello(model: &str) -> ChatCompletionRequest {
    chat(json!({"model": model, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}]}))
}

fn ctx(v: Value) -> RequestContext {
    RequestContext::new(v.as_object().unwrap().clone())
}

#[tokio::test]
async fn keys_from_provider_data_sign_and_refusals_blame_their_owner() {
    let mock = BedrockMock::builder().also_key("AKIDCALLER", "caller-secret").start().await.unwrap();
    // The operator's keys are wrong: a 502 naming the provider.
    let p = provider(config(&mock, ACCESS_KEY_ID, "not-the-secret"));
    let e = p.chat_completion(&RequestContext::default(), hello(LLM)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamError);
    assert!(e.message().contains("credentials of provider bedrock") && e.message().contains("InvalidSignatureException"), "{e}");
    // The caller's good keys work, and were the ones that signed.
    let caller = ctx(json!({"aws_access_key_id": "AKIDCALLER", "aws_secret_access_key": "caller-secret", "aws_session_token": "tok"}));
    assert!(matches!(p.chat_completion(&caller, hello(LLM)).await.unwrap(), Output::Complete(_)));
    let last = mock.requests().pop().unwrap();
    assert_eq!((last.access_key_id.as_deref(), last.security_token.as_deref()), (Some("AKIDCALLER"), Some("tok")));
    // The caller's bad keys are the caller's 401.
    let unknown = ctx(json!({"aws_access_key_id": "AKIDNOBODY", "aws_secret_access_key": "x"}));
    let e = p.chat_completion(&unknown, hello(LLM)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(e.message().contains("UnrecognizedClientException"), "{e}");
}

#[tokio::test]
async fn throttling_is_retried_up_to_total_max_attempts() {
    let mock = BedrockMock::builder().start().await.unwrap();
    let p = provider(BedrockConfig { total_max_attempts: Some(3), ..config(&mock, ACCESS_KEY_ID, SECRET_ACCESS_KEY) });
    let e = p.chat_completion(&RequestContext::default(), hello("error-429")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(mock.requests().len(), 3);
    let e = p.chat_completion(&RequestContext::default(), hello("error-400")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(mock.requests().len(), 4, "a validation error is not retried");
}

#[tokio::test]
async fn vendor_errors_map_to_kinds() {
    let mock = BedrockMock::builder().start().await.unwrap();
    let p = provider(BedrockConfig { total_max_attempts: Some(1), ..config(&mock, ACCESS_KEY_ID, SECRET_ACCESS_KEY) });
    let long = chat(json!({"model": "mock.tiny-context-v1:0", "messages": [{"role": "user", "content": "word ".repeat(40)}]}));
    assert_eq!(p.chat_completion(&RequestContext::default(), long).await.unwrap_err().kind(), ErrorKind::ContextLength);
    assert_eq!(p.chat_completion(&RequestContext::default(), hello("no.such-model")).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(p.chat_completion(&RequestContext::default(), hello("error-504")).await.unwrap_err().kind(), ErrorKind::Timeout);
    assert_eq!(p.chat_completion(&RequestContext::default(), hello("garbage")).await.unwrap_err().kind(), ErrorKind::UpstreamError);
}

#[tokio::test]
async fn streamed_tool_calls_and_a_tool_round_trip() {
    let mock = BedrockMock::builder().start().await.unwrap();
    let p = provider(config(&mock, ACCESS_KEY_ID, SECRET_ACCESS_KEY));
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
    let req = chat(json!({"model": LLM, "stream": true, "messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": tools,
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}));
    let Output::Stream(mut s) = p.chat_completion(&RequestContext::default(), req).await.unwrap() else { panic!("not a stream") };
    let mut acc = lls_api_inference::ChunkAccumulator::default();
    while let Some(chunk) = s.next().await {
        let Answer::Typed(c) = chunk.unwrap() else { panic!("raw chunk") };
        acc.push(&c);
    }
    let folded = acc.finish().unwrap();
    let call = folded.choices[0].message.tool_calls.clone().unwrap().remove(0);
    assert_eq!(call.function.name, "get_weather");
    assert_eq!(folded.choices[0].finish_reason.as_deref(), Some("tool_calls"));
    // The call and its result go back as toolUse/toolResult turns.
    let req = chat(json!({"model": LLM, "tools": tools, "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]}));
    let Output::Complete(Answer::Typed(done)) = p.chat_completion(&RequestContext::default(), req).await.unwrap() else { panic!("not typed") };
    assert!(done.choices[0].message.content.as_deref().unwrap().contains("sunny"), "{:?}", done.choices[0].message);
    let sent = mock.requests().pop().unwrap().body;
    assert_eq!(sent["messages"][2]["content"][0]["toolResult"]["content"][0]["text"], "sunny");
}

#[tokio::test]
async fn cohere_and_titan_embeddings_and_model_list() {
    let mock = BedrockMock::builder().start().await.unwrap();
    let p = provider(config(&mock, ACCESS_KEY_ID, SECRET_ACCESS_KEY));
    let req: EmbeddingsRequest = serde_json::from_value(json!({"model": "cohere.embed-english-v3", "input": ["a b", "c"], "input_type": "search_query"})).unwrap();
    let Answer::Typed(e) = p.embeddings(&RequestContext::default(), req).await.unwrap() else { panic!("raw") };
    assert_eq!((e.data.len(), e.data[1].index), (2, 1));
    assert!(e.usage.prompt_tokens > 0);
    assert_eq!(mock.requests().pop().unwrap().body["input_type"], "search_query");
    let req: EmbeddingsRequest = serde_json::from_value(json!({"model": "amazon.titan-embed-text-v2:0", "input": ["a", "b", "c"], "dimensions": 512})).unwrap();
    let Answer::Typed(e) = p.embeddings(&RequestContext::default(), req).await.unwrap() else { panic!("raw") };
    assert_eq!(e.data.len(), 3);
    assert!(e.data.iter().all(|d| d.embedding.to_floats().unwrap().len() == 512));
    let models = p.list_models().await.unwrap();
    let titan = models.iter().find(|m| m.provider_resource_id == "amazon.titan-embed-text-v1").unwrap();
    assert_eq!(titan.metadata["embedding_dimension"], 1536);
    assert!(models.iter().any(|m| m.provider_resource_id == LLM));
}
