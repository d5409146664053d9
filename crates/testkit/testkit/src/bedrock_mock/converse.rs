//! Converse bodies <-> the OpenAI-shaped types the deterministic model speaks: requests checked
//! the way Bedrock checks them (known fields, a first user turn, alternating roles, tool blocks
//! only with a `toolConfig`) and translated for `lls_fake_model::responder`; its answers written
//! back as Converse answers and as ConverseStream events.

use lls_api_inference::{ChatCompletion, ChatCompletionRequest};
use serde_json::{Map, Value, json};

use super::AwsError;

/// Top-level fields of a Converse request (AWS's API reference).
const FIELDS: &[&str] = &[
    "messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig", "additionalModelRequestFields",
    "additionalModelResponseFieldPaths", "promptVariables", "requestMetadata", "performanceConfig",
];

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::validation(message)
}

fn blocks_text(blocks: &[Value]) -> String {
    blocks
        .iter()
        .filter_map(|b| b.get("text").and_then(Value::as_str).map(str::to_owned).or_else(|| b.get("json").map(Value::to_string)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn openai_messages(body: &Map<String, Value>) -> Result<Vec<Value>, AwsError> {
    let mut out = Vec::new();
    if let Some(system) = body.get("system") {
        let blocks = system.as_array().ok_or_else(|| invalid("1 validation error detected: Value at 'system' failed to satisfy constraint: Member must be a list"))?;
        let text = blocks_text(blocks);
        if !text.is_empty() {
            out.push(json!({"role": "system", "content": text}));
        }
    }
    let messages = body.get("messages").and_then(Value::as_array).filter(|m| !m.is_empty());
    let messages = messages.ok_or_else(|| invalid("A conversation must start with a user message. Try again with a conversation that starts with a user message."))?;
    let has_tools = body.get("toolConfig").is_some();
    let mut previous = "";
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        if i == 0 && role != "user" {
            return Err(invalid("A conversation must start with a user message. Try again with a conversation that starts with a user message."));
        }
        if !matches!(role, "user" | "assistant") {
            return Err(invalid(format!("1 validation error detected: Value '{role}' at 'messages.{}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]", i + 1)));
        }
        if role == previous {
            return Err(invalid("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant turns and try again."));
        }
        previous = role;
        let content = m.get("content").and_then(Value::as_array).filter(|c| !c.is_empty());
        let content = content.ok_or_else(|| invalid(format!("The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again.")))?;
        let mut text = Vec::new();
        let mut calls = Vec::new();
        for block in content {
            if let Some(t) = block.get("text").and_then(Value::as_str) {
                text.push(t.to_owned());
            } else if let Some(tool) = block.get("toolUse") {
                if !has_tools {
                    return Err(invalid("The toolConfig field must be defined when using toolUse and toolResult content blocks."));
                }
                calls.push(json!({"id": tool.get("toolUseId"), "type": "function", "function": {
                    "name": tool.get("name"), "arguments": tool.get("input").map_or_else(|| "{}".to_owned(), Value::to_string)}}));
            } else if let Some(result) = block.get("toolResult") {
                if !has_tools {
                    return Err(invalid("The toolConfig field must be defined when using toolUse and toolResult content blocks."));
                }
                let blocks = result.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                out.push(json!({"role": "tool", "tool_call_id": result.get("toolUseId"), "content": blocks_text(blocks)}));
            } else if block.get("image").is_none() && block.get("document").is_none() && block.get("reasoningContent").is_none() {
                return Err(invalid(format!("messages.{i}: a content block must hold one of text, image, document, toolUse, toolResult")));
            }
        }
        let joined = text.join("\n");
        match role {
            "assistant" => {
                let mut message = json!({"role": "assistant", "content": if joined.is_empty() { Value::Null } else { json!(joined) }});
                if let (false, Value::Object(o)) = (calls.is_empty(), &mut message) {
                    o.insert("tool_calls".into(), Value::Array(calls));
                }
                out.push(message);
            }
            _ if !joined.is_empty() => out.push(json!({"role": "user", "content": joined})),
            _ => {}
        }
    }
    Ok(out)
}

fn openai_tools(config: &Value) -> Result<(Value, Option<Value>), AwsError> {
    let tools = config.get("tools").and_then(Value::as_array).filter(|t| !t.is_empty());
    let tools = tools.ok_or_else(|| invalid("The toolConfig field must contain at least one tool."))?;
    let specs = tools
        .iter()
        .map(|t| {
            let spec = t.get("toolSpec").ok_or_else(|| invalid("A tool must hold a toolSpec."))?;
            let name = spec.get("name").and_then(Value::as_str).ok_or_else(|| invalid("A toolSpec must have a name."))?;
            let schema = spec.pointer("/inputSchema/json").cloned().ok_or_else(|| invalid("A toolSpec must have inputSchema.json."))?;
            Ok(json!({"type": "function", "function": {"name": name, "description": spec.get("description"), "parameters": schema}}))
        })
        .collect::<Result<Vec<_>, AwsError>>()?;
    let choice = match config.get("toolChoice") {
        None => None,
        Some(c) if c.get("auto").is_some() => Some(json!("auto")),
        Some(c) if c.get("any").is_some() => Some(json!("required")),
        Some(c) => match c.pointer("/tool/name").and_then(Value::as_str) {
            Some(name) => Some(json!({"type": "function", "function": {"name": name}})),
            None => return Err(invalid("toolChoice must be one of auto, any, tool")),
        },
    };
    Ok((Value::Array(specs), choice))
}

/// A Converse body as the OpenAI request the model answers.
pub(crate) fn chat_request(model: &str, body: &Map<String, Value>) -> Result<ChatCompletionRequest, AwsError> {
    if let Some(k) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid(format!("Unknown field in the request body: '{k}'")));
    }
    let mut openai = Map::new();
    openai.insert("model".into(), json!(model));
    openai.insert("messages".into(), Value::Array(openai_messages(body)?));
    if let Some(config) = body.get("inferenceConfig") {
        for (from, to) in [("maxTokens", "max_tokens"), ("temperature", "temperature"), ("topP", "top_p"), ("stopSequences", "stop")] {
            if let Some(v) = config.get(from) {
                openai.insert(to.into(), v.clone());
            }
        }
        if config.get("temperature").and_then(Value::as_f64).is_some_and(|t| !(0.0..=1.0).contains(&t)) {
            return Err(invalid("1 validation error detected: Value at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1"));
        }
    }
    if let Some(config) = body.get("toolConfig") {
        let (tools, choice) = openai_tools(config)?;
        openai.insert("tools".into(), tools);
        if let Some(c) = choice {
            openai.insert("tool_choice".into(), c);
        }
    }
    let request: ChatCompletionRequest = serde_json::from_value(Value::Object(openai)).map_err(|e| invalid(format!("Malformed input request: {e}")))?;
    request.validate().map_err(|e| invalid(e.message().to_owned()))?;
    Ok(request)
}

