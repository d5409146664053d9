//! The mock over real HTTP (reqwest against 127.0.0.1): JSON shapes, SSE framing and `[DONE]`,
//! tool-call streaming, base64 embeddings, auth, strict models and failure injection.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::*;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post(mock: &MockOpenAi, path: &str, body: Value) -> (u16, Value) {
    let r = client()
        .post(format!("{}{path}", mock.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// The raw SSE body and its `data:` payloads, checking the framing on the way.
async fn sse(mock: &MockOpenAi, path: &str, body: Value) -> (String, Vec<String>) {
    let r = client()
        .post(format!("{}{path}", mock.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let text = r.text().await.unwrap();
    assert!(text.ends_with("\n\n"), "frames end with a blank line");
    let frames: Vec<String> = text
        .split_terminator("\n\n")
        .map(|f| {
            f.strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data frame: {f:?}"))
                .to_owned()
        })
        .collect();
    (text, frames)
}

fn chunks(frames: &[String]) -> Vec<Value> {
    assert_eq!(frames.last().map(String::as_str), Some("[DONE]"));
    frames[..frames.len() - 1]
        .iter()
        .map(|f| serde_json::from_str(f).unwrap())
        .collect()
}

fn chat_body(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn lists_models_and_checks_the_key() {
    let mock = MockOpenAi::builder().api_key("k").start().await.unwrap();
    let url = format!("{}/models", mock.base_url());
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert_eq!(body["error"]["message"], "Incorrect API key provided");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let r = client()
        .get(&url)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = client()
        .get(&url)
        .bearer_auth("k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["object"], "list");
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mock-llm", "mock-embed"]);
    assert_eq!(body["data"][0]["object"], "model");
    assert!(body["data"][0]["created"].is_i64() && body["data"][0]["owned_by"].is_string());
    let recorded = mock.requests();
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[2].header("Authorization"), Some("Bearer k"));
    assert_eq!(recorded[2].path, "/v1/models");
    assert_eq!(recorded[0].header("authorization"), None);
    mock.clear_requests();
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn chat_answers_and_records_the_body() {
    let mock = MockOpenAi::start().await.unwrap();
    let r = client()
        .post(format!("{}/chat/completions", mock.base_url()))
        .header("x-trace", "t1")
        .json(&chat_body("anything-goes", "hello there"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["id"], "chatcmpl-mock-1");
    assert_eq!(c["object"], "chat.completion");
    assert_eq!(c["model"], "anything-goes");
    assert_eq!(
        c["choices"][0]["message"]["content"],
        "Mock answer. You asked: hello there"
    );
    assert_eq!(c["choices"][0]["message"]["role"], "assistant");
    assert!(c["choices"][0]["message"]["tool_calls"].is_null());
    assert_eq!(c["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        c["usage"],
        json!({"prompt_tokens": 2, "completion_tokens": 6, "total_tokens": 8})
    );
    let recorded = &mock.requests()[0];
    assert_eq!(recorded.method, "POST");
    assert_eq!(recorded.header("x-trace"), Some("t1"));
    assert_eq!(
        recorded.body.as_ref().unwrap()["messages"][0]["content"],
        "hello there"
    );
}

#[tokio::test]
async fn validates_like_openai() {
    let mock = MockOpenAi::builder()
        .models(["mock-llm", "mock-embed"])
        .start()
        .await
        .unwrap();
    let (s, b) = post(&mock, "/chat/completions", json!({"messages": []})).await;
    assert_eq!((s, b["error"]["param"].as_str()), (400, Some("model")));
    assert_eq!(b["error"]["type"], "invalid_request_error");
    let (s, b) = post(&mock, "/chat/completions", json!({"model": "mock-llm"})).await;
    assert_eq!((s, b["error"]["param"].as_str()), (400, Some("messages")));
    let (s, b) = post(
        &mock,
        "/chat/completions",
        json!({"model": "mock-llm", "messages": []}),
    )
    .await;
    assert_eq!((s, b["error"]["param"].as_str()), (400, Some("messages")));
    let (s, b) = post(&mock, "/chat/completions", chat_body("gpt-nope", "x")).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (404, Some("model_not_found"))
    );
    let (s, _) = post(&mock, "/chat/completions", chat_body("mock-embed", "x")).await;
    assert_eq!(s, 400);
    let r = client()
        .post(format!("{}/chat/completions", mock.base_url()))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client()
        .get(format!("{}/nowhere", mock.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].is_string());
}

#[tokio::test]
async fn chat_stream_is_framed_like_openai() {
    let mock = MockOpenAi::start().await.unwrap();
    let (_, whole) = post(
        &mock,
        "/chat/completions",
        chat_body("mock-llm", "stream this"),
    )
    .await;
    let mut body = chat_body("mock-llm", "stream this");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (text, frames) = sse(&mock, "/chat/completions", body).await;
    assert!(text.ends_with("data: [DONE]\n\n"));
    let chunks = chunks(&frames);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["id"] == chunks[0]["id"])
    );
    let content: String = chunks
        .iter()
        .filter_map(|c| {
            c["choices"].get(0)?["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        content,
        whole["choices"][0]["message"]["content"].as_str().unwrap()
    );
    assert!(chunks.len() > 4, "content is split into word pieces");
    let finish = &chunks[chunks.len() - 2]["choices"][0];
    assert_eq!(finish["finish_reason"], "stop");
    assert_eq!(finish["delta"], json!({}));
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["total_tokens"], 8);
}

#[tokio::test]
async fn tool_calls_stream_like_openai() {
    let mock = MockOpenAi::start().await.unwrap();
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}, "days": {"type": "integer"}},
        "required": ["city", "unit"]}}}]);
    let mut body = chat_body("mock-llm", "Weather in Lyon?");
    body["tools"] = tools;
    let (_, whole) = post(&mock, "/chat/completions", body.clone()).await;
    let call = &whole["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(
        call["function"]["arguments"],
        r#"{"city":"Lyon","unit":"c"}"#
    );
    assert!(whole["choices"][0]["message"]["content"].is_null());
    assert_eq!(whole["choices"][0]["finish_reason"], "tool_calls");
    body["stream"] = json!(true);
    let (_, frames) = sse(&mock, "/chat/completions", body).await;
    let chunks = chunks(&frames);
    let head = &chunks[0]["choices"][0]["delta"];
    assert_eq!(head["role"], "assistant");
    let t = &head["tool_calls"][0];
    assert_eq!(
        (t["index"].as_u64(), t["type"].as_str()),
        (Some(0), Some("function"))
    );
    assert!(t["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(
        (
            t["function"]["name"].as_str(),
            t["function"]["arguments"].as_str()
        ),
        (Some("get_weather"), Some(""))
    );
    let fragments: Vec<&Value> = chunks[1..]
        .iter()
        .filter_map(|c| c["choices"].get(0)?["delta"].get("tool_calls"))
        .collect();
    assert!(fragments.len() > 1);
    assert!(
        fragments
            .iter()
            .all(|f| f[0]["index"] == 0 && f[0].get("id").is_none())
    );
    let args: String = fragments
        .iter()
        .map(|f| f[0]["function"]["arguments"].as_str().unwrap())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"city": "Lyon", "unit": "c"})
    );
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
}

