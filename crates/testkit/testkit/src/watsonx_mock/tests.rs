//! The mock against plain HTTP: IAM's exchange and refusals, token expiry, the checks every
//! watsonx.ai call passes, answers, stream framing, paging and watsonx's error bodies.

use std::time::Duration;

use serde_json::{Value, json};

use super::{APIKEY_GRANT_TYPE, WatsonxMock};

const VERSION: &str = "version=2025-02-11";

async fn token(mock: &WatsonxMock, key: &str) -> reqwest::Response {
    let form = format!("grant_type={}&apikey={key}", form_urlencoded::byte_serialize(APIKEY_GRANT_TYPE.as_bytes()).collect::<String>());
    reqwest::Client::new()
        .post(format!("{}/identity/token", mock.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
}

async fn access_token(mock: &WatsonxMock) -> String {
    let answer: Value = token(mock, "wx-test-key").await.json().await.unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

async fn post(mock: &WatsonxMock, path: &str, query: &str, token: Option<&str>, body: Value) -> (u16, String) {
    let mut req = reqwest::Client::new().post(format!("{}{path}?{query}", mock.url())).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn chat_body(model: &str, text: &str) -> Value {
    json!({"model_id": model, "project_id": "wx-test-project", "messages": [{"role": "user", "content": text}], "max_tokens": 32})
}

fn first_error(body: &str) -> (String, u64) {
    let v: Value = serde_json::from_str(body).unwrap();
    (v["errors"][0]["code"].as_str().unwrap().to_owned(), v["status_code"].as_u64().unwrap())
}

#[tokio::test]
async fn iam_issues_jwt_shaped_tokens_for_known_keys_only() {
    let mock = WatsonxMock::builder().start().await.unwrap();
    let answer: Value = token(&mock, "wx-test-key").await.json().await.unwrap();
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 3600);
    let parts: Vec<&str> = answer["access_token"].as_str().unwrap().split('.').collect();
    assert_eq!(parts.len(), 3);
    assert!(!parts[1].contains(['-', '_']));
    use base64::Engine;
    let claims: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["exp"], answer["expiration"]);
    let refused = token(&mock, "nope").await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errorCode"], "BXNIM0415E");
    assert_eq!(mock.token_grants(), 1);
}

#[tokio::test]
async fn watsonx_calls_need_version_token_and_project() {
    let mock = WatsonxMock::builder().start().await.unwrap();
    let body = chat_body("ibm/granite-3-3-8b-instruct", "hi");
    let (status, text) = post(&mock, "/ml/v1/text/chat", VERSION, None, body.clone()).await;
    assert_eq!((status, first_error(&text)), (401, ("authorization_rejected".into(), 401)));
    let (status, text) = post(&mock, "/ml/v1/text/chat", VERSION, Some("a.b.c"), body.clone()).await;
    assert_eq!((status, first_error(&text).0.as_str()), (401, "authentication_token_not_valid"));
    let t = access_token(&mock).await;
    let (status, text) = post(&mock, "/ml/v1/text/chat", "", Some(&t), body.clone()).await;
    assert_eq!((status, first_error(&text).0.as_str()), (400, "missing_argument"));
    let (status, _) = post(&mock, "/ml/v1/text/chat", "version=yesterday", Some(&t), body.clone()).await;
    assert_eq!(status, 400);
    let mut other = body.clone();
    other["project_id"] = json!("someone-elses");
    assert_eq!(post(&mock, "/ml/v1/text/chat", VERSION, Some(&t), other).await.0, 403);
    let mut unknown = body.clone();
    unknown["stream_options"] = json!({"include_usage": true});
    let (status, text) = post(&mock, "/ml/v1/text/chat", VERSION, Some(&t), unknown).await;
    assert_eq!((status, first_error(&text).0.as_str()), (400, "json_validation_error"));
    let (status, text) = post(&mock, "/ml/v1/text/chat", VERSION, Some(&t), body).await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["model_id"], "ibm/granite-3-3-8b-instruct");
    assert!(v["choices"][0]["message"]["content"].as_str().unwrap().contains("hi"), "{v}");
    assert!(v["usage"]["total_tokens"].as_i64().unwrap() > 0);
    assert!(v["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn tokens_expire_and_can_be_revoked() {
    let mock = WatsonxMock::builder().token_ttl(Duration::from_secs(1)).start().await.unwrap();
    let t = access_token(&mock).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, text) = post(&mock, "/ml/v1/text/chat", VERSION, Some(&t), chat_body("ibm/granite-3-3-8b-instruct", "x")).await;
    assert_eq!((status, first_error(&text).0.as_str()), (401, "authentication_token_expired"));
    mock.set_token_ttl(Duration::from_secs(60));
    let t = access_token(&mock).await;
    mock.revoke_tokens();
    assert_eq!(post(&mock, "/ml/v1/text/chat", VERSION, Some(&t), chat_body("ibm/granite-3-3-8b-instruct", "x")).await.0, 401);
}

#[tokio::test]
async fn models_failures_and_context_length_answer_as_watsonx() {
    let mock = WatsonxMock::builder().start().await.unwrap();
    let t = access_token(&mock).await;
    let cases = [
        ("no/such-model", 404, "model_not_supported"),
        ("ibm/slate-30m-english-rtrvr", 400, "model_no_support_for_function"),
        ("error-429", 429, "too_many_requests"),
        ("error-503", 503, "service_unavailable"),
    ];
    for (model, status, code) in cases {
        let (s, text) = post(&mock, "/ml/v1/text/chat", VERSION, Some(&t), chat_body(model, "x")).await;
        assert_eq!((s, first_error(&text).0.as_str()), (status, code), "{model}");
    }
    let long = "word ".repeat(40);
    let (s, text) = post(&mock, "/ml/v1/text/chat", VERSION, Some(&t), chat_body("ibm/granite-tiny-context", &long)).await;
    assert_eq!((s, first_error(&text).0.as_str()), (400, "invalid_input_argument"));
    assert!(text.contains("cannot exceed the total tokens limit 16"), "{text}");
}

#[tokio::test]
async fn chat_stream_is_framed_with_ids_and_message_events() {
    let mock = WatsonxMock::builder().start().await.unwrap();
    let t = access_token(&mock).await;
    let (status, text) = post(&mock, "/ml/v1/text/chat_stream", VERSION, Some(&t), chat_body("ibm/granite-3-3-8b-instruct", "stream me")).await;
    assert_eq!(status, 200);
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert!(events.len() > 2);
    for (i, e) in events.iter().enumerate() {
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines[0], format!("id: {}", i + 1));
        assert_eq!(lines[1], "event: message");
        assert!(lines[2].starts_with("data: {"));
    }
    let last: Value = serde_json::from_str(events.last().unwrap().lines().nth(2).unwrap().trim_start_matches("data: ")).unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert!(last["usage"]["completion_tokens"].as_i64().unwrap() > 0);
    let (_, broken) = post(&mock, "/ml/v1/text/chat_stream", VERSION, Some(&t), chat_body("midstream-error", "x")).await;
    assert!(broken.contains("event: error\ndata: {\"errors\""), "{broken}");
}

#[tokio::test]
async fn generation_embeddings_and_paged_specs() {
    let mock = WatsonxMock::builder().start().await.unwrap();
    let t = access_token(&mock).await;
    let body = json!({"model_id": "ibm/granite-3-3-8b-instruct", "project_id": "wx-test-project", "input": "The capital of France is",
        "parameters": {"max_new_tokens": 3, "return_options": {"generated_tokens": true, "token_logprobs": true, "top_n_tokens": 2}}});
    let (status, text) = post(&mock, "/ml/v1/text/generation", VERSION, Some(&t), body).await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["results"][0]["stop_reason"], "max_tokens");
    assert_eq!(v["results"][0]["generated_tokens"].as_array().unwrap().len(), 3);
    let body = json!({"model_id": "ibm/slate-30m-english-rtrvr", "project_id": "wx-test-project", "inputs": ["a b", "c"]});
    let (status, text) = post(&mock, "/ml/v1/text/embeddings", VERSION, Some(&t), body).await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["results"].as_array().unwrap().len(), 2);
    assert_eq!(v["results"][0]["embedding"].as_array().unwrap().len(), 384);
    assert_eq!(v["input_token_count"], 3);
    let page: Value = reqwest::get(format!("{}/ml/v1/foundation_model_specs?{VERSION}&limit=2", mock.url())).await.unwrap().json().await.unwrap();
    assert_eq!(page["resources"].as_array().unwrap().len(), 2);
    assert_eq!(page["total_count"], 5);
    let next: Value = reqwest::get(page["next"]["href"].as_str().unwrap()).await.unwrap().json().await.unwrap();
    assert_eq!(next["resources"][0]["model_id"], "ibm/granite-tiny-context");
    let missing = reqwest::get(format!("{}/ml/v1/foundation_model_specs", mock.url())).await.unwrap();
    assert_eq!(missing.status(), 400);
}
