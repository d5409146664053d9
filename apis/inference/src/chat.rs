//! `POST /v1/chat/completions`: request, response and stream chunk types.

use lls_api_common::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A chat completion request, OpenAI's shape plus whatever extra keys the client sent.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatCompletionRequest {
    pub model: String,
    #[schemars(length(min = 1))]
    pub messages: Vec<ChatMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub n: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 20))]
    pub top_logprobs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Everything else (OpenAI's newer fields, `extra_body` keys): passed to the backend as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatCompletionRequest {
    pub fn is_stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    pub fn include_usage(&self) -> bool {
        self.stream_options.as_ref().and_then(|o| o.include_usage).unwrap_or(false)
    }

    /// Checks what the types cannot: the rules OpenAI and 0.3.5 enforce before calling a backend.
    pub fn validate(&self) -> Result<()> {
        crate::limits::check_chat(self)?;
        if self.messages.is_empty() {
            return Err(Error::invalid("'messages' must contain at least one message").with_param("messages"));
        }
        for (i, m) in self.messages.iter().enumerate() {
            m.validate().map_err(|e| Error::invalid(format!("messages[{i}]: {}", e.message())).with_param("messages"))?;
        }
        if self.tool_choice.is_some() && self.tools.as_ref().is_none_or(Vec::is_empty) {
            return Err(Error::invalid("'tool_choice' is only allowed when 'tools' are specified").with_param("tool_choice"));
        }
        if let Some(ToolChoice::Mode(mode)) = &self.tool_choice
            && !matches!(mode.as_str(), "none" | "auto" | "required")
        {
            return Err(Error::invalid(format!(
                "'tool_choice' must be 'none', 'auto', 'required' or a named function, not '{mode}'"
            ))
            .with_param("tool_choice"));
        }
        if let Some(tools) = &self.tools {
            for (i, t) in tools.iter().enumerate() {
                if t.kind != "function" {
                    return Err(Error::invalid(format!("tools[{i}].type must be 'function'")).with_param("tools"));
                }
            }
        }
        if self.n == Some(0) {
            return Err(Error::invalid("'n' must be at least 1").with_param("n"));
        }
        if self.top_logprobs.is_some_and(|n| n > 20) {
            return Err(Error::invalid("'top_logprobs' must be between 0 and 20").with_param("top_logprobs"));
        }
        if self.stream_options.is_some() && !self.is_stream() {
            return Err(Error::invalid("'stream_options' is only allowed when 'stream' is true").with_param("stream_options"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StreamOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The author of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

/// One message of a conversation.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(transform = role_requirements)]
pub struct ChatMessage {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<MessageContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatMessage {
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: Some(MessageContent::Text(text.into())),
            name: None,
            tool_calls: None,
            tool_call_id: None,
            extra: Map::new(),
        }
    }

    /// Checks what each role needs (`content`, `tool_calls`, `tool_call_id`) and the content
    /// parts' shapes.
    pub fn validate(&self) -> Result<()> {
        match self.role {
            Role::User | Role::System | Role::Developer if self.content.is_none() => {
                Err(Error::invalid("'content' is required for this role"))
            }
            Role::Tool if self.tool_call_id.is_none() => Err(Error::invalid("'tool_call_id' is required for tool messages")),
            Role::Assistant if self.content.is_none() && self.tool_calls.is_none() => {
                Err(Error::invalid("an assistant message needs 'content' or 'tool_calls'"))
            }
            _ => match &self.content {
                Some(MessageContent::Parts(parts)) => parts.iter().try_for_each(validate_part),
                _ => Ok(()),
            },
        }
    }
}

/// What [`ChatMessage::validate`] asks of each role: `content` for system, developer and user
/// messages, `content` or `tool_calls` for assistant ones, `tool_call_id` for tool results.
fn role_requirements(schema: &mut schemars::Schema) {
    let content = serde_json::json!({"type": ["string", "array"]});
    schema.insert(
        "anyOf".into(),
        serde_json::json!([
            {"properties": {"role": {"enum": ["system", "developer", "user"]}, "content": content}, "required": ["content"]},
            {"properties": {"role": {"const": "assistant"}, "content": content}, "required": ["content"]},
            {"properties": {"role": {"const": "assistant"}, "tool_calls": {"type": "array"}}, "required": ["tool_calls"]},
            {"properties": {"role": {"const": "tool"}, "tool_call_id": {"type": "string"}}, "required": ["tool_call_id"]}
        ]),
    );
}

fn validate_part(part: &Value) -> Result<()> {
    match part.get("type").and_then(Value::as_str) {
        Some("text") if part.get("text").is_some_and(Value::is_string) => Ok(()),
        Some("text") => Err(Error::invalid("a 'text' content part needs a string 'text'")),
        Some("image_url" | "file" | "input_audio" | "refusal") => Ok(()),
        Some(other) => Err(Error::invalid(format!("unknown content part type '{other}'"))),
        None => Err(Error::invalid("each content part needs a 'type'")),
    }
}

/// A message's content: a string or a list of typed parts.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(#[schemars(schema_with = "content_parts_schema")] Vec<Value>),
}

/// Typed parts as [`validate_part`] accepts them; a `text` part holds a string `text`.
fn content_parts_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {
            "anyOf": [
                {"type": "object", "properties": {"type": {"const": "text"}, "text": {"type": "string"}}, "required": ["type", "text"]},
                {"type": "object", "properties": {"type": {"enum": ["image_url", "file", "input_audio", "refusal"]}}, "required": ["type"]}
            ]
        }
    })
}

