//! `remote::vertexai` against the test kit's Vertex AI mock: where tokens come from (a
//! service-account key, an authorized user, the metadata server), their reuse, renewal before
//! expiry and after a refusal, provider data, and Google's errors as our kinds.
// Integration-test helpers are not #[test] functions; the lints allow these only in tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures::StreamExt;
use lls_api_common::{ErrorKind, HealthState, RequestContext};
use lls_api_inference::{ChatCompletionRequest, CompletionRequest, Inference, InferenceProvider, Output};
use lls_inference_remote_vertexai::{VertexAiConfig, VertexAiProvider};
use lls_testkit::{KeyFile, VertexMock};
use serde_json::json;

fn config(mock: &VertexMock, key: &KeyFile) -> VertexAiConfig {
    let mut config = VertexAiConfig::new(mock.project(), mock.location());
    config.base_url = Some(mock.endpoint());
    config.credentials_path = Some(key.path().to_string_lossy().into_owned());
    config
}

fn chat(model: &str, text: &str) -> ChatCompletionRequest {
    serde_json::from_value(json!({"model": model, "messages": [{"role": "user", "content": text}]})).unwrap()
}

fn with_data(data: serde_json::Value) -> RequestContext {
    RequestContext::new(data.as_object().unwrap().clone().into_iter().collect())
}

async fn answer(p: &VertexAiProvider, ctx: &RequestContext, model: &str) -> lls_api_common::Result<String> {
    match p.chat_completion(ctx, chat(model, "Say hello")).await? {
        Output::Complete(a) => {
            let v: serde_json::Value = serde_json::from_slice(&a.to_bytes().unwrap()).unwrap();
            Ok(v["choices"][0]["message"]["content"].as_str().unwrap().to_owned())
        }
        Output::Stream(_) => panic!("asked for a whole answer"),
    }
}

#[tokio::test]
async fn a_service_account_token_is_reused_then_renewed_before_expiry() {
    let mock = VertexMock::builder().token_ttl(Duration::from_secs(2)).start().await.unwrap();
    let key = mock.write_service_account().unwrap();
    let p = VertexAiProvider::new("vertexai", config(&mock, &key)).unwrap();
    let ctx = RequestContext::default();
    assert!(!answer(&p, &ctx, "google/gemini-2.5-flash").await.unwrap().is_empty());
    answer(&p, &ctx, "google/gemini-2.0-flash").await.unwrap();
    assert_eq!(mock.grants(), 1, "one token for both calls");
    // A 2 s token is renewed a second before it expires.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    answer(&p, &ctx, "google/gemini-2.5-pro").await.unwrap();
    assert_eq!(mock.grants(), 2);
    let auth: Vec<_> = mock.requests().into_iter().filter(|r| r.path.ends_with("/chat/completions")).map(|r| r.authorization.unwrap()).collect();
    assert!(auth.iter().all(|a| a.starts_with("Bearer ya29.mock-")), "{auth:?}");
    assert_eq!(auth[0], auth[1]);
    assert_ne!(auth[1], auth[2]);
}

#[tokio::test]
async fn concurrent_calls_share_one_exchange_and_a_refused_token_is_renewed_once() {
    let mock = VertexMock::builder().start().await.unwrap();
    let key = mock.write_service_account().unwrap();
    let p = VertexAiProvider::new("vertexai", config(&mock, &key)).unwrap();
    let ctx = RequestContext::default();
    let calls = (0..8).map(|_| answer(&p, &ctx, "google/gemini-2.5-flash"));
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(mock.grants(), 1);
    mock.revoke_tokens();
    let streamed = match p.chat_completion(&ctx, {
        let mut r = chat("google/gemini-2.5-flash", "hi");
        r.stream = Some(true);
        r
    })
    .await
    .unwrap()
    {
        Output::Stream(s) => s.collect::<Vec<_>>().await,
        Output::Complete(_) => panic!("asked for a stream"),
    };
    assert!(streamed.len() > 1 && streamed.iter().all(Result::is_ok));
    assert_eq!(mock.grants(), 2, "the refused token was renewed once");
    let refused = mock.requests().iter().filter(|r| r.path.ends_with("/chat/completions")).count();
    assert_eq!(refused, 10, "8 calls, then one refused and repeated");
}

#[tokio::test]
async fn authorized_user_and_metadata_server_credentials() {
    let mock = VertexMock::builder().start().await.unwrap();
    let user = mock.write_authorized_user().unwrap();
    let p = VertexAiProvider::new("vertexai", config(&mock, &user)).unwrap();
    answer(&p, &RequestContext::default(), "google/gemini-2.5-flash").await.unwrap();
    assert_eq!(p.health().await.status, HealthState::Ok);

    let mut from_metadata = VertexAiConfig::new(mock.project(), mock.location());
    from_metadata.base_url = Some(mock.endpoint());
    from_metadata.metadata_url = Some(mock.endpoint());
    // An environment without GOOGLE_APPLICATION_CREDENTIALS or gcloud's file.
    let p = VertexAiProvider::with_env("vertexai", from_metadata, &|_| None).unwrap();
    answer(&p, &RequestContext::default(), "google/gemini-2.5-flash").await.unwrap();
    let metadata = mock.requests().into_iter().filter(|r| r.path.starts_with("/computeMetadata")).count();
    assert_eq!(metadata, 1);
}

