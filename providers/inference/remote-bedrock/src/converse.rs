//! OpenAI chat <-> Bedrock's Converse API: requests as Converse bodies (system blocks, user and
//! assistant turns merged to alternate, tool calls and results as `toolUse`/`toolResult`,
//! `toolConfig`, `inferenceConfig`), Converse answers as chat completions, and ConverseStream
//! events (`messageStart`, `contentBlockStart/Delta/Stop`, `messageStop`, `metadata`) as chunks.

use std::collections::HashMap;

use lls_api_common::{Error, Result};
use lls_api_inference::{ChatCompletion, ChatCompletionChunk, ChatCompletionRequest};
use serde_json::{Map, Value, json};

/// OpenAI fields Converse has no counterpart for and that change nothing about the answer
/// (Converse would refuse them): left out.
const IGNORED: &[&str] = &[
    "model", "stream", "stream_options", "user", "parallel_tool_calls", "store", "metadata", "service_tier", "n", "modalities",
    "prediction", "web_search_options", "functions", "function_call", "safety_identifier", "prompt_cache_key", "verbosity",
    "reasoning_effort",
];

/// OpenAI fields Converse cannot honour: refused rather than silently dropped.
const REFUSED: &[(&str, &str)] = &[
    ("logprobs", "Amazon Bedrock's Converse API returns no logprobs"),
    ("top_logprobs", "Amazon Bedrock's Converse API returns no logprobs"),
    ("logit_bias", "Amazon Bedrock's Converse API has no logit_bias"),
    ("audio", "Amazon Bedrock's Converse API has no audio output"),
];

fn invalid(message: impl Into<String>, param: &str) -> Error {
    Error::invalid(message).with_param(param)
}

/// Converse content blocks of an OpenAI message content (text, or parts of text and images).
fn content_blocks(content: &Value, at: &str) -> Result<Vec<Value>> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(t) if t.is_empty() => Ok(Vec::new()),
        Value::String(t) => Ok(vec![json!({"text": t})]),
        Value::Array(parts) => parts.iter().map(|p| part_block(p, at)).collect(),
        _ => Err(invalid(format!("{at}.content must be a string or a list of parts"), "messages")),
    }
}

fn part_block(part: &Value, at: &str) -> Result<Value> {
    match part.get("type").and_then(Value::as_str) {
        Some("text") => Ok(json!({"text": part.get("text").and_then(Value::as_str).unwrap_or_default()})),
        Some("image_url") => {
            let url = part.pointer("/image_url/url").and_then(Value::as_str).unwrap_or_default();
            let (format, data) = url
                .strip_prefix("data:image/")
                .and_then(|rest| rest.split_once(";base64,"))
                .ok_or_else(|| invalid(format!("{at}: Amazon Bedrock takes images as data: URLs (base64), not links"), "messages"))?;
            let format = if format == "jpg" { "jpeg" } else { format };
            if !["png", "jpeg", "gif", "webp"].contains(&format) {
                return Err(invalid(format!("{at}: image format '{format}' is not one of png, jpeg, gif, webp"), "messages"));
            }
            Ok(json!({"image": {"format": format, "source": {"bytes": data}}}))
        }
        other => Err(invalid(format!("{at}: content part type {other:?} is not supported by Amazon Bedrock's Converse API"), "messages")),
    }
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n"),
        _ => String::new(),
    }
}

/// Appends a turn, merging it into the previous one of the same role (Converse wants turns
/// that alternate, and tool results as one user turn).
fn push_turn(messages: &mut Vec<Value>, role: &str, blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    if let Some(last) = messages.last_mut()
        && last.get("role").and_then(Value::as_str) == Some(role)
        && let Some(Value::Array(content)) = last.get_mut("content")
    {
        content.extend(blocks);
        return;
    }
    messages.push(json!({"role": role, "content": blocks}));
}

