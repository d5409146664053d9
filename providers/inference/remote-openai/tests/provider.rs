//! `remote::openai` against the in-process mock backend: keys, model listing, the
//! `allowed_models` filter and timeouts (through the server's call layers), error kinds, broken
//! streams, and answers passed through with every field the backend sent.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::StreamExt;
use lls_api_common::{ErrorKind, RequestContext, Secret};
use lls_api_inference::{ChatCompletionRequest, EmbeddingsRequest, Inference, InferenceApi, InferenceProvider, Output};
use lls_api_models::ModelType;
use lls_inference_remote_openai::{OpenAiConfig, OpenAiProvider, PROVIDER_TYPE};
use lls_testkit::MockOpenAi;
use lls_testkit::registered::build_registered;
use serde_json::{Value, json};

fn provider(base_url: String, key: Option<&str>, allowed: Option<&[&str]>) -> OpenAiProvider {
    let config = OpenAiConfig {
        base_url,
        api_key: key.map(Secret::new),
        allowed_models: allowed.map(|a| a.iter().map(|s| s.to_string()).collect()),
        refresh_models: false,
        http: Default::default(),
    };
    OpenAiProvider::new("openai", config).unwrap()
}

fn chat(model: &str, stream: bool) -> ChatCompletionRequest {
    serde_json::from_value(json!({"model": model, "messages": [{"role": "user", "content": "Say hi"}], "stream": stream}))
        .unwrap()
}

fn with_key(key: &str) -> RequestContext {
    let mut data = serde_json::Map::new();
    data.insert("openai_api_key".into(), json!(key));
    RequestContext::new(data)
}