#[tokio::test]
async fn chat_options_n_max_tokens_stop_logprobs_formats() {
    let mock = MockOpenAi::start().await.unwrap();
    let mut body = chat_body("mock-llm", "one two three");
    body["n"] = json!(2);
    body["max_tokens"] = json!(2);
    body["logprobs"] = json!(true);
    body["top_logprobs"] = json!(2);
    let (_, c) = post(&mock, "/chat/completions", body).await;
    assert_eq!(c["choices"].as_array().unwrap().len(), 2);
    assert_eq!(c["choices"][1]["index"], 1);
    assert_eq!(c["choices"][1]["message"]["content"], "Mock answer.");
    assert_eq!(c["choices"][1]["finish_reason"], "length");
    let lp = c["choices"][0]["logprobs"]["content"].as_array().unwrap();
    assert_eq!(lp.len(), 2);
    assert_eq!(lp[1]["token"], " answer.");
    assert!(lp[1]["logprob"].as_f64().unwrap() < 0.0);
    assert_eq!(lp[1]["bytes"], json!(" answer.".as_bytes()));
    assert_eq!(lp[1]["top_logprobs"].as_array().unwrap().len(), 2);
    let mut body = chat_body("mock-llm", "x");
    body["stop"] = json!(["You"]);
    let (_, c) = post(&mock, "/chat/completions", body).await;
    assert_eq!(c["choices"][0]["message"]["content"], "Mock answer. ");
    let mut body = chat_body("mock-llm", "about Ada");
    body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "object",
        "properties": {"name": {"type": "string"}, "ok": {"type": "boolean"}}}}});
    let (_, c) = post(&mock, "/chat/completions", body).await;
    let doc: Value =
        serde_json::from_str(c["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(doc, json!({"name": "Ada", "ok": true}));
    let tool_result = json!({"model": "mock-llm", "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "18 degrees"}]});
    let (_, c) = post(&mock, "/chat/completions", tool_result).await;
    assert_eq!(
        c["choices"][0]["message"]["content"],
        "The tool returned: 18 degrees"
    );
}

#[tokio::test]
async fn completions_take_integer_logprobs_and_stream() {
    let mock = MockOpenAi::start().await.unwrap();
    let (s, c) = post(
        &mock,
        "/completions",
        json!({"model": "mock-llm", "prompt": "Hi", "logprobs": 2, "echo": true}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(c["object"], "text_completion");
    assert_eq!(
        c["choices"][0]["text"],
        "Hi This is a deterministic mock completion about Hi."
    );
    let lp = &c["choices"][0]["logprobs"];
    assert_eq!(lp["tokens"][0], "Hi");
    assert_eq!(lp["text_offset"][1], 2);
    assert_eq!(lp["top_logprobs"][0].as_object().unwrap().len(), 2);
    assert_eq!(
        lp["token_logprobs"].as_array().unwrap().len(),
        lp["tokens"].as_array().unwrap().len()
    );
    let (s, b) = post(
        &mock,
        "/completions",
        json!({"model": "mock-llm", "prompt": "Hi", "logprobs": true}),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str(), b["error"]["param"].as_str()),
        (400, Some("invalid_type"), Some("logprobs"))
    );
    let (s, _) = post(
        &mock,
        "/completions",
        json!({"model": "mock-llm", "prompt": "Hi", "logprobs": 6}),
    )
    .await;
    assert_eq!(s, 400);
    let (_, c) = post(
        &mock,
        "/completions",
        json!({"model": "mock-llm", "prompt": ["a", "b"], "n": 2}),
    )
    .await;
    assert_eq!(c["choices"].as_array().unwrap().len(), 4);
    let body = json!({"model": "mock-llm", "prompt": "Go", "stream": true, "stream_options": {"include_usage": true}});
    let (_, frames) = sse(&mock, "/completions", body).await;
    let chunks = chunks(&frames);
    assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0)?["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text, " This is a deterministic mock completion about Go.");
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );
    assert!(chunks.last().unwrap()["usage"]["total_tokens"].is_u64());
}

#[tokio::test]
async fn embeddings_float_base64_and_errors() {
    let mock = MockOpenAi::builder()
        .embedding_dimension(32)
        .start()
        .await
        .unwrap();
    let (s, e) = post(
        &mock,
        "/embeddings",
        json!({"model": "mock-embed", "input": ["Hello world", "hello, WORLD"]}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(e["object"], "list");
    assert_eq!(e["data"][1]["index"], 1);
    assert_eq!(e["data"][0]["object"], "embedding");
    let v: Vec<f32> = serde_json::from_value(e["data"][0]["embedding"].clone()).unwrap();
    assert_eq!(v.len(), 32);
    assert!((v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
    assert_eq!(
        e["data"][0]["embedding"], e["data"][1]["embedding"],
        "same words, same vector"
    );
    assert_eq!(e["usage"], json!({"prompt_tokens": 4, "total_tokens": 4}));
    let (_, b) = post(
        &mock,
        "/embeddings",
        json!({"model": "mock-embed", "input": "Hello world", "encoding_format": "base64"}),
    )
    .await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let decoded: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(decoded, v);
    let (_, d) = post(
        &mock,
        "/embeddings",
        json!({"model": "mock-embed", "input": "x", "dimensions": 8}),
    )
    .await;
    assert_eq!(d["data"][0]["embedding"].as_array().unwrap().len(), 8);
    let (s, _) = post(
        &mock,
        "/embeddings",
        json!({"model": "mock-embed", "input": [[1, 2], [3]]}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = post(
        &mock,
        "/embeddings",
        json!({"model": "mock-embed", "input": []}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        b["error"]["message"],
        "input must be a non-empty string or list"
    );
    let (s, _) = post(
        &mock,
        "/embeddings",
        json!({"model": "mock-llm", "input": "x"}),
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn failures_are_injected_by_model_name() {
    let mock = MockOpenAi::builder()
        .models(["mock-llm"])
        .start()
        .await
        .unwrap();
    for (model, status, code) in [
        ("error-429", 429, Some("rate_limit_exceeded")),
        ("error-500", 500, None),
        ("error-503", 503, None),
    ] {
        let (s, b) = post(&mock, "/chat/completions", chat_body(model, "x")).await;
        assert_eq!(s, status);
        assert_eq!(b["error"]["code"].as_str(), code);
        assert!(
            b["error"]["message"].is_string()
                && b["error"].get("type").is_some()
                && b["error"].get("param").is_some()
        );
    }
    let (s, _) = post(
        &mock,
        "/embeddings",
        json!({"model": "error-400", "input": "x"}),
    )
    .await;
    assert_eq!(s, 400);
    let r = client()
        .post(format!("{}/chat/completions", mock.base_url()))
        .json(&chat_body("garbage", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());
    let started = Instant::now();
    let (s, _) = post(&mock, "/chat/completions", chat_body("slow-150", "x")).await;
    assert_eq!(s, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    let mut body = chat_body("empty-stream", "x");
    body["stream"] = json!(true);
    let (text, _) = sse(&mock, "/chat/completions", body).await;
    assert_eq!(text, "data: [DONE]\n\n");
}

#[tokio::test]
async fn midstream_error_breaks_the_connection_after_two_chunks() {
    let mock = MockOpenAi::start().await.unwrap();
    let mut body = chat_body("midstream-error", "tell me a long story");
    body["stream"] = json!(true);
    let mut r = client()
        .post(format!("{}/chat/completions", mock.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut received = Vec::new();
    let failed = loop {
        match r.chunk().await {
            Ok(Some(bytes)) => received.extend_from_slice(&bytes),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    assert!(failed, "the body must end with an error, not cleanly");
    let text = String::from_utf8(received).unwrap();
    assert_eq!(text.matches("data: ").count(), 2, "{text}");
    assert!(!text.contains("[DONE]"));
}

#[tokio::test]
async fn serve_runs_standalone_without_recording_and_shutdown_stops() {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(listener, MockConfig::default()));
    let r = client()
        .get(format!("http://{addr}/v1/models"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.abort();

    let mock = MockOpenAi::builder()
        .record_requests(false)
        .start()
        .await
        .unwrap();
    let url = format!("{}/models", mock.base_url());
    assert_eq!(client().get(&url).send().await.unwrap().status(), 200);
    assert!(mock.requests().is_empty());
    mock.shutdown().await;
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(fresh.get(&url).send().await.is_err());
}
