//! Fixed answers for benchmarks: the models `fixed-llm` and `fixed-embed` are answered from
//! bytes built once, with only a counter spliced into the completion id, so the mock costs next
//! to nothing per request and a benchmark measures what sits in front of it. The bodies are
//! OpenAI's current shape, including the fields a gateway is tempted to drop (`refusal`,
//! `annotations`, `service_tier`, `system_fingerprint`, token details).

use std::borrow::Cow;
use std::sync::LazyLock;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

/// The chat model answered with a fixed completion (or its fixed stream).
pub const FIXED_LLM: &str = "fixed-llm";
/// The embedding model answered with one fixed dense vector of [`FIXED_EMBEDDING_DIMENSION`].
pub const FIXED_EMBED: &str = "fixed-embed";
pub const FIXED_EMBEDDING_DIMENSION: usize = 384;
/// The text of every fixed chat answer (streamed in word pieces).
pub const FIXED_ANSWER: &str = "Hello! How can I help you today?";

const ID: &str = "@@completion-id@@";
const CREATED: i64 = 1_700_000_000;

/// What the handlers read from a body to pick a fixed answer; everything else is skipped.
#[derive(Deserialize)]
pub(crate) struct Probe<'a> {
    #[serde(borrow, default)]
    pub model: Option<Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptionsProbe>,
    #[serde(borrow, default)]
    encoding_format: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct StreamOptionsProbe {
    #[serde(default)]
    include_usage: Option<bool>,
}

impl Probe<'_> {
    /// Parses just enough of `body`; `None` when it is not a JSON object.
    pub(crate) fn of(body: &[u8]) -> Option<Probe<'_>> {
        serde_json::from_slice(body).ok()
    }

    pub(crate) fn is(&self, model: &str) -> bool {
        self.model.as_deref() == Some(model)
    }
}

/// A body with the completion id left open: the parts between the id's occurrences.
struct Template(Vec<Vec<u8>>);

impl Template {
    fn new(text: &str) -> Self {
        Template(text.split(ID).map(|p| p.as_bytes().to_vec()).collect())
    }

    fn render(&self, id: &str) -> Bytes {
        let len = self.0.iter().map(Vec::len).sum::<usize>() + id.len() * self.0.len();
        let mut out = Vec::with_capacity(len);
        for (i, part) in self.0.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(id.as_bytes());
            }
            out.extend_from_slice(part);
        }
        Bytes::from(out)
    }
}

struct Answers {
    chat: Template,
    stream: Template,
    stream_with_usage: Template,
    embedding_float: Bytes,
    embedding_base64: Bytes,
}

static ANSWERS: LazyLock<Answers> = LazyLock::new(|| Answers {
    chat: Template::new(&chat_body().to_string()),
    stream: Template::new(&stream_body(false)),
    stream_with_usage: Template::new(&stream_body(true)),
    embedding_float: Bytes::from(embedding_body(false).to_string()),
    embedding_base64: Bytes::from(embedding_body(true).to_string()),
});

fn usage() -> Value {
    json!({
        "prompt_tokens": 14, "completion_tokens": 9, "total_tokens": 23,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    })
}

fn chat_body() -> Value {
    json!({
        "id": ID, "object": "chat.completion", "created": CREATED, "model": FIXED_LLM,
        "choices": [{"index": 0,
            "message": {"role": "assistant", "content": FIXED_ANSWER, "refusal": null, "annotations": []},
            "logprobs": null, "finish_reason": "stop"}],
        "usage": usage(), "service_tier": "default", "system_fingerprint": "fp_fixed"
    })
}

