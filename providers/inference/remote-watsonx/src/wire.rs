//! OpenAI shapes <-> watsonx.ai's: chat requests for `/ml/v1/text/chat` (watsonx speaks nearly
//! OpenAI's chat: `model_id`, `tool_choice_option`, string-only system messages), its answers and
//! stream chunks back as OpenAI completions and chunks; legacy completions over
//! `/ml/v1/text/generation`; embeddings over `/ml/v1/text/embeddings`; model specs as models.

use lls_api_common::{Error, Result};
use lls_api_inference::{ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest};
use lls_api_inference::{Embedding, EmbeddingInput, EmbeddingUsage, EmbeddingsRequest, EmbeddingsResponse, Logprobs, Stop};
use lls_api_models::ProviderModel;
use serde_json::{Map, Value, json};

/// OpenAI request fields watsonx.ai has no counterpart for (it refuses unknown fields).
const OPENAI_ONLY: &[&str] = &[
    "model", "stream", "stream_options", "user", "parallel_tool_calls", "store", "metadata", "service_tier",
    "modalities", "prediction", "audio", "web_search_options", "functions", "function_call", "safety_identifier",
    "prompt_cache_key", "verbosity", "max_completion_tokens",
];

/// The text of OpenAI content parts (`[{"type": "text", "text": ...}]`), joined.
fn text_of(content: &Value) -> Value {
    match content {
        Value::Array(parts) => {
            Value::String(parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n"))
        }
        other => other.clone(),
    }
}

/// A message as watsonx takes it: `developer` is `system`; system, assistant and tool contents
/// are text; an assistant's null content is left out.
fn message(m: &Value) -> Value {
    let mut m = m.as_object().cloned().unwrap_or_default();
    if m.get("role").and_then(Value::as_str) == Some("developer") {
        m.insert("role".into(), json!("system"));
    }
    let role = m.get("role").and_then(Value::as_str).unwrap_or_default().to_owned();
    match m.get("content") {
        Some(Value::Null) => {
            m.remove("content");
        }
        Some(c) if role != "user" => {
            let text = text_of(c);
            m.insert("content".into(), text);
        }
        _ => {}
    }
    Value::Object(m)
}

/// The body of `/ml/v1/text/chat` (and `/chat_stream`) for an OpenAI chat request.
pub(crate) fn chat_body(req: &ChatCompletionRequest, project_id: &str) -> Result<Value> {
    let Value::Object(mut body) = serde_json::to_value(req)? else {
        return Err(Error::internal("a chat request did not serialize to an object"));
    };
    if let (None, Some(max)) = (req.max_tokens, req.max_completion_tokens) {
        body.insert("max_tokens".into(), json!(max));
    }
    for field in OPENAI_ONLY {
        body.remove(*field);
    }
    if let Some(Value::String(mode)) = body.remove("tool_choice") {
        body.insert("tool_choice_option".into(), json!(mode));
    } else if let Some(named) = req.tool_choice.as_ref() {
        body.insert("tool_choice".into(), serde_json::to_value(named)?);
    }
    if let Some(Value::Array(messages)) = body.get("messages") {
        let converted: Vec<Value> = messages.iter().map(message).collect();
        body.insert("messages".into(), Value::Array(converted));
    }
    body.insert("model_id".into(), json!(req.model));
    body.insert("project_id".into(), json!(project_id));
    Ok(Value::Object(body))
}

fn now() -> i64 {
    lls_api_common::unix_now()
}

/// The OpenAI fields of a watsonx chat answer or chunk: `model_id` as `model`, watsonx's own
/// fields (`model_version`, `created_at`, `system`) left out.
fn openai_envelope(v: &Value, object: &str, model: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let id = v.get("id").and_then(Value::as_str).map_or_else(|| format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()), str::to_owned);
    out.insert("id".into(), json!(id));
    out.insert("object".into(), json!(object));
    out.insert("created".into(), v.get("created").filter(|c| c.is_i64()).cloned().unwrap_or_else(|| json!(now())));
    let model = v.get("model_id").or_else(|| v.get("model")).and_then(Value::as_str).unwrap_or(model);
    out.insert("model".into(), json!(model));
    out.insert("choices".into(), v.get("choices").cloned().unwrap_or_else(|| json!([])));
    out
}

/// A whole chat answer. Usage is always there (zeros when watsonx sent none, as 0.3.5 does).
pub(crate) fn chat_answer(v: &Value, model: &str) -> Result<ChatCompletion> {
    let mut out = openai_envelope(v, "chat.completion", model);
    let usage = v.get("usage").filter(|u| u.is_object()).cloned();
    out.insert("usage".into(), usage.unwrap_or_else(|| json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})));
    Ok(serde_json::from_value(Value::Object(out))?)
}

