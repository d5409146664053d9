//! watsonx.ai bodies <-> the OpenAI-shaped types the deterministic model speaks: requests are
//! checked the way watsonx checks them (unknown fields refused) and translated for
//! `lls_fake_model::responder`; its answers are written back in watsonx's shapes.

use lls_api_inference::{ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest};
use serde_json::{Map, Value, json};

use super::WxError;

/// Fields `/ml/v1/text/chat` and `/chat_stream` accept (TextChatRequest in IBM's reference).
const CHAT_FIELDS: &[&str] = &[
    "model_id", "project_id", "space_id", "messages", "tools", "tool_choice", "tool_choice_option",
    "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "n", "seed", "logprobs",
    "top_logprobs", "response_format", "presence_penalty", "frequency_penalty", "logit_bias",
    "time_limit", "context", "repetition_penalty", "length_penalty", "include_reasoning",
    "reasoning_effort", "chat_template_kwargs", "guided_choice", "guided_regex", "guided_grammar",
    "guided_json", "crypto",
];

/// Fields `/ml/v1/text/generation` and `/generation_stream` accept.
const GENERATION_FIELDS: &[&str] = &["model_id", "project_id", "space_id", "input", "parameters", "moderations", "crypto"];

/// Fields `/ml/v1/text/embeddings` accepts.
const EMBEDDING_FIELDS: &[&str] = &["model_id", "project_id", "space_id", "inputs", "parameters", "crypto"];

fn invalid(message: impl Into<String>) -> WxError {
    WxError::new(400, "json_validation_error", message)
}

fn only(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), WxError> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(invalid(format!("Json field '{k}' is not recognized"))),
        None => Ok(()),
    }
}

/// `/ml/v1/text/chat`'s body as the OpenAI request the model answers.
pub(crate) fn chat_request(body: &Map<String, Value>) -> Result<ChatCompletionRequest, WxError> {
    only(body, CHAT_FIELDS)?;
    let mut openai = Map::new();
    for (key, value) in body {
        match key.as_str() {
            "model_id" => {
                openai.insert("model".into(), value.clone());
            }
            "tool_choice_option" => {
                openai.insert("tool_choice".into(), value.clone());
            }
            "max_completion_tokens" if !body.contains_key("max_tokens") => {
                openai.insert("max_tokens".into(), value.clone());
            }
            "messages" | "tools" | "tool_choice" | "max_tokens" | "temperature" | "top_p" | "stop" | "n" | "seed"
            | "logprobs" | "top_logprobs" | "response_format" | "presence_penalty" | "frequency_penalty" => {
                openai.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    if body.contains_key("tool_choice") && body.contains_key("tool_choice_option") {
        return Err(invalid("Only one of 'tool_choice' and 'tool_choice_option' may be given"));
    }
    let messages = body.get("messages").and_then(Value::as_array).ok_or_else(|| invalid("Json field 'messages' is required"))?;
    for (i, m) in messages.iter().enumerate() {
        match m.get("role").and_then(Value::as_str) {
            Some("system" | "user" | "assistant" | "tool" | "control") => {}
            other => return Err(invalid(format!("messages[{i}].role: {other:?} is not a supported role"))),
        }
        if m.get("role").and_then(Value::as_str) == Some("system") && !m.get("content").is_some_and(Value::is_string) {
            return Err(invalid(format!("messages[{i}].content must be a string for a system message")));
        }
    }
    let request: ChatCompletionRequest =
        serde_json::from_value(Value::Object(openai)).map_err(|e| invalid(format!("Invalid request body: {e}")))?;
    request.validate().map_err(|e| invalid(e.message().to_owned()))?;
    Ok(request)
}

/// The words of every text in the messages: what the mock counts against a context length.
pub(crate) fn chat_prompt_words(request: &ChatCompletionRequest) -> usize {
    serde_json::to_value(&request.messages).map_or(0, |v| words_in(&v))
}

fn words_in(v: &Value) -> usize {
    match v {
        Value::String(s) => lls_fake_model::embedding::token_count(s),
        Value::Array(a) => a.iter().map(words_in).sum(),
        Value::Object(o) => o.iter().filter(|(k, _)| k.as_str() != "role" && k.as_str() != "type").map(|(_, v)| words_in(v)).sum(),
        _ => 0,
    }
}

/// An ISO 8601 UTC time for `unix` seconds, as watsonx's `created_at`.
pub(crate) fn iso_time(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// A whole chat answer in watsonx's shape.
pub(crate) fn chat_answer(c: &ChatCompletion) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.remove("object");
        o.insert("model_id".into(), json!(c.model));
        o.insert("model_version".into(), json!("3.3.0"));
        o.insert("created_at".into(), json!(iso_time(c.created)));
    }
    v
}

/// The stream's events in watsonx's shape: the usage rides on the last chunk with a choice.
pub(crate) fn chat_events(chunks: Vec<ChatCompletionChunk>) -> Vec<Value> {
    let usage = chunks.iter().rev().find_map(|c| c.usage.clone());
    let mut out: Vec<Value> = chunks
        .into_iter()
        .filter(|c| !c.choices.is_empty())
        .map(|c| {
            let mut v = serde_json::to_value(&c).unwrap_or(Value::Null);
            if let Value::Object(o) = &mut v {
                o.remove("object");
                o.remove("usage");
                o.insert("model_id".into(), json!(c.model));
                o.insert("model_version".into(), json!("3.3.0"));
                o.insert("created_at".into(), json!(iso_time(c.created)));
            }
            v
        })
        .collect();
    if let (Some(usage), Some(Value::Object(last))) = (usage, out.last_mut()) {
        last.insert("usage".into(), json!(usage));
    }
    out
}

/// `/ml/v1/text/generation`'s body as the OpenAI completion request the model answers, and
/// whether the input is to be echoed.
pub(crate) fn generation_request(body: &Map<String, Value>) -> Result<(CompletionRequest, bool), WxError> {
    only(body, GENERATION_FIELDS)?;
    let input = body.get("input").and_then(Value::as_str).ok_or_else(|| invalid("Json field 'input' is required"))?;
    let empty = Map::new();
    let params = match body.get("parameters") {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => return Err(invalid("Json field 'parameters' must be an object")),
    };
    let options = params.get("return_options").and_then(Value::as_object).unwrap_or(&empty);
    let mut openai = json!({"model": body.get("model_id"), "prompt": input});
    let set = |o: &mut Value, k: &str, v: Option<&Value>| {
        if let (Some(v), Value::Object(o)) = (v, o) {
            o.insert(k.into(), v.clone());
        }
    };
    set(&mut openai, "max_tokens", params.get("max_new_tokens"));
    set(&mut openai, "stop", params.get("stop_sequences"));
    set(&mut openai, "temperature", params.get("temperature"));
    set(&mut openai, "top_p", params.get("top_p"));
    set(&mut openai, "seed", params.get("random_seed"));
    if options.get("token_logprobs").and_then(Value::as_bool) == Some(true) {
        let top = options.get("top_n_tokens").and_then(Value::as_u64).unwrap_or(0).max(1);
        set(&mut openai, "logprobs", Some(&json!(top)));
    }
    let echo = options.get("input_text").and_then(Value::as_bool) == Some(true);
    let request = serde_json::from_value(openai).map_err(|e| invalid(format!("Invalid request body: {e}")))?;
    Ok((request, echo))
}

fn stop_reason(finish: Option<&str>) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some(_) => "eos_token",
        None => "not_finished",
    }
}

