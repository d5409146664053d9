//! The mock against requests signed here with AWS's signer: good and bad keys, old dates,
//! Converse, the event-stream framing, Titan and Cohere embeddings and the model list.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_eventstream::frame::read_message_from;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Buf;
use serde_json::{Value, json};

use super::*;

async fn call(mock: &BedrockMock, key: (&str, &str), at: SystemTime, method: &str, path: &str, body: &Value) -> reqwest::Response {
    let url = format!("{}{path}", mock.url());
    let payload = if method == "GET" { Vec::new() } else { body.to_string().into_bytes() };
    let identity: Identity = Credentials::new(key.0, key.1, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("bedrock")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = [("content-type", "application/json")];
    let signable = SignableRequest::new(method, &url, headers.into_iter(), SignableBody::Bytes(&payload)).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let client = reqwest::Client::new();
    let mut request = client.request(method.parse().unwrap(), &url).header("content-type", "application/json");
    for (k, v) in instructions.headers() {
        request = request.header(k, v);
    }
    request.body(payload).send().await.unwrap()
}

const GOOD: (&str, &str) = (ACCESS_KEY_ID, SECRET_ACCESS_KEY);

fn hello() -> Value {
    json!({"messages": [{"role": "user", "content": [{"text": "Say hello"}]}], "inferenceConfig": {"maxTokens": 32}})
}

#[tokio::test]
async fn signatures_are_verified_as_aws_does() {
    let mock = BedrockMock::builder().start().await.unwrap();
    let path = "/model/meta.llama3-1-8b-instruct-v1%3A0/converse";
    let ok = call(&mock, GOOD, SystemTime::now(), "POST", path, &hello()).await;
    assert_eq!(ok.status(), 200);
    let answer: Value = ok.json().await.unwrap();
    assert_eq!(answer["stopReason"], "end_turn");
    assert!(answer["output"]["message"]["content"][0]["text"].as_str().unwrap().contains("hello"));
    for (key, at, kind, text) in [
        ((ACCESS_KEY_ID, "wrong"), SystemTime::now(), "InvalidSignatureException", "does not match"),
        (("AKIDUNKNOWN", SECRET_ACCESS_KEY), SystemTime::now(), "UnrecognizedClientException", "security token"),
        (GOOD, SystemTime::now() - Duration::from_secs(600), "InvalidSignatureException", "Signature expired"),
    ] {
        let r = call(&mock, key, at, "POST", path, &hello()).await;
        assert_eq!(r.status(), 403);
        assert!(r.headers()["x-amzn-errortype"].to_str().unwrap().starts_with(kind));
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains(text), "{body}");
    }
    let unsigned = reqwest::Client::new().post(format!("{}{path}", mock.url())).body(hello().to_string()).send().await.unwrap();
    assert_eq!(unsigned.status(), 403);
}

#[tokio::test]
async fn streams_are_framed_and_errors_are_awss() {
    let mock = BedrockMock::builder().start().await.unwrap();
    let r = call(&mock, GOOD, SystemTime::now(), "POST", "/model/meta.llama3-1-8b-instruct-v1%3A0/converse-stream", &hello()).await;
    assert_eq!(r.headers()["content-type"], "application/vnd.amazon.eventstream");
    let mut bytes = r.bytes().await.unwrap();
    let mut kinds = Vec::new();
    while bytes.has_remaining() {
        let message = read_message_from(&mut bytes).unwrap();
        let kind = message.headers().iter().find(|h| h.name().as_str() == ":event-type").unwrap();
        kinds.push(kind.value().as_string().unwrap().as_str().to_owned());
    }
    assert_eq!(kinds.first().map(String::as_str), Some("messageStart"));
    assert_eq!(&kinds[kinds.len() - 2..], ["messageStop", "metadata"]);
    let unknown = call(&mock, GOOD, SystemTime::now(), "POST", "/model/nope/converse", &hello()).await;
    assert_eq!(unknown.status(), 400);
    let throttled = call(&mock, GOOD, SystemTime::now(), "POST", "/model/error-429/converse", &hello()).await;
    assert_eq!((throttled.status().as_u16(), throttled.headers()["x-amzn-errortype"].to_str().unwrap().split(':').next()), (429, Some("ThrottlingException")));
    let long = json!({"messages": [{"role": "user", "content": [{"text": "word ".repeat(40)}]}]});
    let overflow: Value = call(&mock, GOOD, SystemTime::now(), "POST", "/model/mock.tiny-context-v1%3A0/converse", &long).await.json().await.unwrap();
    assert_eq!(overflow["message"], "Input is too long for requested model.");
    let assistant_first = json!({"messages": [{"role": "assistant", "content": [{"text": "x"}]}]});
    assert_eq!(call(&mock, GOOD, SystemTime::now(), "POST", "/model/meta.llama3-1-8b-instruct-v1%3A0/converse", &assistant_first).await.status(), 400);
}

#[tokio::test]
async fn embeddings_and_models() {
    let mock = BedrockMock::builder().start().await.unwrap();
    let titan: Value = call(&mock, GOOD, SystemTime::now(), "POST", "/model/amazon.titan-embed-text-v2%3A0/invoke", &json!({"inputText": "hi", "dimensions": 256}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(titan["embedding"].as_array().unwrap().len(), 256);
    let cohere: Value = call(&mock, GOOD, SystemTime::now(), "POST", "/model/cohere.embed-english-v3/invoke", &json!({"texts": ["a", "b"], "input_type": "search_query"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cohere["embeddings"].as_array().unwrap().len(), 2);
    let extraneous = call(&mock, GOOD, SystemTime::now(), "POST", "/model/amazon.titan-embed-text-v1/invoke", &json!({"inputText": "hi", "dimensions": 256})).await;
    assert_eq!(extraneous.status(), 400);
    let models: Value = call(&mock, GOOD, SystemTime::now(), "GET", "/foundation-models?byOutputModality=EMBEDDING", &Value::Null).await.json().await.unwrap();
    let ids: Vec<&str> = models["modelSummaries"].as_array().unwrap().iter().filter_map(|m| m["modelId"].as_str()).collect();
    assert_eq!(ids, ["amazon.titan-embed-text-v2:0", "amazon.titan-embed-text-v1", "cohere.embed-english-v3"]);
}