/// One watsonx stream chunk as OpenAI chunks: its choices, then (when the request asked for
/// usage) its usage as a chunk of its own with no choices, as OpenAI sends it.
pub(crate) fn chat_chunks(v: &Value, model: &str, include_usage: bool) -> Result<Vec<ChatCompletionChunk>> {
    let envelope = openai_envelope(v, "chat.completion.chunk", model);
    let mut out = Vec::new();
    if envelope.get("choices").and_then(Value::as_array).is_some_and(|c| !c.is_empty()) {
        out.push(serde_json::from_value(Value::Object(envelope.clone()))?);
    }
    if let (true, Some(usage)) = (include_usage, v.get("usage").filter(|u| u.is_object())) {
        let mut last = envelope;
        last.insert("choices".into(), json!([]));
        last.insert("usage".into(), usage.clone());
        out.push(serde_json::from_value(Value::Object(last))?);
    }
    Ok(out)
}

/// The texts of a completion request's prompt; token prompts are refused (watsonx takes text).
pub(crate) fn prompts(req: &CompletionRequest) -> Result<Vec<String>> {
    match &req.prompt {
        lls_api_inference::Prompt::Text(t) => Ok(vec![t.clone()]),
        lls_api_inference::Prompt::Texts(ts) => Ok(ts.clone()),
        _ => Err(Error::invalid("watsonx.ai text generation takes text prompts, not token ids").with_param("prompt")),
    }
}

/// The number of alternatives a completion request's `logprobs` asks for, if it asks.
fn logprobs_top(req: &CompletionRequest) -> Option<u32> {
    match req.logprobs {
        Some(Logprobs::Count(n)) => Some(n),
        Some(Logprobs::Flag(true)) => Some(0),
        _ => None,
    }
}

/// The body of `/ml/v1/text/generation` (and `/generation_stream`) for one prompt.
pub(crate) fn generation_body(req: &CompletionRequest, prompt: &str, project_id: &str) -> Result<Value> {
    if req.n.unwrap_or(1) > 1 || req.best_of.unwrap_or(1) > 1 {
        return Err(Error::invalid("watsonx.ai text generation gives one completion per prompt: n and best_of must be 1").with_param("n"));
    }
    if req.suffix.is_some() {
        return Err(Error::invalid("watsonx.ai text generation does not take a suffix").with_param("suffix"));
    }
    let mut params = Map::new();
    if let Some(max) = req.max_tokens {
        params.insert("max_new_tokens".into(), json!(max));
    }
    match &req.stop {
        Some(Stop::One(s)) => {
            params.insert("stop_sequences".into(), json!([s]));
        }
        Some(Stop::Many(v)) => {
            params.insert("stop_sequences".into(), json!(v));
        }
        None => {}
    }
    // watsonx decodes greedily unless told to sample; OpenAI samples unless temperature is 0.
    let sampling = req.temperature.is_some_and(|t| t > 0.0) || req.top_p.is_some();
    params.insert("decoding_method".into(), json!(if sampling { "sample" } else { "greedy" }));
    if sampling {
        if let Some(t) = req.temperature {
            params.insert("temperature".into(), json!(t));
        }
        if let Some(p) = req.top_p {
            params.insert("top_p".into(), json!(p));
        }
    }
    if let Some(seed) = req.seed {
        params.insert("random_seed".into(), json!(seed));
    }
    if let Some(top) = logprobs_top(req) {
        let mut options = json!({"generated_tokens": true, "token_logprobs": true});
        if top > 0
            && let Value::Object(o) = &mut options
        {
            o.insert("top_n_tokens".into(), json!(top));
        }
        params.insert("return_options".into(), options);
    }
    Ok(json!({"model_id": req.model, "project_id": project_id, "input": prompt, "parameters": params}))
}

/// watsonx's `stop_reason` as OpenAI's `finish_reason`; `None` while not finished.
fn finish_reason(stop_reason: Option<&str>) -> Option<&'static str> {
    match stop_reason? {
        "not_finished" => None,
        "max_tokens" | "token_limit" | "time_limit" => Some("length"),
        _ => Some("stop"),
    }
}

/// OpenAI's legacy logprobs from watsonx's `generated_tokens`; offsets count from `offset`.
fn legacy_logprobs(tokens: &[Value], offset: usize) -> Value {
    let mut at = offset;
    let (mut texts, mut lps, mut tops, mut offsets) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for t in tokens {
        let text = t.get("text").and_then(Value::as_str).unwrap_or_default();
        texts.push(json!(text));
        lps.push(t.get("logprob").cloned().unwrap_or(Value::Null));
        let top: Map<String, Value> = t
            .get("top_tokens")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|o| Some((o.get("text")?.as_str()?.to_owned(), o.get("logprob").cloned().unwrap_or(Value::Null))))
                    .collect()
            })
            .unwrap_or_default();
        tops.push(Value::Object(top));
        offsets.push(json!(at));
        at += text.len();
    }
    json!({"tokens": texts, "token_logprobs": lps, "top_logprobs": tops, "text_offset": offsets})
}

