//! The Responses API's requests, the response object, and the list shapes.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::items::Item;

/// `input`: a string (one user message) or a list of items (a message may leave out `type`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ResponseInput {
    Text(String),
    Items(Vec<Item>),
}

impl<'de> Deserialize<'de> for ResponseInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(ResponseInput::Text(s)),
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    Item::from_input(v)
                        .map_err(|e| serde::de::Error::custom(format!("input[{i}]: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(ResponseInput::Items),
            other => Err(serde::de::Error::custom(format!(
                "'input' must be a string or a list of items, got {other}"
            ))),
        }
    }
}

/// A tool the client offers the model (`tools[]` of the request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type")]
pub enum InputTool {
    #[serde(
        rename = "web_search",
        alias = "web_search_preview",
        alias = "web_search_preview_2025_03_11"
    )]
    WebSearch(WebSearchTool),
    #[serde(rename = "file_search")]
    FileSearch(FileSearchTool),
    #[serde(rename = "function")]
    Function(FunctionTool),
    #[serde(rename = "mcp")]
    Mcp(McpToolConfig),
}

/// `web_search`: run through the `web_search` tool of the tool groups (`builtin::websearch`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WebSearchTool {
    /// `low`, `medium` (the default) or `high`; accepted, not used.
    #[serde(default = "medium")]
    pub search_context_size: Option<String>,
}

fn medium() -> Option<String> {
    Some("medium".into())
}

/// `file_search` over vector stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileSearchTool {
    pub vector_store_ids: Vec<String>,
    #[serde(default)]
    pub filters: Option<Value>,
    /// 1..=50, default 10.
    #[serde(default = "ten")]
    pub max_num_results: Option<i64>,
    #[serde(default)]
    pub ranking_options: Option<Value>,
}

fn ten() -> Option<i64> {
    Some(10)
}

/// A client-side function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FunctionTool {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    #[serde(default)]
    pub strict: Option<bool>,
}

/// An MCP server's tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct McpToolConfig {
    pub server_label: String,
    pub server_url: String,
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    #[serde(default = "never")]
    pub require_approval: RequireApproval,
    #[serde(default)]
    pub allowed_tools: Option<AllowedTools>,
}

fn never() -> RequireApproval {
    RequireApproval::Mode("never".into())
}

/// `require_approval`: `"always"`, `"never"`, or `{always: [...], never: [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RequireApproval {
    Mode(String),
    Filter {
        #[serde(default)]
        always: Option<Vec<String>>,
        #[serde(default)]
        never: Option<Vec<String>>,
    },
}

impl RequireApproval {
    /// Whether calling `tool` needs the client's approval first.
    pub fn required_for(&self, tool: &str) -> bool {
        match self {
            RequireApproval::Mode(m) => m != "never",
            RequireApproval::Filter { always, never } => {
                if always.as_ref().is_some_and(|a| a.iter().any(|t| t == tool)) {
                    return true;
                }
                if never.as_ref().is_some_and(|n| n.iter().any(|t| t == tool)) {
                    return false;
                }
                true
            }
        }
    }
}

/// `allowed_tools`: a list of names or `{tool_names: [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum AllowedTools {
    Names(Vec<String>),
    Filter {
        #[serde(default)]
        tool_names: Option<Vec<String>>,
    },
}

impl AllowedTools {
    /// Whether `tool` may be offered to the model.
    pub fn allows(&self, tool: &str) -> bool {
        match self {
            AllowedTools::Names(names) => names.iter().any(|n| n == tool),
            AllowedTools::Filter {
                tool_names: Some(names),
            } => names.iter().any(|n| n == tool),
            AllowedTools::Filter { tool_names: None } => true,
        }
    }
}

/// A tool as the response object shows it: an MCP tool without its URL and headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type")]
pub enum ResponseTool {
    #[serde(
        rename = "web_search",
        alias = "web_search_preview",
        alias = "web_search_preview_2025_03_11"
    )]
    WebSearch(WebSearchTool),
    #[serde(rename = "file_search")]
    FileSearch(FileSearchTool),
    #[serde(rename = "function")]
    Function(FunctionTool),
    #[serde(rename = "mcp")]
    Mcp {
        server_label: String,
        #[serde(default)]
        allowed_tools: Option<AllowedTools>,
    },
}