impl MessageContent {
    /// The text parts joined, for places (logs, prompts) that need plain text.
    pub fn to_text(&self) -> String {
        match self {
            MessageContent::Text(t) => t.clone(),
            MessageContent::Parts(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(""),
        }
    }
}

/// A tool offered to the model.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    pub function: FunctionDefinition,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn function_kind() -> String {
    "function".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FunctionDefinition {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `"none" | "auto" | "required"` or `{"type": "function", "function": {"name": ...}}`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ToolChoice {
    Mode(String),
    Named(Map<String, Value>),
}

/// `{"type": "text" | "json_object" | "json_schema", ...}`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchemaFormat },
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JsonSchemaFormat {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `stop`: one string or several.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    pub function: FunctionCall,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FunctionCall {
    pub name: String,
    pub arguments: String,
}

/// Token accounting; details and other extras are carried through.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: i64,
    #[serde(default)]
    pub completion_tokens: i64,
    #[serde(default)]
    pub total_tokens: i64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A whole chat completion.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatCompletion {
    pub id: String,
    #[serde(default = "chat_completion_object")]
    pub object: String,
    pub created: i64,
    pub model: String,
    pub choices: Vec<ChatChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn chat_completion_object() -> String {
    "chat.completion".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatChoice {
    pub index: u32,
    pub message: AssistantMessage,
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(default)]
    pub logprobs: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The assistant message of a choice; `content` and `tool_calls` are serialized even when null.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AssistantMessage {
    #[serde(default = "assistant_role")]
    pub role: String,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCall>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn assistant_role() -> String {
    "assistant".into()
}

/// One streamed chunk.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatCompletionChunk {
    pub id: String,
    #[serde(default = "chunk_object")]
    pub object: String,
    pub created: i64,
    pub model: String,
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn chunk_object() -> String {
    "chat.completion.chunk".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChunkChoice {
    pub index: u32,
    #[serde(default)]
    pub delta: Delta,
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(default)]
    pub logprobs: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Delta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolCallDelta {
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FunctionCallDelta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

/// One choice's delta, as the fold reads it.
struct DeltaParts<'a> {
    content: Option<&'a str>,
    reasoning: Option<&'a str>,
    tool_calls: Option<&'a [ToolCallDelta]>,
    finish_reason: Option<&'a str>,
    logprobs: Option<&'a Value>,
}

/// What the fold reads of a chunk a backend sent; the rest is skipped unparsed.
#[derive(Deserialize)]
struct ChunkView<'a> {
    #[serde(borrow, default)]
    id: std::borrow::Cow<'a, str>,
    #[serde(default)]
    created: i64,
    #[serde(borrow, default)]
    model: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    choices: Vec<ChoiceView<'a>>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct ChoiceView<'a> {
    #[serde(default)]
    index: u32,
    #[serde(borrow, default)]
    delta: DeltaView<'a>,
    #[serde(borrow, default)]
    finish_reason: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    logprobs: Option<Value>,
}

#[derive(Default, Deserialize)]
struct DeltaView<'a> {
    #[serde(borrow, default)]
    content: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    reasoning_content: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

/// Folds streamed chunks back into one completion (for the inference store).
#[derive(Debug, Default)]
pub struct ChunkAccumulator {
    first: Option<(String, i64, String)>,
    choices: Vec<(AssistantMessage, Option<String>, Vec<Value>)>,
    usage: Option<Usage>,
}

impl ChunkAccumulator {
    pub fn push(&mut self, chunk: &ChatCompletionChunk) {
        if self.first.is_none() {
            self.first = Some((chunk.id.clone(), chunk.created, chunk.model.clone()));
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage.clone();
        }
        for c in &chunk.choices {
            let d = &c.delta;
            let parts = DeltaParts {
                content: d.content.as_deref(),
                reasoning: d.reasoning_content.as_deref(),
                tool_calls: d.tool_calls.as_deref(),
                finish_reason: c.finish_reason.as_deref(),
                logprobs: c.logprobs.as_ref(),
            };
            self.push_delta(c.index as usize, &parts);
        }
    }

    /// Folds a chunk as a backend sent it (or as built), reading only what the fold needs.
    pub fn push_answer(&mut self, chunk: &crate::Answer<ChatCompletionChunk>) {
        let json = match chunk {
            crate::Answer::Typed(c) => return self.push(c),
            crate::Answer::Json(j) => j,
        };
        let Ok(view) = serde_json::from_slice::<ChunkView<'_>>(json.original()) else {
            return;
        };
        if self.first.is_none() {
            self.first = Some((view.id.into_owned(), view.created, view.model.into_owned()));
        }
        if view.usage.is_some() {
            self.usage = view.usage;
        }
        for c in &view.choices {
            let parts = DeltaParts {
                content: c.delta.content.as_deref(),
                reasoning: c.delta.reasoning_content.as_deref(),
                tool_calls: c.delta.tool_calls.as_deref(),
                finish_reason: c.finish_reason.as_deref(),
                logprobs: c.logprobs.as_ref(),
            };
            self.push_delta(c.index as usize, &parts);
        }
    }

    fn push_delta(&mut self, i: usize, d: &DeltaParts<'_>) {
        while self.choices.len() <= i {
            self.choices.push((AssistantMessage { role: assistant_role(), ..Default::default() }, None, Vec::new()));
        }
        let (msg, finish, logprobs) = &mut self.choices[i];
        if let Some(text) = d.content {
            msg.content.get_or_insert_with(String::new).push_str(text);
        }
        if let Some(text) = d.reasoning {
            msg.reasoning_content.get_or_insert_with(String::new).push_str(text);
        }
        if let Some(calls) = d.tool_calls {
            let all = msg.tool_calls.get_or_insert_with(Vec::new);
            for delta in calls {
                let idx = delta.index as usize;
                while all.len() <= idx {
                    all.push(ToolCall {
                        id: String::new(),
                        kind: function_kind(),
                        function: FunctionCall { name: String::new(), arguments: String::new() },
                    });
                }
                let call = &mut all[idx];
                if let Some(id) = &delta.id {
                    call.id.push_str(id);
                }
                if let Some(f) = &delta.function {
                    if let Some(n) = &f.name {
                        call.function.name.push_str(n);
                    }
                    if let Some(a) = &f.arguments {
                        call.function.arguments.push_str(a);
                    }
                }
            }
        }
        if let Some(reason) = d.finish_reason {
            *finish = Some(reason.to_owned());
        }
        if let Some(content) = d.logprobs.and_then(|l| l.get("content")).and_then(Value::as_array) {
            logprobs.extend(content.iter().cloned());
        }
    }

    /// The completion so far; `None` if no chunk arrived.
    pub fn finish(self) -> Option<ChatCompletion> {
        let (id, created, model) = self.first?;
        let choices = self
            .choices
            .into_iter()
            .enumerate()
            .map(|(i, (message, finish_reason, logprobs))| ChatChoice {
                index: i as u32,
                message,
                finish_reason,
                logprobs: (!logprobs.is_empty()).then(|| serde_json::json!({ "content": logprobs })),
                extra: Map::new(),
            })
            .collect();
        Some(ChatCompletion {
            id,
            object: chat_completion_object(),
            created,
            model,
            choices,
            usage: self.usage,
            extra: Map::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(v: Value) -> Result<ChatCompletionRequest> {
        let r: ChatCompletionRequest = serde_json::from_value(v)?;
        r.validate()?;
        Ok(r)
    }

    #[test]
    fn unknown_fields_round_trip() {
        let r = req(json!({"model": "m", "messages": [{"role": "user", "content": "hi", "x": 1}], "guided_choice": ["a"]})).unwrap();
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["guided_choice"], json!(["a"]));
        assert_eq!(back["messages"][0]["x"], json!(1));
        assert!(back.get("temperature").is_none());
    }

    #[test]
    fn rejects_what_openai_rejects() {
        assert!(req(json!({"model": "m", "messages": []})).is_err());
        assert!(req(json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]})).is_err());
        assert!(req(json!({"model": "m", "messages": [{"role": "user"}]})).is_err());
        assert!(req(json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "auto"})).is_err());
        assert!(req(json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"})).is_err());
        assert!(req(json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]})).is_err());
        assert!(req(json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "text"}]}]})).is_err());
    }

    #[test]
    fn accumulates_text_and_tool_calls() {
        let mut acc = ChunkAccumulator::default();
        let chunks = [
            json!({"id": "c1", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}),
            json!({"id": "c1", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "lo", "tool_calls": [{"index": 0, "id": "t1", "function": {"name": "f", "arguments": "{\"a\""}}]}}]}),
            json!({"id": "c1", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}, "finish_reason": "tool_calls"}]}),
        ];
        for c in chunks {
            acc.push(&serde_json::from_value(c).unwrap());
        }
        let done = acc.finish().unwrap();
        assert_eq!(done.choices[0].message.content.as_deref(), Some("Hello"));
        let call = &done.choices[0].message.tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.function.arguments, "{\"a\":1}");
        assert_eq!(call.id, "t1");
        assert_eq!(done.choices[0].finish_reason.as_deref(), Some("tool_calls"));
    }
}