/// One prompt's generation answer as a completion choice and its token counts.
pub(crate) struct Generated {
    pub choice: Value,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// The first result of a generation answer (or stream event) as choice `index`.
pub(crate) fn generated(v: &Value, index: usize, prompt: &str, echo: bool) -> Option<Generated> {
    let r = v.get("results")?.as_array()?.first()?;
    let text = r.get("generated_text").and_then(Value::as_str).unwrap_or_default();
    let text = if echo { format!("{prompt}{text}") } else { text.to_owned() };
    let finish = finish_reason(r.get("stop_reason").and_then(Value::as_str));
    let logprobs = r.get("generated_tokens").and_then(Value::as_array).map(|t| legacy_logprobs(t, prompt.len()));
    Some(Generated {
        choice: json!({"index": index, "text": text, "finish_reason": finish, "logprobs": logprobs}),
        prompt_tokens: r.get("input_token_count").and_then(Value::as_i64).unwrap_or(0),
        completion_tokens: r.get("generated_token_count").and_then(Value::as_i64).unwrap_or(0),
    })
}

/// A completion (or a completion chunk) of the choices given.
pub(crate) fn completion(id: &str, model: &str, choices: Vec<Value>, usage: Option<(i64, i64)>) -> Result<Completion> {
    let mut v = json!({"id": id, "object": "text_completion", "created": now(), "model": model, "choices": choices});
    if let (Some((p, c)), Value::Object(o)) = (usage, &mut v) {
        o.insert("usage".into(), json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}));
    }
    Ok(serde_json::from_value(v)?)
}

/// The body of `/ml/v1/text/embeddings`.
pub(crate) fn embeddings_body(req: &EmbeddingsRequest, project_id: &str) -> Result<Value> {
    let inputs = match &req.input {
        EmbeddingInput::Text(t) => vec![t.clone()],
        EmbeddingInput::Texts(ts) => ts.clone(),
        _ => return Err(Error::invalid("watsonx.ai embeddings take text inputs, not token ids").with_param("input")),
    };
    if req.dimensions.is_some() {
        return Err(Error::invalid("watsonx.ai embedding models have a fixed dimension; leave out 'dimensions'").with_param("dimensions"));
    }
    Ok(json!({"model_id": req.model, "project_id": project_id, "inputs": inputs}))
}

/// An embeddings answer (`results[].embedding`, `input_token_count`) in OpenAI's shape.
pub(crate) fn embeddings_answer(v: &Value, model: &str) -> Option<EmbeddingsResponse> {
    let data = v
        .get("results")?
        .as_array()?
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let vector: Vec<f32> = serde_json::from_value(r.get("embedding")?.clone()).ok()?;
            Some(Embedding::new(i as u32, vector))
        })
        .collect::<Option<Vec<_>>>()?;
    let tokens = v.get("input_token_count").and_then(Value::as_i64).unwrap_or(0);
    Some(EmbeddingsResponse {
        object: "list".into(),
        data,
        model: model.to_owned(),
        usage: EmbeddingUsage { prompt_tokens: tokens, total_tokens: tokens },
    })
}

