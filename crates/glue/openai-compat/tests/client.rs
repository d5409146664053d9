//! The client against a tiny in-process axum backend whose behaviour follows the model name:
//! credentials, error statuses, timeouts, stream failures and cancellation.
// The mock backend's handlers and the helpers are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use lls_api_common::{ErrorKind, RequestContext, Secret};
use lls_api_inference::{ChatCompletionRequest, EmbeddingsRequest, Output};
use lls_openai_compat::{ClientConfig, OpenAiCompatClient};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Backend {
    auth: Arc<std::sync::Mutex<Vec<String>>>,
    bodies: Arc<std::sync::Mutex<Vec<Value>>>,
    stream_dropped: Arc<AtomicBool>,
}

fn chunk(text: &str) -> String {
    let c = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]});
    format!("data: {c}\n\n")
}

/// Sets a flag when the server-side body is dropped, i.e. when the client went away.
struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn chat(State(b): State<Backend>, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    b.auth.lock().unwrap().push(auth);
    b.bodies.lock().unwrap().push(body.0.clone());
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    if let Some(code) = model.strip_prefix("error-") {
        let status = StatusCode::from_u16(code.parse().unwrap()).unwrap();
        let err = json!({"error": {"message": format!("injected {code}"), "type": "x", "param": null, "code": null}});
        return (status, axum::Json(err)).into_response();
    }
    match model.as_str() {
        "garbage" => "this is not json".into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_millis(800)).await;
            axum::Json(json!({})).into_response()
        }
        "json-error" => axum::Json(json!({"error": {"message": "no streaming today"}})).into_response(),
        "stream" => sse(vec![Ok(chunk("Hel")), Ok(chunk("lo")), Ok("data: [DONE]\n\n".into())]),
        "drop" => sse(vec![Ok(chunk("Hel")), Err(std::io::Error::other("boom"))]),
        "endless" => {
            let flag = DropFlag(b.stream_dropped.clone());
            let s = futures::stream::unfold(flag, |flag| async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Some((Ok::<_, Infallible>(chunk("x")), flag))
            });
            Response::builder().header("content-type", "text/event-stream").body(Body::from_stream(s)).unwrap()
        }
        _ => axum::Json(json!({"id": "c1", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}))
        .into_response(),
    }
}

fn sse(parts: Vec<Result<String, std::io::Error>>) -> Response {
    let s = futures::stream::iter(parts).then(|p| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        p
    });
    Response::builder().header("content-type", "text/event-stream").body(Body::from_stream(s)).unwrap()
}

async fn embeddings(State(b): State<Backend>, body: axum::Json<Value>) -> axum::Json<Value> {
    b.bodies.lock().unwrap().push(body.0.clone());
    axum::Json(json!({"object": "list", "model": body["model"], "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 1.0]}],
        "usage": {"prompt_tokens": 1, "total_tokens": 1}}))
}

async fn models() -> axum::Json<Value> {
    axum::Json(json!({"object": "list", "data": [{"id": "a", "object": "model", "created": 7, "owned_by": "me", "max_model_len": 4096}]}))
}