#[tokio::test]
async fn provider_data_key_overrides_the_config_key() {
    let mock = MockOpenAi::builder().api_key("k").start().await.unwrap();
    let p = provider(mock.base_url(), Some("server-key"), None);
    p.chat_completion(&with_key("k"), chat("mock-llm", false)).await.unwrap();
    assert_eq!(mock.requests()[0].header("authorization"), Some("Bearer k"));

    // The operator's key is rejected: not the caller's fault, so not a 401.
    let e = p.chat_completion(&RequestContext::default(), chat("mock-llm", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamError);
    assert!(e.message().contains("provider openai rejected the credentials"), "{e}");
    assert_eq!(mock.requests()[1].header("authorization"), Some("Bearer server-key"));

    // The caller's key is rejected: the caller's fault.
    let e = p.chat_completion(&with_key("wrong"), chat("mock-llm", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
}

#[tokio::test]
async fn lists_nothing_without_a_key() {
    let mock = MockOpenAi::start().await.unwrap();
    assert!(provider(mock.base_url(), None, None).list_models().await.unwrap().is_empty());
    assert!(provider(mock.base_url(), Some(""), None).list_models().await.unwrap().is_empty());
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn lists_known_embedding_models_with_metadata() {
    let mock = MockOpenAi::builder().models(["gpt-4o", "text-embedding-3-small", "dall-e-3"]).start().await.unwrap();
    let models = provider(mock.base_url(), Some("k"), None).list_models().await.unwrap();
    assert_eq!(models.len(), 3, "{models:?}");
    let embed = models.iter().find(|m| m.provider_resource_id == "text-embedding-3-small").unwrap();
    assert_eq!(embed.model_type, ModelType::Embedding);
    assert_eq!((embed.metadata["embedding_dimension"].clone(), embed.metadata["context_length"].clone()), (json!(1536), json!(8192)));
    let llm = models.iter().find(|m| m.provider_resource_id == "gpt-4o").unwrap();
    assert_eq!(llm.model_type, ModelType::Llm);
}

/// As the server builds it: from run.yaml's config, behind the call layers.
async fn registered(config: Value) -> std::sync::Arc<dyn InferenceProvider> {
    build_registered::<InferenceApi>(PROVIDER_TYPE, "openai", config).await.unwrap()
}

#[tokio::test]
async fn allowed_models_filter_the_listing_and_refuse_other_models_without_calling_the_backend() {
    let mock = MockOpenAi::builder().models(["mock-llm", "other"]).start().await.unwrap();
    let p = registered(json!({"base_url": mock.base_url(), "api_key": "k", "allowed_models": ["mock-llm"]})).await;
    let listed: Vec<String> = p.list_models().await.unwrap().into_iter().map(|m| m.provider_resource_id).collect();
    assert_eq!(listed, ["mock-llm"]);
    let ctx = RequestContext::default();
    p.chat_completion(&ctx, chat("mock-llm", false)).await.unwrap();
    let e = p.chat_completion(&ctx, chat("other", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(e.provider(), Some("openai"));
    assert!(e.message().contains("allowed models") && e.message().contains("mock-llm"), "{e}");
    let embed: EmbeddingsRequest = serde_json::from_value(json!({"model": "other", "input": "x"})).unwrap();
    assert_eq!(p.embeddings(&ctx, embed).await.unwrap_err().kind(), ErrorKind::InvalidRequest);
    let calls = mock.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(calls, 1, "refused calls must not reach the backend");
    // The provider itself no longer filters: the layers do, for every provider.
    let bare = provider(mock.base_url(), Some("k"), Some(&["mock-llm"]));
    bare.chat_completion(&ctx, chat("other", false)).await.unwrap();
}

#[tokio::test]
async fn a_stalled_backend_is_a_timeout_naming_the_provider() {
    let mock = MockOpenAi::start().await.unwrap();
    let ctx = RequestContext::default();
    // The whole call is bounded by `timeout` (the call layers' 504).
    let p = registered(json!({"base_url": mock.base_url(), "api_key": "k", "timeout": 0.2})).await;
    let e = p.chat_completion(&ctx, chat("slow-2000", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(e.provider(), Some("openai"));
    assert!(e.message().contains("openai"), "{e}");
    // A silent backend is cut by `read_timeout` (the HTTP client's).
    let p = registered(json!({"base_url": mock.base_url(), "api_key": "k", "read_timeout": 0.2})).await;
    let started = std::time::Instant::now();
    let e = p.chat_completion(&ctx, chat("slow-2000", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(e.provider(), Some("openai"));
    assert!(started.elapsed() < std::time::Duration::from_millis(1500), "{:?}", started.elapsed());
}

#[tokio::test]
async fn answers_carry_every_field_the_backend_sent() {
    let mock = MockOpenAi::start().await.unwrap();
    let p = provider(mock.base_url(), Some("k"), None);
    let Output::Complete(answer) = p.chat_completion(&RequestContext::default(), chat("fixed-llm", false)).await.unwrap() else {
        panic!("expected a whole answer")
    };
    let body: Value = serde_json::from_slice(&answer.to_bytes().unwrap()).unwrap();
    let message = &body["choices"][0]["message"];
    assert!(message.as_object().unwrap().contains_key("refusal"), "{body}");
    assert_eq!(message["annotations"], json!([]));
    assert_eq!(body["service_tier"], "default");
    assert_eq!(body["system_fingerprint"], "fp_fixed");
    assert_eq!(body["usage"]["completion_tokens_details"]["reasoning_tokens"], 0);
    let Output::Stream(chunks) = p.chat_completion(&RequestContext::default(), chat("fixed-llm", true)).await.unwrap() else {
        panic!("expected a stream")
    };
    let chunks: Vec<_> = chunks.collect().await;
    let first: Value = serde_json::from_slice(&chunks[0].as_ref().unwrap().to_bytes().unwrap()).unwrap();
    assert_eq!(first["system_fingerprint"], "fp_fixed");
    assert!(first["choices"][0]["delta"].as_object().unwrap().contains_key("refusal"), "{first}");
}

#[tokio::test]
async fn backend_failures_map_to_kinds() {
    let mock = MockOpenAi::start().await.unwrap();
    let p = provider(mock.base_url(), Some("k"), None);
    for (model, kind) in [
        ("error-400", ErrorKind::InvalidRequest),
        ("error-404", ErrorKind::NotFound),
        ("error-429", ErrorKind::RateLimited),
        ("error-500", ErrorKind::UpstreamError),
        ("error-503", ErrorKind::UpstreamUnavailable),
        ("garbage", ErrorKind::UpstreamError),
    ] {
        let e = p.chat_completion(&RequestContext::default(), chat(model, false)).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{model}: {e}");
        assert_eq!(e.provider(), Some("openai"), "{model}");
        assert_eq!(stream_error(&p, model).await.kind(), kind, "{model} (stream)");
    }
}

/// The error a stream request ends with: from the call itself (error statuses, before any
/// chunk) or as the stream's last item (garbage in the body).
async fn stream_error(p: &OpenAiProvider, model: &str) -> lls_api_common::Error {
    match p.chat_completion(&RequestContext::default(), chat(model, true)).await {
        Err(e) => e,
        Ok(Output::Stream(s)) => {
            let items: Vec<_> = s.collect().await;
            items.into_iter().last().unwrap().unwrap_err()
        }
        Ok(Output::Complete(c)) => panic!("{model}: expected a stream, got {c:?}"),
    }
}

#[tokio::test]
async fn unreachable_backend_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let e = provider(base, Some("k"), None).chat_completion(&RequestContext::default(), chat("mock-llm", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
    assert!(e.is_retryable());
}

#[tokio::test]
async fn midstream_error_ends_the_stream_with_one_err() {
    let mock = MockOpenAi::start().await.unwrap();
    let p = provider(mock.base_url(), Some("k"), None);
    let Output::Stream(stream) = p.chat_completion(&RequestContext::default(), chat("midstream-error", true)).await.unwrap() else {
        panic!("expected a stream")
    };
    let items: Vec<_> = stream.collect().await;
    let errors: Vec<_> = items.iter().filter_map(|i| i.as_ref().err()).collect();
    assert_eq!(errors.len(), 1, "{items:?}");
    assert!(items.last().unwrap().is_err(), "the error must end the stream");
    assert!(items.len() > 1, "chunks before the failure are forwarded");
    assert_eq!(errors[0].provider(), Some("openai"));
}

#[tokio::test]
async fn embeddings_pass_options_through() {
    let mock = MockOpenAi::start().await.unwrap();
    let p = provider(mock.base_url(), Some("k"), None);
    let req: EmbeddingsRequest = serde_json::from_value(
        json!({"model": "mock-embed", "input": ["a", "b"], "encoding_format": "base64", "dimensions": 8, "user": "u1"}),
    )
    .unwrap();
    let out = p.embeddings(&RequestContext::default(), req).await.unwrap().into_typed().unwrap();
    assert_eq!(out.data.len(), 2);
    let body = mock.requests()[0].body.clone().unwrap();
    assert_eq!((body["encoding_format"].clone(), body["dimensions"].clone(), body["user"].clone()), (json!("base64"), json!(8), json!("u1")));
    assert_eq!(body["model"], "mock-embed");
}