/// The models of a `foundation_model_specs` page: embedding models with their dimension and
/// context length, chat models (`text_chat`) as LLMs, others left out (as 0.3.5 lists them).
pub(crate) fn models_of(page: &Value) -> Vec<ProviderModel> {
    let resources = page.get("resources").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    resources
        .iter()
        .filter_map(|spec| {
            let id = spec.get("model_id")?.as_str()?;
            let functions: Vec<&str> =
                spec.get("functions")?.as_array()?.iter().filter_map(|f| f.get("id").and_then(Value::as_str)).collect();
            let limits = spec.get("model_limits");
            let limit = |k: &str| limits.and_then(|l| l.get(k)).and_then(Value::as_u64).unwrap_or(0);
            if functions.contains(&"embedding") {
                let mut m = ProviderModel::embedding(id, limit("embedding_dimension"));
                m.metadata.insert("context_length".into(), json!(limit("max_sequence_length")));
                Some(m)
            } else if functions.contains(&"text_chat") {
                Some(ProviderModel::llm(id))
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat_request(v: Value) -> ChatCompletionRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn chat_requests_become_watsonx_bodies() {
        let req = chat_request(json!({"model": "ibm/granite", "stream": true, "stream_options": {"include_usage": true},
            "user": "u", "max_completion_tokens": 9, "temperature": 0.5, "tool_choice": "required",
            "tools": [{"type": "function", "function": {"name": "f"}}], "time_limit": 1000,
            "messages": [{"role": "developer", "content": [{"type": "text", "text": "be"}, {"type": "text", "text": "brief"}]},
                         {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                         {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                         {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "done"}]}]}));
        let body = chat_body(&req, "p1").unwrap();
        assert_eq!(body["model_id"], "ibm/granite");
        assert_eq!(body["project_id"], "p1");
        assert_eq!((body["max_tokens"].clone(), body["tool_choice_option"].clone()), (json!(9), json!("required")));
        assert_eq!(body["time_limit"], 1000);
        for gone in ["model", "stream", "stream_options", "user", "max_completion_tokens", "tool_choice"] {
            assert!(body.get(gone).is_none(), "{gone} in {body}");
        }
        let m = &body["messages"];
        assert_eq!((m[0]["role"].clone(), m[0]["content"].clone()), (json!("system"), json!("be\nbrief")));
        assert!(m[1]["content"].is_array());
        assert!(m[2].get("content").is_none());
        assert_eq!(m[3]["content"], "done");
        let named = chat_request(json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "f"}}}));
        let body = chat_body(&named, "p").unwrap();
        assert_eq!(body["tool_choice"]["function"]["name"], "f");
        assert!(body.get("tool_choice_option").is_none());
    }

    #[test]
    fn answers_and_chunks_become_openai_shapes() {
        let answer = json!({"id": "chat-1", "model_id": "ibm/granite", "created": 5, "model_version": "3", "created_at": "t",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]});
        let c = chat_answer(&answer, "asked").unwrap();
        assert_eq!((c.id.as_str(), c.object.as_str(), c.model.as_str(), c.created), ("chat-1", "chat.completion", "ibm/granite", 5));
        assert_eq!(c.usage.as_ref().map(|u| u.total_tokens), Some(0));
        assert!(c.extra.get("model_version").is_none());
        let last = json!({"id": "chat-1", "model_id": "m", "created": 5, "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        let chunks = chat_chunks(&last, "m", true).unwrap();
        assert_eq!(chunks.len(), 2);
        assert!(chunks[0].usage.is_none() && chunks[1].choices.is_empty());
        assert_eq!(chunks[1].usage.as_ref().map(|u| u.total_tokens), Some(3));
        assert_eq!(chat_chunks(&last, "m", false).unwrap().len(), 1);
    }

    #[test]
    fn generation_bodies_and_answers() {
        let req: CompletionRequest = serde_json::from_value(json!({"model": "m", "prompt": "p", "max_tokens": 4, "stop": "x", "logprobs": 2})).unwrap();
        let body = generation_body(&req, "p", "proj").unwrap();
        assert_eq!(body["parameters"]["max_new_tokens"], 4);
        assert_eq!(body["parameters"]["stop_sequences"], json!(["x"]));
        assert_eq!(body["parameters"]["decoding_method"], "greedy");
        assert_eq!(body["parameters"]["return_options"]["top_n_tokens"], 2);
        let n2: CompletionRequest = serde_json::from_value(json!({"model": "m", "prompt": "p", "n": 2})).unwrap();
        assert!(generation_body(&n2, "p", "proj").is_err());
        let answer = json!({"results": [{"generated_text": " a b", "generated_token_count": 2, "input_token_count": 1, "stop_reason": "max_tokens",
            "generated_tokens": [{"text": " a", "logprob": -0.1, "top_tokens": [{"text": " a", "logprob": -0.1}, {"text": " c", "logprob": -2.0}]},
                                 {"text": " b", "logprob": -0.2, "top_tokens": []}]}]});
        let g = generated(&answer, 0, "p", false).unwrap();
        assert_eq!((g.choice["finish_reason"].clone(), g.completion_tokens), (json!("length"), 2));
        assert_eq!(g.choice["logprobs"]["text_offset"], json!([1, 3]));
        assert_eq!(g.choice["logprobs"]["top_logprobs"][0][" c"], -2.0);
        assert_eq!(generated(&answer, 0, "p", true).unwrap().choice["text"], "p a b");
    }

    #[test]
    fn specs_become_models() {
        let page = json!({"resources": [
            {"model_id": "ibm/granite", "functions": [{"id": "text_chat"}, {"id": "text_generation"}]},
            {"model_id": "ibm/slate", "functions": [{"id": "embedding"}], "model_limits": {"embedding_dimension": 384, "max_sequence_length": 512}},
            {"model_id": "ibm/reranker", "functions": [{"id": "rerank"}]}]});
        let models = models_of(&page);
        assert_eq!(models.len(), 2);
        assert_eq!(models[0].model_type, lls_api_models::ModelType::Llm);
        assert_eq!(models[1].metadata["embedding_dimension"], 384);
        assert_eq!(models[1].metadata["context_length"], 512);
    }
}