fn stream_body(include_usage: bool) -> String {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": ID, "object": "chat.completion.chunk", "created": CREATED, "model": FIXED_LLM,
            "service_tier": "default", "system_fingerprint": "fp_fixed",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    )];
    let mut start = 0;
    for (i, c) in FIXED_ANSWER.char_indices().skip(1) {
        if c == ' ' || c == '!' || c == '?' {
            events.push(chunk(
                json!({"content": &FIXED_ANSWER[start..i]}),
                Value::Null,
            ));
            start = i;
        }
    }
    events.push(chunk(
        json!({"content": &FIXED_ANSWER[start..]}),
        Value::Null,
    ));
    events.push(chunk(json!({}), json!("stop")));
    if include_usage {
        for e in &mut events {
            e["usage"] = Value::Null;
        }
        events.push(json!({"id": ID, "object": "chat.completion.chunk", "created": CREATED, "model": FIXED_LLM,
            "service_tier": "default", "system_fingerprint": "fp_fixed", "choices": [], "usage": usage()}));
    }
    let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    body
}

/// A dense unit vector, as real models give (the hashed embeddings of the fake are mostly zeros).
fn dense_vector() -> Vec<f32> {
    let raw: Vec<f32> = (0..FIXED_EMBEDDING_DIMENSION as u64)
        .map(|i| {
            let h = lls_fake_model::embedding::fnv1a(&i.to_le_bytes());
            (h % 20_001) as f32 / 10_000.0 - 1.0
        })
        .collect();
    let norm = raw
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    raw.into_iter().map(|x| x / norm).collect()
}

fn embedding_body(base64: bool) -> Value {
    let vector = dense_vector();
    let embedding = if base64 {
        let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        json!(base64::engine::general_purpose::STANDARD.encode(bytes))
    } else {
        json!(vector)
    };
    json!({
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": embedding}],
        "model": FIXED_EMBED,
        "usage": {"prompt_tokens": 9, "total_tokens": 9}
    })
}

fn respond(body: Bytes, content_type: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The fixed chat answer (whole or streamed, as the probe asks) under completion id `id`.
pub(crate) fn chat(probe: &Probe<'_>, id: &str) -> Response {
    let answers = &*ANSWERS;
    if !probe.stream.unwrap_or(false) {
        return respond(answers.chat.render(id), "application/json");
    }
    let usage = probe
        .stream_options
        .as_ref()
        .and_then(|o| o.include_usage)
        .unwrap_or(false);
    let template = if usage {
        &answers.stream_with_usage
    } else {
        &answers.stream
    };
    respond(template.render(id), "text/event-stream; charset=utf-8")
}

/// The fixed embedding, as floats or base64 as the probe asks.
pub(crate) fn embeddings(probe: &Probe<'_>) -> Response {
    let answers = &*ANSWERS;
    let body = if probe.encoding_format.as_deref() == Some("base64") {
        answers.embedding_base64.clone()
    } else {
        answers.embedding_float.clone()
    };
    respond(body, "application/json")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_valid_json_with_the_id_spliced_in() {
        let body: Value = serde_json::from_slice(&ANSWERS.chat.render("chatcmpl-7")).unwrap();
        assert_eq!(body["id"], "chatcmpl-7");
        assert_eq!(body["choices"][0]["message"]["refusal"], Value::Null);
        assert_eq!(
            body["usage"]["completion_tokens_details"]["reasoning_tokens"],
            0
        );
        let stream = String::from_utf8(ANSWERS.stream_with_usage.render("c1").to_vec()).unwrap();
        let frames: Vec<&str> = stream
            .split_terminator("\n\n")
            .map(|f| f.trim_start_matches("data: "))
            .collect();
        assert_eq!(frames.last(), Some(&"[DONE]"));
        let chunks: Vec<Value> = frames[..frames.len() - 1]
            .iter()
            .map(|f| serde_json::from_str(f).unwrap())
            .collect();
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, FIXED_ANSWER);
        assert!(chunks.iter().all(|c| c["id"] == "c1"));
        assert_eq!(chunks.last().unwrap()["usage"]["total_tokens"], 23);
        let embedding: Value = serde_json::from_slice(&ANSWERS.embedding_float).unwrap();
        assert_eq!(
            embedding["data"][0]["embedding"].as_array().unwrap().len(),
            FIXED_EMBEDDING_DIMENSION
        );
    }
}