/// `system` and `messages` of the Converse body.
fn turns(messages: &[Value]) -> Result<(Vec<Value>, Vec<Value>)> {
    let (mut system, mut out) = (Vec::new(), Vec::new());
    for (i, m) in messages.iter().enumerate() {
        let at = format!("messages[{i}]");
        let content = m.get("content").unwrap_or(&Value::Null);
        match m.get("role").and_then(Value::as_str).unwrap_or_default() {
            "system" | "developer" => {
                let text = text_of(content);
                if !text.is_empty() {
                    system.push(json!({"text": text}));
                }
            }
            "user" => push_turn(&mut out, "user", content_blocks(content, &at)?),
            "assistant" => {
                let mut blocks = content_blocks(content, &at)?;
                for call in m.get("tool_calls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
                    let arguments = call.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("{}");
                    let input: Value = if arguments.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(arguments)
                            .map_err(|_| invalid(format!("{at}: tool call arguments are not JSON: {arguments}"), "messages"))?
                    };
                    blocks.push(json!({"toolUse": {
                        "toolUseId": call.get("id").and_then(Value::as_str).unwrap_or_default(),
                        "name": call.pointer("/function/name").and_then(Value::as_str).unwrap_or_default(),
                        "input": input,
                    }}));
                }
                push_turn(&mut out, "assistant", blocks);
            }
            "tool" => {
                let id = m.get("tool_call_id").and_then(Value::as_str).ok_or_else(|| invalid(format!("{at}: a tool message needs tool_call_id"), "messages"))?;
                let result = json!({"toolResult": {"toolUseId": id, "content": [{"text": text_of(content)}], "status": "success"}});
                push_turn(&mut out, "user", vec![result]);
            }
            other => return Err(invalid(format!("{at}: role {other:?} is not supported by Amazon Bedrock"), "messages")),
        }
    }
    Ok((system, out))
}

fn has_tool_blocks(messages: &[Value]) -> bool {
    messages
        .iter()
        .flat_map(|m| m.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default())
        .any(|b| b.get("toolUse").is_some() || b.get("toolResult").is_some())
}

/// `toolConfig`: the tools, and the choice unless it is `auto`'s default. `none` sends no tools
/// (Converse has no such choice) unless the history holds tool blocks, which need them.
fn tool_config(req: &Value, history_has_tools: bool) -> Result<Option<Value>> {
    let Some(tools) = req.get("tools").and_then(Value::as_array).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let specs: Vec<Value> = tools
        .iter()
        .map(|t| {
            let f = t.get("function").unwrap_or(&Value::Null);
            let name = f.get("name").and_then(Value::as_str).ok_or_else(|| invalid("every tool needs function.name", "tools"))?;
            let schema = f.get("parameters").filter(|p| p.is_object()).cloned().unwrap_or_else(|| json!({"type": "object", "properties": {}}));
            let mut spec = json!({"name": name, "inputSchema": {"json": schema}});
            if let (Some(d), Value::Object(o)) = (f.get("description").and_then(Value::as_str).filter(|d| !d.is_empty()), &mut spec) {
                o.insert("description".into(), json!(d));
            }
            Ok(json!({"toolSpec": spec}))
        })
        .collect::<Result<_>>()?;
    let choice = match req.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(mode)) => match mode.as_str() {
            "auto" => Some(json!({"auto": {}})),
            "required" => Some(json!({"any": {}})),
            "none" if history_has_tools => None,
            "none" => return Ok(None),
            other => return Err(invalid(format!("tool_choice '{other}' is not one of auto, required, none"), "tool_choice")),
        },
        Some(named) => {
            let name = named.pointer("/function/name").and_then(Value::as_str).ok_or_else(|| invalid("tool_choice names no function", "tool_choice"))?;
            Some(json!({"tool": {"name": name}}))
        }
    };
    let mut config = json!({"tools": specs});
    if let (Some(c), Value::Object(o)) = (choice, &mut config) {
        o.insert("toolChoice".into(), c);
    }
    Ok(Some(config))
}