impl From<&InputTool> for ResponseTool {
    fn from(tool: &InputTool) -> Self {
        match tool {
            InputTool::WebSearch(t) => ResponseTool::WebSearch(t.clone()),
            InputTool::FileSearch(t) => ResponseTool::FileSearch(t.clone()),
            InputTool::Function(t) => ResponseTool::Function(t.clone()),
            InputTool::Mcp(t) => ResponseTool::Mcp {
                server_label: t.server_label.clone(),
                allowed_tools: t.allowed_tools.clone(),
            },
        }
    }
}

/// `text`: the output format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TextConfig {
    #[serde(default)]
    pub format: Option<TextFormat>,
}

impl Default for TextConfig {
    fn default() -> Self {
        TextConfig {
            format: Some(TextFormat {
                kind: "text".into(),
                name: None,
                schema: None,
                description: None,
                strict: None,
            }),
        }
    }
}

/// `text.format`: `text`, `json_object`, or `json_schema` with `name` and `schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TextFormat {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// A guardrail: a shield id, or `{type: <shield id>}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Guardrail {
    Id(String),
    Spec {
        #[serde(rename = "type")]
        kind: String,
    },
}

impl Guardrail {
    pub fn shield_id(&self) -> &str {
        match self {
            Guardrail::Id(id) | Guardrail::Spec { kind: id } => id,
        }
    }
}

/// `prompt`: a stored prompt template (the prompts API) whose rendered text is the response's
/// first instructions, and the values of its variables (a string, or an `input_text` or
/// `input_image` part). Echoed on the response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponsePrompt {
    /// `pmpt_…`.
    pub id: String,
    /// Which version (OpenAI sends a string; a number is read too); the default one when absent.
    #[serde(default, deserialize_with = "version_text")]
    pub version: Option<String>,
    #[serde(default)]
    pub variables: Option<Map<String, Value>>,
}

fn version_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "'prompt.version' must be a string, got {other}"
        ))),
    }
}

fn no_input() -> ResponseInput {
    ResponseInput::Items(Vec::new())
}

/// `POST /v1/responses`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateResponseRequest {
    /// Absent: nothing but the prompt's and the request's instructions (OpenAI allows that
    /// with a `prompt`; without one there is nothing to send, a 400).
    #[serde(default = "no_input")]
    pub input: ResponseInput,
    pub model: String,
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub prompt: Option<ResponsePrompt>,
    #[serde(default)]
    pub previous_response_id: Option<String>,
    /// A `conv_…` id: the conversation's items are the context, and this turn is appended.
    #[serde(default)]
    pub conversation: Option<String>,
    /// Default true.
    #[serde(default)]
    pub store: Option<bool>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub text: Option<TextConfig>,
    #[serde(default)]
    pub tools: Option<Vec<InputTool>>,
    /// `auto`, `none`, `required`, or `{type: "function", name}` (also `{type: "mcp",
    /// server_label, name?}` and `{type: "file_search" | "web_search"}`).
    #[serde(default)]
    pub tool_choice: Option<Value>,
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default)]
    pub max_output_tokens: Option<i64>,
    /// The most built-in (server-side) tool calls in the whole response.
    #[serde(default)]
    pub max_tool_calls: Option<i64>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    /// `file_search_call.results` and the like.
    #[serde(default)]
    pub include: Option<Vec<String>>,
    /// The most model round trips (default 10).
    #[serde(default)]
    pub max_infer_iters: Option<i64>,
    /// Shield ids checked on the input and on the output as it streams.
    #[serde(default)]
    pub guardrails: Option<Vec<Guardrail>>,
    /// Other OpenAI fields (`truncation`, `reasoning`, `service_tier`, `user`, …): accepted.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A failed response's error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponseError {
    pub code: String,
    pub message: String,
}

/// Token usage summed over the response's model calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponseUsage {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    #[serde(default)]
    pub input_tokens_details: Option<InputTokensDetails>,
    #[serde(default)]
    pub output_tokens_details: Option<OutputTokensDetails>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InputTokensDetails {
    #[serde(default)]
    pub cached_tokens: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutputTokensDetails {
    #[serde(default)]
    pub reasoning_tokens: Option<i64>,
}

/// The response object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponseObject {
    pub created_at: i64,
    #[serde(default)]
    pub error: Option<ResponseError>,
    pub id: String,
    pub model: String,
    /// Always `"response"`.
    pub object: String,
    pub output: Vec<Item>,
    pub parallel_tool_calls: bool,
    #[serde(default)]
    pub previous_response_id: Option<String>,
    /// `in_progress`, `completed`, `incomplete` or `failed`.
    pub status: String,
    #[serde(default)]
    pub temperature: Option<f64>,
    pub text: TextConfig,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub tools: Option<Vec<ResponseTool>>,
    #[serde(default)]
    pub truncation: Option<String>,
    #[serde(default)]
    pub usage: Option<ResponseUsage>,
    #[serde(default)]
    pub instructions: Option<String>,
    /// OpenAI's fields 0.3.5 leaves out; present when the request set them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<ResponsePrompt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tool_calls: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_details: Option<IncompleteDetails>,
}

