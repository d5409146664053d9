//! Items: what a response's input and output, and a conversation, are made of (OpenAI's
//! Responses item types as 0.3.5 models them). Optional fields serialise as `null`, as pydantic
//! writes them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One item, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    Message(MessageItem),
    WebSearchCall(WebSearchCall),
    FileSearchCall(FileSearchCall),
    FunctionCall(FunctionCall),
    FunctionCallOutput(FunctionCallOutput),
    McpCall(McpCall),
    McpListTools(McpListTools),
    McpApprovalRequest(McpApprovalRequest),
    McpApprovalResponse(McpApprovalResponse),
}

impl Item {
    /// The item's `type` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Item::Message(_) => "message",
            Item::WebSearchCall(_) => "web_search_call",
            Item::FileSearchCall(_) => "file_search_call",
            Item::FunctionCall(_) => "function_call",
            Item::FunctionCallOutput(_) => "function_call_output",
            Item::McpCall(_) => "mcp_call",
            Item::McpListTools(_) => "mcp_list_tools",
            Item::McpApprovalRequest(_) => "mcp_approval_request",
            Item::McpApprovalResponse(_) => "mcp_approval_response",
        }
    }

    /// The item's id, where it has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Item::Message(m) => m.id.as_deref(),
            Item::WebSearchCall(c) => Some(&c.id),
            Item::FileSearchCall(c) => Some(&c.id),
            Item::FunctionCall(c) => c.id.as_deref(),
            Item::FunctionCallOutput(c) => c.id.as_deref(),
            Item::McpCall(c) => Some(&c.id),
            Item::McpListTools(c) => Some(&c.id),
            Item::McpApprovalRequest(c) => Some(&c.id),
            Item::McpApprovalResponse(c) => c.id.as_deref(),
        }
    }

    /// Sets the id of an item that has none (the ones whose id is optional).
    pub fn set_id_if_missing(&mut self, id: impl FnOnce() -> String) {
        let slot = match self {
            Item::Message(m) => &mut m.id,
            Item::FunctionCall(c) => &mut c.id,
            Item::FunctionCallOutput(c) => &mut c.id,
            Item::McpApprovalResponse(c) => &mut c.id,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(id());
        }
    }

    /// Reads one input item as the Responses API accepts it: a message may leave out `type`.
    pub fn from_input(mut value: Value) -> Result<Item, serde_json::Error> {
        if let Value::Object(map) = &mut value
            && !map.contains_key("type")
            && map.contains_key("role")
        {
            map.insert("type".into(), Value::String("message".into()));
        }
        serde_json::from_value(value)
    }

    pub fn message(role: Role, content: MessageContent) -> Item {
        Item::Message(MessageItem {
            content,
            role,
            id: None,
            status: None,
        })
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// A message: the input, or the assistant's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MessageItem {
    pub content: MessageContent,
    pub role: Role,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

impl MessageItem {
    /// The message's text: the string, or its text parts joined (output text, input text,
    /// refusals), as the chat conversion and guardrails read it.
    pub fn text(&self) -> String {
        match &self.content {
            MessageContent::Text(t) => t.clone(),
            MessageContent::Parts(parts) => parts
                .iter()
                .filter_map(ContentPart::text)
                .collect::<Vec<_>>()
                .join(""),
        }
    }
}

/// A message's content: a string or a list of parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// A part of a message's content (input parts for user/system messages, output parts for the
/// assistant's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    InputText {
        text: String,
    },
    InputImage {
        #[serde(default = "auto")]
        detail: String,
        #[serde(default)]
        image_url: Option<String>,
    },
    OutputText {
        text: String,
        #[serde(default)]
        annotations: Vec<Annotation>,
    },
    Refusal {
        refusal: String,
    },
}

fn auto() -> String {
    "auto".into()
}

impl ContentPart {
    pub fn text(&self) -> Option<&str> {
        match self {
            ContentPart::InputText { text } | ContentPart::OutputText { text, .. } => Some(text),
            ContentPart::Refusal { refusal } => Some(refusal),
            ContentPart::InputImage { .. } => None,
        }
    }

    pub fn output_text(text: impl Into<String>) -> Self {
        ContentPart::OutputText {
            text: text.into(),
            annotations: Vec::new(),
        }
    }
}

/// An annotation on output text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Annotation {
    FileCitation {
        file_id: String,
        filename: String,
        index: usize,
    },
    UrlCitation {
        end_index: usize,
        start_index: usize,
        title: String,
        url: String,
    },
    ContainerFileCitation {
        container_id: String,
        end_index: usize,
        file_id: String,
        filename: String,
        start_index: usize,
    },
    FilePath {
        file_id: String,
        index: usize,
    },
}

/// A web search the server ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WebSearchCall {
    pub id: String,
    pub status: String,
}

/// A file search the server ran, with its results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileSearchCall {
    pub id: String,
    pub queries: Vec<String>,
    pub status: String,
    #[serde(default)]
    pub results: Option<Vec<FileSearchResult>>,
}

/// One hit of a file search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileSearchResult {
    pub attributes: Map<String, Value>,
    pub file_id: String,
    pub filename: String,
    pub score: f64,
    pub text: String,
}

/// A call of a client-side function the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FunctionCall {
    pub call_id: String,
    pub name: String,
    pub arguments: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// The client's result of a function call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FunctionCallOutput {
    pub call_id: String,
    pub output: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// A call of an MCP server's tool the server made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct McpCall {
    pub id: String,
    pub arguments: String,
    pub name: String,
    pub server_label: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub output: Option<String>,
}

/// The tools an MCP server offered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct McpListTools {
    pub id: String,
    pub server_label: String,
    pub tools: Vec<McpTool>,
}

/// One tool of an MCP listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct McpTool {
    pub input_schema: Map<String, Value>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// The server asks the client to approve an MCP call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct McpApprovalRequest {
    pub arguments: String,
    pub id: String,
    pub name: String,
    pub server_label: String,
}

/// The client's answer to an approval request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct McpApprovalResponse {
    pub approval_request_id: String,
    pub approve: bool,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_message_without_type_is_read_as_input() {
        let item = Item::from_input(json!({"role": "user", "content": "hi"})).unwrap();
        assert_eq!(
            item,
            Item::message(Role::User, MessageContent::Text("hi".into()))
        );
        assert!(serde_json::from_value::<Item>(json!({"role": "user", "content": "hi"})).is_err());
    }

    #[test]
    fn items_serialise_with_their_type_and_null_options() {
        let item = Item::FunctionCall(FunctionCall {
            call_id: "c1".into(),
            name: "f".into(),
            arguments: "{}".into(),
            id: None,
            status: None,
        });
        assert_eq!(
            serde_json::to_value(&item).unwrap(),
            json!({"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}", "id": null, "status": null})
        );
    }

    #[test]
    fn content_parts_round_trip() {
        let v = json!({"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
            "content": [{"type": "output_text", "text": "x", "annotations": [{"type": "file_citation", "file_id": "f", "filename": "a.txt", "index": 1}]}]});
        let item: Item = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&item).unwrap(), v);
    }
}
