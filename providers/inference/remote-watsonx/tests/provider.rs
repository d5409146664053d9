//! `remote::watsonx` against the test kit's watsonx.ai + IAM mock: the IAM token cache and its
//! renewal, keys and projects from provider data, and errors as the caller sees them.

// Helpers of tests (not #[test] functions themselves): failing the test is the point.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use futures::StreamExt;
use lls_api_common::{ErrorKind, RequestContext, Secret};
use lls_api_inference::{ChatCompletionRequest, EmbeddingsRequest, Inference, InferenceProvider, Output};
use lls_inference_remote_watsonx::{WatsonxConfig, WatsonxProvider};
use lls_testkit::WatsonxMock;
use serde_json::{Value, json};

const LLM: &str = "ibm/granite-3-3-8b-instruct";

fn config(mock: &WatsonxMock) -> WatsonxConfig {
    WatsonxConfig {
        url: mock.url(),
        iam_url: mock.url(),
        api_key: Some(Secret::new("wx-test-key")),
        project_id: Some(mock.project_id().to_owned()),
        ..WatsonxConfig::default()
    }
}

fn chat(model: &str, text: &str) -> ChatCompletionRequest {
    serde_json::from_value(json!({"model": model, "messages": [{"role": "user", "content": text}]})).unwrap()
}

async fn answer(p: &WatsonxProvider, ctx: &RequestContext, model: &str) -> lls_api_common::Result<String> {
    match p.chat_completion(ctx, chat(model, "hello")).await? {
        Output::Complete(a) => Ok(a.into_typed()?.choices[0].message.content.clone().unwrap_or_default()),
        Output::Stream(_) => panic!("a stream for a plain request"),
    }
}

fn data(v: Value) -> RequestContext {
    RequestContext::new(v.as_object().unwrap().clone())
}

#[tokio::test]
async fn one_token_serves_calls_until_it_nears_expiry() {
    let mock = WatsonxMock::builder().token_ttl(Duration::from_secs(3600)).start().await.unwrap();
    let p = WatsonxProvider::new("watsonx", config(&mock)).unwrap();
    let ctx = RequestContext::default();
    for _ in 0..3 {
        assert!(answer(&p, &ctx, LLM).await.unwrap().contains("hello"));
    }
    assert_eq!(mock.token_grants(), 1);
    let calls = mock.requests_to("/ml/v1/text/chat");
    assert!(calls.iter().all(|r| r.query == "version=2025-02-11"), "{:?}", calls[0].query);
    assert!(calls.iter().all(|r| r.authorization.as_deref().is_some_and(|a| a.starts_with("Bearer ey"))));
    let iam = &mock.requests_to("/identity/token")[0];
    assert_eq!(iam.body["grant_type"], "urn:ibm:params:oauth:grant-type:apikey");
    assert_eq!(iam.content_type.as_deref(), Some("application/x-www-form-urlencoded"));

    // Two-second tokens are renewed before each call once the first has (nearly) run out,
    // never sent expired.
    mock.set_token_ttl(Duration::from_secs(2));
    mock.revoke_tokens();
    answer(&p, &ctx, LLM).await.unwrap();
    let after_revoke = mock.token_grants();
    assert_eq!(after_revoke, 2, "a refused token is exchanged again once");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    answer(&p, &ctx, LLM).await.unwrap();
    assert!(mock.token_grants() > after_revoke, "an expiring token was not renewed");
    let refused = mock.requests_to("/ml/v1/text/chat").len() - 5;
    assert_eq!(refused, 1, "only the revoked token was refused");
}

#[tokio::test]
async fn concurrent_calls_share_one_exchange() {
    let mock = WatsonxMock::builder().start().await.unwrap();
    let p = WatsonxProvider::new("watsonx", config(&mock)).unwrap();
    let ctx = RequestContext::default();
    let calls = (0..8).map(|_| answer(&p, &ctx, LLM));
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(mock.token_grants(), 1);
}