/// Why a response is `incomplete` (`max_output_tokens`, `max_infer_iters`, `max_tool_calls`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IncompleteDetails {
    pub reason: String,
}

/// A stored response with the input it was made from (the list route's items).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponseWithInput {
    #[serde(flatten)]
    pub response: ResponseObject,
    pub input: Vec<Item>,
}

/// `GET /v1/responses` query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListResponsesQuery {
    #[serde(default)]
    pub after: Option<String>,
    /// Default 50.
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub model: Option<String>,
    /// `asc` or `desc` (the default).
    #[serde(default)]
    pub order: Option<String>,
}

/// `GET /v1/responses`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponseList {
    pub data: Vec<ResponseWithInput>,
    pub has_more: bool,
    pub first_id: String,
    pub last_id: String,
    /// Always `"list"`.
    pub object: String,
}

/// `GET /v1/responses/{id}/input_items` query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InputItemsQuery {
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
    /// Default 20.
    #[serde(default)]
    pub limit: Option<i64>,
    /// `asc` or `desc` (the default).
    #[serde(default)]
    pub order: Option<String>,
}

/// `GET /v1/responses/{id}/input_items`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InputItemList {
    pub data: Vec<Item>,
    /// Always `"list"`.
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_id: Option<String>,
    #[serde(default)]
    pub has_more: bool,
}

/// `DELETE /v1/responses/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponseDeleted {
    pub id: String,
    /// Always `"response"`.
    pub object: String,
    pub deleted: bool,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_request_reads_strings_items_and_tools() {
        let r: CreateResponseRequest = serde_json::from_value(json!({
            "model": "m", "input": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "web_search_preview"}, {"type": "mcp", "server_label": "s", "server_url": "http://x",
                "require_approval": {"never": ["a"]}, "allowed_tools": {"tool_names": ["a"]}}],
            "guardrails": ["g", {"type": "h"}], "truncation": "auto"
        }))
        .unwrap();
        assert!(matches!(r.input, ResponseInput::Items(ref v) if v.len() == 1));
        let tools = r.tools.unwrap();
        assert!(matches!(tools[0], InputTool::WebSearch(_)));
        let InputTool::Mcp(mcp) = &tools[1] else {
            panic!()
        };
        assert!(!mcp.require_approval.required_for("a"));
        assert!(mcp.require_approval.required_for("b"));
        assert!(mcp.allowed_tools.as_ref().unwrap().allows("a"));
        assert_eq!(
            r.guardrails
                .unwrap()
                .iter()
                .map(Guardrail::shield_id)
                .collect::<Vec<_>>(),
            ["g", "h"]
        );
        assert!(r.extra.contains_key("truncation"));
    }

    #[test]
    fn a_prompt_reads_its_version_as_text_and_input_may_be_left_out() {
        let r: CreateResponseRequest = serde_json::from_value(json!({
            "model": "m", "prompt": {"id": "pmpt_1", "version": 2, "variables": {"a": "x"}}
        }))
        .unwrap();
        assert_eq!(r.input, ResponseInput::Items(Vec::new()));
        let prompt = r.prompt.unwrap();
        assert_eq!((prompt.id.as_str(), prompt.version.as_deref()), ("pmpt_1", Some("2")));
        assert_eq!(prompt.variables.unwrap()["a"], "x");
        let r: CreateResponseRequest = serde_json::from_value(
            json!({"model": "m", "input": "x", "prompt": {"id": "p", "version": "3"}}),
        )
        .unwrap();
        assert_eq!(r.prompt.unwrap().version.as_deref(), Some("3"));
        assert!(
            serde_json::from_value::<CreateResponseRequest>(
                json!({"model": "m", "prompt": {"id": "p", "version": [1]}})
            )
            .is_err()
        );
    }

    #[test]
    fn unknown_tool_types_and_bad_input_are_refused() {
        assert!(
            serde_json::from_value::<CreateResponseRequest>(
                json!({"model": "m", "input": "x", "tools": [{"type": "computer"}]})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<CreateResponseRequest>(json!({"model": "m", "input": 3}))
                .is_err()
        );
    }
}