/// The words of every text in the messages: what the mock counts against a context.
pub(crate) fn prompt_words(request: &ChatCompletionRequest) -> usize {
    request.messages.iter().filter_map(|m| m.content.as_ref()).map(|c| lls_fake_model::embedding::token_count(&c.to_text())).sum()
}

fn stop_reason(finish: Option<&str>) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some("tool_calls") => "tool_use",
        Some("content_filter") => "content_filtered",
        _ => "end_turn",
    }
}

/// The content blocks, stop reason and usage of the model's first choice.
fn parts(c: &ChatCompletion) -> (Vec<Value>, &'static str, Value) {
    let mut blocks = Vec::new();
    let choice = c.choices.first();
    if let Some(text) = choice.and_then(|ch| ch.message.content.as_deref()).filter(|t| !t.is_empty()) {
        blocks.push(json!({"text": text}));
    }
    for call in choice.and_then(|ch| ch.message.tool_calls.as_ref()).map(Vec::as_slice).unwrap_or_default() {
        let input: Value = serde_json::from_str(&call.function.arguments).unwrap_or_else(|_| json!({}));
        blocks.push(json!({"toolUse": {"toolUseId": call.id, "name": call.function.name, "input": input}}));
    }
    let (p, o) = c.usage.as_ref().map_or((0, 0), |u| (u.prompt_tokens, u.completion_tokens));
    (blocks, stop_reason(choice.and_then(|ch| ch.finish_reason.as_deref())), json!({"inputTokens": p, "outputTokens": o, "totalTokens": p + o}))
}

/// A whole Converse answer.
pub(crate) fn answer(c: &ChatCompletion) -> Value {
    let (blocks, stop, usage) = parts(c);
    json!({"output": {"message": {"role": "assistant", "content": blocks}}, "stopReason": stop, "usage": usage, "metrics": {"latencyMs": 12}})
}

/// The ConverseStream events of an answer, as `(:event-type, payload)`; each payload carries the
/// `p` padding field Bedrock adds.
pub(crate) fn events(c: &ChatCompletion) -> Vec<(&'static str, Value)> {
    let (blocks, stop, usage) = parts(c);
    let mut out = vec![("messageStart", json!({"role": "assistant", "p": "abcdefgh"}))];
    for (index, block) in blocks.iter().enumerate() {
        if let Some(text) = block.get("text").and_then(Value::as_str) {
            for piece in lls_fake_model::responder::pieces(text) {
                out.push(("contentBlockDelta", json!({"contentBlockIndex": index, "delta": {"text": piece}, "p": "abcd"})));
            }
        } else if let Some(tool) = block.get("toolUse") {
            out.push(("contentBlockStart", json!({"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": tool["toolUseId"], "name": tool["name"]}}, "p": "ab"})));
            let input = tool["input"].to_string();
            let cut = input.char_indices().nth(input.chars().count() / 2).map_or(input.len(), |(i, _)| i);
            for half in [&input[..cut], &input[cut..]] {
                out.push(("contentBlockDelta", json!({"contentBlockIndex": index, "delta": {"toolUse": {"input": half}}, "p": "abc"})));
            }
        }
        out.push(("contentBlockStop", json!({"contentBlockIndex": index, "p": "a"})));
    }
    out.push(("messageStop", json!({"stopReason": stop, "p": "abcdef"})));
    out.push(("metadata", json!({"usage": usage, "metrics": {"latencyMs": 12}, "p": "abc"})));
    out
}