/// The body of `POST /model/{id}/converse` (and `/converse-stream`) for an OpenAI chat request.
pub(crate) fn converse_body(req: &ChatCompletionRequest) -> Result<Value> {
    let Value::Object(openai) = serde_json::to_value(req)? else {
        return Err(Error::internal("a chat request did not serialize to an object"));
    };
    for (field, why) in REFUSED {
        if openai.get(*field).is_some_and(|v| !v.is_null() && *v != json!(false)) {
            return Err(invalid(format!("{why} ('{field}')"), field));
        }
    }
    if let Some(format) = openai.get("response_format").and_then(|f| f.get("type")).and_then(Value::as_str)
        && format != "text"
    {
        return Err(invalid(format!("Amazon Bedrock's Converse API has no response_format '{format}'"), "response_format"));
    }
    let messages = openai.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let (system, turns) = turns(messages)?;
    if turns.is_empty() {
        return Err(invalid("Amazon Bedrock needs at least one user message", "messages"));
    }
    let mut body = Map::new();
    let history_has_tools = has_tool_blocks(&turns);
    body.insert("messages".into(), Value::Array(turns));
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    let mut inference = Map::new();
    if let Some(max) = req.max_completion_tokens.or(req.max_tokens) {
        inference.insert("maxTokens".into(), json!(max));
    }
    if let Some(t) = req.temperature {
        inference.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        inference.insert("topP".into(), json!(p));
    }
    match openai.get("stop") {
        Some(Value::String(s)) => {
            inference.insert("stopSequences".into(), json!([s]));
        }
        Some(Value::Array(v)) if !v.is_empty() => {
            inference.insert("stopSequences".into(), Value::Array(v.clone()));
        }
        _ => {}
    }
    if !inference.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(inference));
    }
    if let Some(config) = tool_config(&Value::Object(openai.clone()), history_has_tools)? {
        body.insert("toolConfig".into(), config);
    }
    // Anything else the caller sent that OpenAI does not know goes to the model as is, as
    // Converse's `additionalModelRequestFields` (e.g. Anthropic's `top_k`).
    let extra: Map<String, Value> = req.extra.iter().filter(|(k, _)| !IGNORED.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !extra.is_empty() {
        body.insert("additionalModelRequestFields".into(), Value::Object(extra));
    }
    Ok(Value::Object(body))
}

/// Converse's `stopReason` as OpenAI's `finish_reason`.
pub(crate) fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "guardrail_intervened" | "content_filtered" => "content_filter",
        _ => "stop",
    }
}

fn usage_of(usage: Option<&Value>) -> (u64, u64) {
    let n = |k: &str| usage.and_then(|u| u.get(k)).and_then(Value::as_u64).unwrap_or(0);
    (n("inputTokens"), n("outputTokens"))
}

/// One OpenAI choice (its index `index`) and token counts of a Converse answer; `None` when the
/// answer lacks `output.message`.
pub(crate) fn choice(answer: &Value, index: u32) -> Option<(Value, (u64, u64))> {
    let content = answer.pointer("/output/message/content")?.as_array()?;
    let text: String = content.iter().filter_map(|b| b.get("text").and_then(Value::as_str)).collect();
    let calls: Vec<Value> = content
        .iter()
        .filter_map(|b| b.get("toolUse"))
        .map(|t| {
            json!({"id": t.get("toolUseId").cloned().unwrap_or(Value::Null), "type": "function", "function": {
                "name": t.get("name").cloned().unwrap_or(Value::Null),
                "arguments": t.get("input").map_or_else(|| "{}".to_owned(), Value::to_string),
            }})
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { json!(text) }});
    if let (false, Value::Object(m)) = (calls.is_empty(), &mut message) {
        m.insert("tool_calls".into(), Value::Array(calls));
    }
    let finish = finish_reason(answer.get("stopReason").and_then(Value::as_str).unwrap_or("end_turn"));
    Some((json!({"index": index, "message": message, "finish_reason": finish, "logprobs": null}), usage_of(answer.get("usage"))))
}

/// A chat completion of the choices of one or more Converse answers.
pub(crate) fn completion(model: &str, choices: Vec<Value>, (prompt, completion): (u64, u64)) -> Result<ChatCompletion> {
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    Ok(serde_json::from_value(json!({
        "id": id, "object": "chat.completion", "created": lls_api_common::unix_now(), "model": model, "choices": choices,
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }))?)
}