#[tokio::test]
async fn refused_or_missing_credentials_are_the_operators_problem() {
    let mock = VertexMock::builder().start().await.unwrap();
    let other = VertexMock::builder().start().await.unwrap();
    // A key the token endpoint does not know: signed by another service account.
    let mut foreign = other.service_account();
    foreign["token_uri"] = json!(mock.token_uri());
    let path = std::env::temp_dir().join(format!("lls-vertex-foreign-{}.json", std::process::id()));
    std::fs::write(&path, foreign.to_string()).unwrap();
    let mut c = VertexAiConfig::new(mock.project(), mock.location());
    c.base_url = Some(mock.endpoint());
    c.credentials_path = Some(path.to_string_lossy().into_owned());
    let p = VertexAiProvider::new("vertexai", c).unwrap();
    let e = answer(&p, &RequestContext::default(), "google/gemini-2.5-flash").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamError, "{e}");
    assert!(e.message().contains("invalid_grant") && e.message().contains(other.client_email()), "{e}");
    assert_eq!(p.health().await.status, HealthState::Error);
    std::fs::remove_file(&path).unwrap();

    // No file and no metadata server.
    let mut c = VertexAiConfig::new(mock.project(), mock.location());
    c.base_url = Some(mock.endpoint());
    c.metadata_url = Some("http://127.0.0.1:9".into());
    let p = VertexAiProvider::with_env("vertexai", c, &|_| None).unwrap();
    let e = answer(&p, &RequestContext::default(), "google/gemini-2.5-flash").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "{e}");
    assert!(e.message().contains("no Google credentials"), "{e}");

    let mut c = VertexAiConfig::new("p", "us-central1");
    c.credentials_path = Some("/no/such/key.json".into());
    let e = VertexAiProvider::new("vertexai", c).unwrap_err();
    assert!(e.message().contains("config.credentials_path: cannot read the credentials file /no/such/key.json"), "{e}");
}

#[tokio::test]
async fn provider_data_names_the_project_and_location() {
    let mock = VertexMock::builder().start().await.unwrap();
    let key = mock.write_service_account().unwrap();
    let p = VertexAiProvider::new("vertexai", config(&mock, &key)).unwrap();
    answer(&p, &with_data(json!({"vertex_location": "global"})), "google/gemini-2.5-flash").await.unwrap();
    assert!(mock.requests().iter().any(|r| r.path.contains("/locations/global/endpoints/openapi/chat/completions")));

    let e = answer(&p, &with_data(json!({"vertex_project": "someone-elses"})), "google/gemini-2.5-flash").await.unwrap_err();
    assert_eq!((e.kind(), e.param()), (ErrorKind::Forbidden, Some("vertex_project")), "{e}");
    assert!(e.message().contains("PERMISSION_DENIED"), "{e}");
    let e = answer(&p, &with_data(json!({"vertex_location": "x.evil.com/"})), "google/gemini-2.5-flash").await.unwrap_err();
    assert_eq!((e.kind(), e.param()), (ErrorKind::InvalidRequest, Some("vertex_location")), "{e}");
    // The configured project, when the credentials may not use it, is the operator's problem.
    let mut c = config(&mock, &key);
    c.project = "someone-elses".into();
    let p = VertexAiProvider::new("vertexai", c).unwrap();
    let e = answer(&p, &RequestContext::default(), "google/gemini-2.5-flash").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamError, "{e}");
}

#[tokio::test]
async fn vertex_errors_become_our_kinds() {
    let mock = VertexMock::builder().start().await.unwrap();
    let key = mock.write_service_account().unwrap();
    let p = VertexAiProvider::new("vertexai", config(&mock, &key)).unwrap();
    let ctx = RequestContext::default();
    let e = answer(&p, &ctx, "google/gemini-9").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().contains("Publisher Model"), "{e}");
    let e = answer(&p, &ctx, "error-429").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert!(e.message().contains("Retry-After: 5"), "{e}");
    let long = "word ".repeat(5000);
    let e = p.chat_completion(&ctx, chat("google/gemini-2.5-flash", &long)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ContextLength, "{e}");
    assert_eq!(answer(&p, &ctx, "error-504").await.unwrap_err().kind(), ErrorKind::Timeout);
    let e = answer(&p, &ctx, "error-401").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamError);
    assert_eq!(mock.grants(), 2, "a 401 renews the token once, then gives up");
    let completion: CompletionRequest = serde_json::from_value(json!({"model": "google/gemini-2.5-flash", "prompt": "x"})).unwrap();
    assert_eq!(p.completion(&ctx, completion).await.unwrap_err().kind(), ErrorKind::Unsupported);

    let mut c = config(&mock, &key);
    c.base_url = Some("http://127.0.0.1:9".into());
    let p = VertexAiProvider::new("vertexai", c).unwrap();
    assert_eq!(answer(&p, &ctx, "google/gemini-2.5-flash").await.unwrap_err().kind(), ErrorKind::UpstreamUnavailable);
}