async fn start() -> (String, Backend) {
    let backend = Backend::default();
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/models", get(models))
        .with_state(backend.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1/"), backend)
}

fn client(base: &str, key: Option<&str>) -> OpenAiCompatClient {
    let mut config = ClientConfig::new("p1", base);
    config.api_key = key.map(Secret::new);
    config.provider_data_key = Some("p1_api_key");
    config.read_timeout = Duration::from_millis(300);
    OpenAiCompatClient::new(config).unwrap()
}

fn chat_request(model: &str, stream: bool) -> ChatCompletionRequest {
    serde_json::from_value(json!({"model": model, "messages": [{"role": "user", "content": "hi"}],
        "stream": stream, "guided_choice": ["a"]}))
    .unwrap()
}

fn ctx_with_key(key: &str) -> RequestContext {
    let mut data = serde_json::Map::new();
    data.insert("p1_api_key".into(), json!(key));
    RequestContext::new(data)
}

#[tokio::test]
async fn complete_call_forwards_extras_and_config_key() {
    let (base, backend) = start().await;
    let c = client(&base, Some("cfg"));
    let Output::Complete(done) = c.chat_completion(&RequestContext::default(), &chat_request("m", false)).await.unwrap() else {
        panic!("expected a whole completion")
    };
    let done = done.into_typed().unwrap();
    assert_eq!(done.choices[0].message.content.as_deref(), Some("hi"));
    assert_eq!(backend.auth.lock().unwrap()[0], "Bearer cfg");
    assert_eq!(backend.bodies.lock().unwrap()[0]["guided_choice"], json!(["a"]));
}

#[tokio::test]
async fn provider_data_key_overrides_config() {
    let (base, backend) = start().await;
    let c = client(&base, Some("cfg"));
    c.chat_completion(&ctx_with_key("mine"), &chat_request("m", false)).await.unwrap();
    c.chat_completion(&ctx_with_key(""), &chat_request("m", false)).await.unwrap();
    let no_key = client(&base, None);
    no_key.chat_completion(&RequestContext::default(), &chat_request("m", false)).await.unwrap();
    assert_eq!(*backend.auth.lock().unwrap(), vec!["Bearer mine", "Bearer cfg", ""]);
    assert!(!no_key.has_api_key(&RequestContext::default()));
    assert!(no_key.has_api_key(&ctx_with_key("k")));
}

#[tokio::test]
async fn error_statuses_map_to_kinds() {
    let (base, _) = start().await;
    let c = client(&base, Some("cfg"));
    let ctx = RequestContext::default();
    for (model, kind) in [
        ("error-400", ErrorKind::InvalidRequest),
        ("error-404", ErrorKind::NotFound),
        ("error-429", ErrorKind::RateLimited),
        ("error-500", ErrorKind::UpstreamError),
        ("error-401", ErrorKind::UpstreamError),
        ("garbage", ErrorKind::UpstreamError),
        ("slow", ErrorKind::Timeout),
    ] {
        let e = c.chat_completion(&ctx, &chat_request(model, false)).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{model}: {e}");
        assert_eq!(e.provider(), Some("p1"));
    }
    let e = c.chat_completion(&ctx_with_key("bad"), &chat_request("error-401", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    let e = c.chat_completion(&ctx, &chat_request("error-400", false)).await.unwrap_err();
    assert_eq!(e.message(), "injected 400");
}

#[tokio::test]
async fn error_status_fails_the_stream_call_itself() {
    let (base, _) = start().await;
    let c = client(&base, None);
    let e = c.chat_completion(&RequestContext::default(), &chat_request("error-429", true)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    let e = c.chat_completion(&RequestContext::default(), &chat_request("json-error", true)).await.unwrap_err();
    assert!(e.message().contains("no streaming today"), "{e}");
}

#[tokio::test]
async fn unreachable_backend_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let c = client(&format!("http://127.0.0.1:{port}/v1"), None);
    let e = c.chat_completion(&RequestContext::default(), &chat_request("m", false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
    assert!(e.message().starts_with("provider p1 is unreachable at http://127.0.0.1:"), "{e}");
}

async fn stream_items(c: &OpenAiCompatClient, model: &str) -> Vec<lls_api_common::Result<String>> {
    let Output::Stream(s) = c.chat_completion(&RequestContext::default(), &chat_request(model, true)).await.unwrap() else {
        panic!("expected a stream")
    };
    s.map(|r| r.and_then(|c| c.into_typed()).map(|c| c.choices[0].delta.content.clone().unwrap_or_default())).collect().await
}

#[tokio::test]
async fn streams_chunks_and_stops_at_done() {
    let (base, _) = start().await;
    let items = stream_items(&client(&base, None), "stream").await;
    let texts: Vec<String> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(texts, vec!["Hel", "lo"]);
}

#[tokio::test]
async fn dropped_connection_ends_the_stream_with_one_error() {
    let (base, _) = start().await;
    let items = stream_items(&client(&base, None), "drop").await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_deref().unwrap(), "Hel");
    let e = items[1].as_ref().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamError);
    assert_eq!(e.provider(), Some("p1"));
    assert!(e.message().starts_with("provider p1 dropped the connection mid-response"), "{e}");
}

#[tokio::test]
async fn dropping_the_stream_cancels_upstream() {
    let (base, backend) = start().await;
    let c = client(&base, None);
    let Output::Stream(mut s) = c.chat_completion(&RequestContext::default(), &chat_request("endless", true)).await.unwrap() else {
        panic!("expected a stream")
    };
    s.next().await.unwrap().unwrap();
    drop(s);
    for _ in 0..100 {
        if backend.stream_dropped.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the backend kept streaming after the client dropped the stream");
}

#[tokio::test]
async fn embeddings_and_models() {
    let (base, backend) = start().await;
    let c = client(&base, None);
    let req: EmbeddingsRequest =
        serde_json::from_value(json!({"model": "e", "input": ["a"], "encoding_format": "float", "dimensions": 2, "user": "u"}))
            .unwrap();
    let out = c.embeddings(&RequestContext::default(), &req).await.unwrap().into_typed().unwrap();
    assert_eq!(out.data[0].embedding.to_floats().unwrap(), vec![0.5, 1.0]);
    let sent = backend.bodies.lock().unwrap()[0].clone();
    assert_eq!((sent["encoding_format"].clone(), sent["dimensions"].clone(), sent["user"].clone()), (json!("float"), json!(2), json!("u")));
    let models = c.list_models(&RequestContext::default()).await.unwrap();
    assert_eq!(models[0].id, "a");
    assert_eq!(models[0].owned_by.as_deref(), Some("me"));
    assert_eq!(models[0].extra["max_model_len"], 4096);
}

#[test]
fn bad_config_fails_at_construction() {
    assert!(OpenAiCompatClient::new(ClientConfig::new("p1", "not a url")).is_err());
    assert!(OpenAiCompatClient::new(ClientConfig::new("p1", "ftp://x/v1")).is_err());
    let mut c = ClientConfig::new("p1", "http://x/v1");
    c.tls_verify = lls_openai_compat::TlsVerify::CaBundle("/nonexistent/ca.pem".into());
    let e = OpenAiCompatClient::new(c).unwrap_err();
    assert!(e.message().contains("cannot read CA bundle"), "{e}");
    let mut c = ClientConfig::new("p1", "http://x/v1");
    c.default_headers.insert("bad header".into(), "v".into());
    assert!(OpenAiCompatClient::new(c).is_err());
}