/// The tokens of OpenAI's legacy logprobs in watsonx's `generated_tokens` shape.
fn generated_tokens(logprobs: &Value) -> Vec<Value> {
    let list = |k: &str| logprobs.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
    let (tokens, lps, tops) = (list("tokens"), list("token_logprobs"), list("top_logprobs"));
    tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let top: Vec<Value> = tops
                .get(i)
                .and_then(Value::as_object)
                .map(|o| o.iter().map(|(text, lp)| json!({"text": text, "logprob": lp})).collect())
                .unwrap_or_default();
            json!({"text": t, "logprob": lps.get(i).cloned().unwrap_or(Value::Null), "top_tokens": top})
        })
        .collect()
}

/// A whole generation answer in watsonx's shape.
pub(crate) fn generation_answer(c: &Completion, input: &str, echo: bool) -> Value {
    let choice = c.choices.first();
    let text = choice.map_or("", |c| c.text.as_str());
    let usage = c.usage.as_ref();
    let mut result = json!({
        "generated_text": text,
        "generated_token_count": usage.map_or(0, |u| u.completion_tokens),
        "input_token_count": usage.map_or(0, |u| u.prompt_tokens),
        "stop_reason": stop_reason(choice.and_then(|c| c.finish_reason.as_deref())),
    });
    if let (Some(lp), Value::Object(o)) = (choice.and_then(|c| c.logprobs.as_ref()), &mut result) {
        o.insert("generated_tokens".into(), json!(generated_tokens(lp)));
    }
    if let (true, Value::Object(o)) = (echo, &mut result) {
        o.insert("input_text".into(), json!(input));
    }
    json!({"model_id": c.model, "model_version": "3.3.0", "created_at": iso_time(c.created), "results": [result]})
}

/// The generation stream's events in watsonx's shape: one piece of text each, the last with
/// its stop reason.
pub(crate) fn generation_events(chunks: &[Completion], input_tokens: i64) -> Vec<Value> {
    chunks
        .iter()
        .filter_map(|c| Some((c, c.choices.first()?)))
        .enumerate()
        .map(|(i, (c, choice))| {
            json!({"model_id": c.model, "model_version": "3.3.0", "created_at": iso_time(c.created), "results": [{
                "generated_text": choice.text,
                "generated_token_count": i + 1,
                "input_token_count": input_tokens,
                "stop_reason": stop_reason(choice.finish_reason.as_deref()),
            }]})
        })
        .collect()
}

/// `/ml/v1/text/embeddings`'s inputs and whether they are to be echoed.
pub(crate) fn embedding_inputs(body: &Map<String, Value>) -> Result<(Vec<String>, bool), WxError> {
    only(body, EMBEDDING_FIELDS)?;
    let inputs = body
        .get("inputs")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| invalid("Json field 'inputs' must be a non-empty list of strings"))?;
    let echo = body
        .get("parameters")
        .and_then(|p| p.get("return_options"))
        .and_then(|o| o.get("input_text"))
        .and_then(Value::as_bool)
        == Some(true);
    Ok((inputs, echo))
}
