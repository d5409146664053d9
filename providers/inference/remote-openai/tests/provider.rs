//! `remote::openai` against the in-process mock backend: keys, model listing, the
//! `allowed_models` filter, error kinds and broken streams.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic)]

use futures::StreamExt;
use lls_api_common::{ErrorKind, RequestContext, Secret};
use lls_api_inference::{ChatCompletionRequest, EmbeddingsRequest, Inference, InferenceProvider, Output};
use lls_api_models::ModelType;
use lls_inference_remote_openai::{OpenAiConfig, OpenAiProvider};
use lls_testkit::MockOpenAi;
use serde_json::json;

fn provider(base_url: String, key: Option<&str>, allowed: Option<&[&str]>) -> OpenAiProvider {
    let config = OpenAiConfig {
        base_url,
        api_key: key.map(Secret::new),
        allowed_models: allowed.map(|a| a.iter().map(|s| s.to_string()).collect()),
        refresh_models: false,
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
    let models = provider(mock.base_url(), Some("k"), Some(&["gpt-4o", "text-embedding-3-small"])).list_models().await.unwrap();
    assert_eq!(models.len(), 2, "{models:?}");
    let embed = models.iter().find(|m| m.provider_resource_id == "text-embedding-3-small").unwrap();
    assert_eq!(embed.model_type, ModelType::Embedding);
    assert_eq!((embed.metadata["embedding_dimension"].clone(), embed.metadata["context_length"].clone()), (json!(1536), json!(8192)));
    let llm = models.iter().find(|m| m.provider_resource_id == "gpt-4o").unwrap();
    assert_eq!(llm.model_type, ModelType::Llm);
}

#[tokio::test]
async fn allowed_models_reject_other_models_without_calling_the_backend() {
    let mock = MockOpenAi::start().await.unwrap();
    let p = provider(mock.base_url(), Some("k"), Some(&["mock-llm"]));
    p.chat_completion(&RequestContext::default(), chat("mock-llm", false)).await.unwrap();
    let e = p.chat_completion(&RequestContext::default(), chat("other", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(mock.requests().len(), 1);
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
    let out = p.embeddings(&RequestContext::default(), req).await.unwrap();
    assert_eq!(out.data.len(), 2);
    let body = mock.requests()[0].body.clone().unwrap();
    assert_eq!((body["encoding_format"].clone(), body["dimensions"].clone(), body["user"].clone()), (json!("base64"), json!(8), json!("u1")));
    assert_eq!(body["model"], "mock-embed");
}