/// Turns the events of one ConverseStream into OpenAI chunks of one id.
#[derive(Debug)]
pub(crate) struct ChunkMaker {
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
    /// contentBlockIndex of a toolUse block -> its tool call's index.
    tools: HashMap<u64, u64>,
}

impl ChunkMaker {
    pub(crate) fn new(model: &str, include_usage: bool) -> Self {
        ChunkMaker {
            id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
            created: lls_api_common::unix_now(),
            model: model.to_owned(),
            include_usage,
            tools: HashMap::new(),
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Result<ChatCompletionChunk> {
        Ok(serde_json::from_value(json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        }))?)
    }

    /// The chunks of one event (`:event-type` and its JSON payload); unknown events give none.
    pub(crate) fn on_event(&mut self, event: &str, payload: &Value) -> Result<Vec<ChatCompletionChunk>> {
        let block = payload.get("contentBlockIndex").and_then(Value::as_u64).unwrap_or(0);
        let out = match event {
            "messageStart" => vec![self.chunk(json!({"role": "assistant", "content": ""}), None)?],
            "contentBlockStart" => match payload.pointer("/start/toolUse") {
                Some(tool) => {
                    let index = self.tools.len() as u64;
                    self.tools.insert(block, index);
                    let call = json!({"index": index, "id": tool.get("toolUseId"), "type": "function",
                        "function": {"name": tool.get("name"), "arguments": ""}});
                    vec![self.chunk(json!({"tool_calls": [call]}), None)?]
                }
                None => Vec::new(),
            },
            "contentBlockDelta" => {
                let delta = payload.get("delta").unwrap_or(&Value::Null);
                if let Some(text) = delta.get("text").and_then(Value::as_str) {
                    vec![self.chunk(json!({"content": text}), None)?]
                } else if let Some(input) = delta.pointer("/toolUse/input").and_then(Value::as_str) {
                    let index = self.tools.get(&block).copied().unwrap_or(0);
                    vec![self.chunk(json!({"tool_calls": [{"index": index, "function": {"arguments": input}}]}), None)?]
                } else {
                    Vec::new()
                }
            }
            "messageStop" => {
                let finish = finish_reason(payload.get("stopReason").and_then(Value::as_str).unwrap_or("end_turn"));
                vec![self.chunk(json!({}), Some(finish))?]
            }
            "metadata" if self.include_usage => {
                let (p, c) = usage_of(payload.get("usage"));
                vec![serde_json::from_value(json!({
                    "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model, "choices": [],
                    "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
                }))?]
            }
            _ => Vec::new(),
        };
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(v: Value) -> ChatCompletionRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn chat_requests_become_converse_bodies() {
        let req = request(json!({"model": "m", "max_completion_tokens": 9, "temperature": 0.5, "top_p": 0.9, "stop": "END",
            "user": "u", "top_k": 5, "tool_choice": "required",
            "tools": [{"type": "function", "function": {"name": "f", "description": "does f", "parameters": {"type": "object"}}}],
            "messages": [{"role": "system", "content": "be brief"},
                         {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
                         {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
                                                                                {"id": "c2", "type": "function", "function": {"name": "f", "arguments": ""}}]},
                         {"role": "tool", "tool_call_id": "c1", "content": "one"},
                         {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "two"}]},
                         {"role": "user", "content": "and now?"}]}));
        let body = converse_body(&req).unwrap();
        assert_eq!(body["system"], json!([{"text": "be brief"}]));
        assert_eq!(body["inferenceConfig"], json!({"maxTokens": 9, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]}));
        assert_eq!(body["toolConfig"]["toolChoice"], json!({"any": {}}));
        assert_eq!(body["toolConfig"]["tools"][0]["toolSpec"]["description"], "does f");
        assert_eq!(body["additionalModelRequestFields"], json!({"top_k": 5}));
        let m = body["messages"].as_array().unwrap();
        assert_eq!(m.len(), 3, "{body}");
        assert_eq!(m[0]["content"][1]["image"]["format"], "png");
        assert_eq!(m[1]["content"][0]["toolUse"]["input"], json!({"a": 1}));
        assert_eq!(m[1]["content"][1]["toolUse"]["input"], json!({}));
        assert_eq!(m[2]["role"], "user");
        assert_eq!(m[2]["content"][0]["toolResult"]["toolUseId"], "c1");
        assert_eq!(m[2]["content"][1]["toolResult"]["content"], json!([{"text": "two"}]));
        assert_eq!(m[2]["content"][2]["text"], "and now?");
        for gone in ["model", "user", "stream"] {
            assert!(body.get(gone).is_none());
        }
    }

    #[test]
    fn tool_choices_and_refusals() {
        let base = |choice: Value| request(json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": choice}));
        assert_eq!(converse_body(&base(json!({"type": "function", "function": {"name": "f"}}))).unwrap()["toolConfig"]["toolChoice"], json!({"tool": {"name": "f"}}));
        assert_eq!(converse_body(&base(json!("auto"))).unwrap()["toolConfig"]["toolChoice"], json!({"auto": {}}));
        assert!(converse_body(&base(json!("none"))).unwrap().get("toolConfig").is_none());
        let refused = request(json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "logprobs": true}));
        assert_eq!(converse_body(&refused).unwrap_err().param(), Some("logprobs"));
        let schema = request(json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}));
        assert!(converse_body(&schema).is_err());
        let link = request(json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]}));
        assert!(converse_body(&link).unwrap_err().message().contains("data: URLs"));
        let only_system = request(json!({"model": "m", "messages": [{"role": "system", "content": "x"}]}));
        assert!(converse_body(&only_system).is_err());
    }

    #[test]
    fn answers_become_choices() {
        let answer = json!({"output": {"message": {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {"city": "Paris"}}}]}},
            "stopReason": "tool_use", "usage": {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}});
        let (c, usage) = choice(&answer, 1).unwrap();
        assert_eq!((c["index"].clone(), c["finish_reason"].clone(), usage), (json!(1), json!("tool_calls"), (3, 4)));
        assert!(c["message"]["content"].is_null());
        assert_eq!(c["message"]["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Paris\"}");
        let text = json!({"output": {"message": {"content": [{"text": "a"}, {"text": "b"}]}}, "stopReason": "max_tokens"});
        let (c, _) = choice(&text, 0).unwrap();
        assert_eq!((c["message"]["content"].clone(), c["finish_reason"].clone()), (json!("ab"), json!("length")));
        let done = completion("m", vec![c], (1, 2)).unwrap();
        assert_eq!(done.usage.map(|u| u.total_tokens), Some(3));
        assert!(choice(&json!({}), 0).is_none());
    }

    #[test]
    fn stream_events_become_chunks() {
        let mut maker = ChunkMaker::new("m", true);
        let mut all = Vec::new();
        for (event, payload) in [
            ("messageStart", json!({"role": "assistant"})),
            ("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": "Hi"}})),
            ("contentBlockStop", json!({"contentBlockIndex": 0})),
            ("contentBlockStart", json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "f"}}})),
            ("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"a\":"}}})),
            ("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "1}"}}})),
            ("messageStop", json!({"stopReason": "tool_use"})),
            ("metadata", json!({"usage": {"inputTokens": 2, "outputTokens": 5}, "metrics": {"latencyMs": 1}})),
        ] {
            all.extend(maker.on_event(event, &payload).unwrap());
        }
        assert_eq!(all.len(), 7);
        let mut acc = lls_api_inference::ChunkAccumulator::default();
        all.iter().for_each(|c| acc.push(c));
        let folded = acc.finish().unwrap();
        let message = &folded.choices[0].message;
        assert_eq!(message.content.as_deref(), Some("Hi"));
        let call = &message.tool_calls.as_ref().unwrap()[0];
        assert_eq!((call.id.as_str(), call.function.arguments.as_str()), ("t1", "{\"a\":1}"));
        assert_eq!(folded.choices[0].finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(all[6].usage.as_ref().map(|u| u.total_tokens), Some(7));
        assert!(ChunkMaker::new("m", false).on_event("metadata", &json!({})).unwrap().is_empty());
    }
}