#[tokio::test]
async fn refused_keys_blame_whoever_sent_them() {
    let mock = WatsonxMock::builder().also_api_key("caller-key").start().await.unwrap();
    let mut c = config(&mock);
    c.api_key = Some(Secret::new("wrong"));
    let p = WatsonxProvider::new("watsonx", c).unwrap();
    let e = answer(&p, &RequestContext::default(), LLM).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamError, "{e}");
    assert!(e.message().contains("rejected the credentials of provider watsonx"), "{e}");
    assert!(e.message().contains("BXNIM0415E"), "{e}");
    let e = answer(&p, &data(json!({"watsonx_api_key": "also-wrong"})), LLM).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(answer(&p, &data(json!({"watsonx_api_key": "caller-key"})), LLM).await.is_ok());

    let mut c = config(&mock);
    c.api_key = None;
    let keyless = WatsonxProvider::new("watsonx", c).unwrap();
    let e = answer(&keyless, &RequestContext::default(), LLM).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("watsonx_api_key"), "{e}");
    assert!(!keyless.list_models().await.unwrap().is_empty(), "the specs are public");
}

#[tokio::test]
async fn the_project_comes_from_provider_data_or_config() {
    let mock = WatsonxMock::builder().start().await.unwrap();
    let mut c = config(&mock);
    c.project_id = None;
    let p = WatsonxProvider::new("watsonx", c).unwrap();
    let e = answer(&p, &RequestContext::default(), LLM).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("watsonx_project_id"), "{e}");
    assert!(answer(&p, &data(json!({"watsonx_project_id": "wx-test-project"})), LLM).await.is_ok());
    let e = answer(&p, &data(json!({"watsonx_project_id": "not-mine"})), LLM).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamError, "{e}");
    assert_eq!(mock.requests_to("/ml/v1/text/chat")[0].body["project_id"], "wx-test-project");
}

#[tokio::test]
async fn vendor_errors_arrive_with_their_kinds() {
    let mock = WatsonxMock::builder().start().await.unwrap();
    let p = WatsonxProvider::new("watsonx", config(&mock)).unwrap();
    let ctx = RequestContext::default();
    let e = answer(&p, &ctx, "error-429").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert!(e.message().contains("Retry-After: 2"), "{e}");
    let e = p.chat_completion(&ctx, chat("ibm/granite-tiny-context", &"word ".repeat(40))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ContextLength, "{e}");
    assert_eq!(answer(&p, &ctx, "no/such-model").await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(answer(&p, &ctx, "ibm/slate-30m-english-rtrvr").await.unwrap_err().kind(), ErrorKind::InvalidRequest);
    assert_eq!(answer(&p, &ctx, "garbage").await.unwrap_err().kind(), ErrorKind::UpstreamError);
    let req: EmbeddingsRequest = serde_json::from_value(json!({"model": "ibm/slate-30m-english-rtrvr", "input": "x", "dimensions": 8})).unwrap();
    assert_eq!(p.embeddings(&ctx, req).await.unwrap_err().kind(), ErrorKind::InvalidRequest);

    let stream_req: ChatCompletionRequest =
        serde_json::from_value(json!({"model": "midstream-error", "messages": [{"role": "user", "content": "x"}], "stream": true})).unwrap();
    let Output::Stream(mut s) = p.chat_completion(&ctx, stream_req).await.unwrap() else { panic!("not a stream") };
    let mut items = Vec::new();
    while let Some(item) = s.next().await {
        items.push(item);
    }
    assert_eq!(items.iter().filter(|i| i.is_ok()).count(), 2);
    let last = items.last().unwrap().as_ref().unwrap_err();
    assert!(last.message().contains("internal_server_error"), "{last}");

    let mut c = config(&mock);
    c.url = "http://127.0.0.1:9".into();
    let unreachable = WatsonxProvider::new("watsonx", c).unwrap();
    assert_eq!(answer(&unreachable, &ctx, LLM).await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_through_the_call_layers() {
    let mock = WatsonxMock::builder().start().await.unwrap();
    let config = json!({"url": mock.url(), "iam_url": mock.url(), "api_key": "wx-test-key", "project_id": mock.project_id(), "timeout": 0.3});
    let p = lls_testkit::registered::build_registered::<lls_api_inference::InferenceApi>("remote::watsonx", "watsonx", config).await.unwrap();
    let e = match p.chat_completion(&RequestContext::default(), chat("slow-2000", "x")).await {
        Err(e) => e,
        Ok(_) => panic!("slow-2000 answered within 0.3 s"),
    };
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(e.provider(), Some("watsonx"));
}
