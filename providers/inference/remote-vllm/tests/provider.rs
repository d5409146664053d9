//! `remote::vllm` against the in-process mock backend: the token sent, `max_tokens` filling,
//! model listing with `allowed_models` and timeouts (through the server's call layers), health,
//! error kinds and broken streams.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::StreamExt;
use lls_api_common::{ErrorKind, HealthState, RequestContext, Secret};
use lls_api_inference::{ChatCompletionRequest, CompletionRequest, Inference, InferenceApi, InferenceProvider, Output};
use lls_api_models::ModelType;
use lls_inference_remote_vllm::{PROVIDER_TYPE, VllmConfig, VllmProvider};
use lls_openai_compat::TlsVerify;
use lls_testkit::MockOpenAi;
use lls_testkit::registered::build_registered;
use serde_json::{Value, json};

fn provider(url: String, token: Option<&str>) -> VllmProvider {
    let mut config = VllmConfig::new(url);
    config.api_token = token.map(Secret::new);
    VllmProvider::new("vllm", config).unwrap()
}

fn chat(extra: Value) -> ChatCompletionRequest {
    let mut body = json!({"model": "mock-llm", "messages": [{"role": "user", "content": "Say hi"}]});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    serde_json::from_value(body).unwrap()
}

fn completion(extra: Value) -> CompletionRequest {
    let mut body = json!({"model": "mock-llm", "prompt": "Say hi"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    serde_json::from_value(body).unwrap()
}

fn unreachable_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/v1", listener.local_addr().unwrap())
}

#[tokio::test]
async fn sends_no_key_required_without_a_token() {
    let mock = MockOpenAi::start().await.unwrap();
    let ctx = RequestContext::default();
    provider(mock.base_url(), None).chat_completion(&ctx, chat(json!({}))).await.unwrap();
    provider(mock.base_url(), Some("")).chat_completion(&ctx, chat(json!({}))).await.unwrap();
    provider(mock.base_url(), Some("tok")).chat_completion(&ctx, chat(json!({}))).await.unwrap();
    let auth: Vec<_> = mock.requests().iter().map(|r| r.header("authorization").unwrap_or_default().to_owned()).collect();
    assert_eq!(auth, ["Bearer NO KEY REQUIRED", "Bearer NO KEY REQUIRED", "Bearer tok"]);
}

#[tokio::test]
async fn provider_data_token_overrides_the_config_token() {
    let mock = MockOpenAi::builder().api_key("caller").start().await.unwrap();
    let p = provider(mock.base_url(), Some("server"));
    let mut data = serde_json::Map::new();
    data.insert("vllm_api_token".into(), json!("caller"));
    p.chat_completion(&RequestContext::new(data), chat(json!({}))).await.unwrap();
    assert_eq!(mock.requests()[0].header("authorization"), Some("Bearer caller"));
}

#[tokio::test]
async fn fills_max_tokens_only_when_the_request_has_none() {
    let mock = MockOpenAi::start().await.unwrap();
    let mut config = VllmConfig::new(mock.base_url());
    config.max_tokens = 77;
    let p = VllmProvider::new("vllm", config).unwrap();
    let ctx = RequestContext::default();
    p.chat_completion(&ctx, chat(json!({}))).await.unwrap();
    p.chat_completion(&ctx, chat(json!({"max_tokens": 5}))).await.unwrap();
    p.chat_completion(&ctx, chat(json!({"max_completion_tokens": 6}))).await.unwrap();
    p.completion(&ctx, completion(json!({}))).await.unwrap();
    p.completion(&ctx, completion(json!({"max_tokens": 8}))).await.unwrap();
    let sent: Vec<Value> = mock.requests().into_iter().map(|r| r.body.unwrap()["max_tokens"].clone()).collect();
    assert_eq!(sent, [json!(77), json!(5), Value::Null, json!(77), json!(8)]);
    assert_eq!(mock.requests()[2].body.as_ref().unwrap()["max_completion_tokens"], 6);
}

#[tokio::test]
async fn lists_every_model_as_llm_and_filters() {
    let mock = MockOpenAi::start().await.unwrap();
    let models = provider(mock.base_url(), None).list_models().await.unwrap();
    let ids: Vec<_> = models.iter().map(|m| m.provider_resource_id.as_str()).collect();
    assert_eq!(ids, ["mock-llm", "mock-embed"]);
    assert!(models.iter().all(|m| m.model_type == ModelType::Llm));

    // As the server builds it, behind the call layers: the filter and the refusal.
    let config = json!({"url": mock.base_url(), "allowed_models": ["mock-embed"]});
    let p = build_registered::<InferenceApi>(PROVIDER_TYPE, "vllm", config).await.unwrap();
    let listed: Vec<String> = p.list_models().await.unwrap().into_iter().map(|m| m.provider_resource_id).collect();
    assert_eq!(listed, ["mock-embed"]);
    mock.clear_requests();
    let e = p.chat_completion(&RequestContext::default(), chat(json!({}))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(e.provider(), Some("vllm"));
    assert!(e.message().contains("mock-embed"), "{e}");
    assert!(mock.requests().is_empty(), "a refused call must not reach the server");
}

#[tokio::test]
async fn a_stalled_server_is_a_timeout_naming_the_provider() {
    let mock = MockOpenAi::start().await.unwrap();
    for config in [json!({"url": mock.base_url(), "timeout": 0.2}), json!({"url": mock.base_url(), "read_timeout": 0.2})] {
        let p = build_registered::<InferenceApi>(PROVIDER_TYPE, "vllm", config.clone()).await.unwrap();
        let e = p.chat_completion(&RequestContext::default(), chat(json!({"model": "slow-2000"}))).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{config}: {e}");
        assert_eq!(e.provider(), Some("vllm"), "{config}");
    }
}

#[tokio::test]
async fn health_reflects_the_server() {
    let mock = MockOpenAi::start().await.unwrap();
    assert_eq!(provider(mock.base_url(), None).health().await.status, HealthState::Ok);
    let down = provider(unreachable_url(), None).health().await;
    assert_eq!(down.status, HealthState::Error);
    assert!(down.message.unwrap().starts_with("Health check failed: provider vllm is unreachable"));
}

#[tokio::test]
async fn backend_failures_map_to_kinds() {
    let mock = MockOpenAi::start().await.unwrap();
    let p = provider(mock.base_url(), None);
    for (model, kind) in
        [("error-429", ErrorKind::RateLimited), ("error-500", ErrorKind::UpstreamError), ("garbage", ErrorKind::UpstreamError)]
    {
        let e = p.chat_completion(&RequestContext::default(), chat(json!({"model": model}))).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{model}: {e}");
        assert_eq!(e.provider(), Some("vllm"));
    }
    let e = provider(unreachable_url(), None).completion(&RequestContext::default(), completion(json!({}))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
}

#[tokio::test]
async fn midstream_error_ends_the_stream_with_one_err() {
    let mock = MockOpenAi::start().await.unwrap();
    let p = provider(mock.base_url(), None);
    let req = completion(json!({"model": "midstream-error", "stream": true}));
    let Output::Stream(stream) = p.completion(&RequestContext::default(), req).await.unwrap() else {
        panic!("expected a stream")
    };
    let items: Vec<_> = stream.collect().await;
    assert_eq!(items.iter().filter(|i| i.is_err()).count(), 1, "{items:?}");
    assert!(items.last().unwrap().is_err());
}

#[test]
fn a_missing_ca_bundle_fails_the_build() {
    let mut config = VllmConfig::new("https://vllm.internal/v1");
    config.tls_verify = TlsVerify::CaBundle("/nonexistent/ca.pem".into());
    let e = VllmProvider::new("vllm", config).unwrap_err();
    assert!(e.message().contains("cannot read CA bundle"), "{e}");
}
