//! From Responses items to chat messages (what the model is sent), as 0.3.5 converts them, and
//! from the model's text back to an output message with file citations.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use lls_api_agents::{Annotation, ContentPart, Item, MessageContent, MessageItem, Role};
use lls_api_common::{Error, Result};
use lls_api_inference::{
    ChatMessage, FunctionCall, MessageContent as ChatContent, Role as ChatRole, ToolCall,
};
use regex::Regex;
use serde_json::{Map, json};

/// A chat message with only a role and content.
pub fn chat(role: ChatRole, content: ChatContent) -> ChatMessage {
    ChatMessage {
        role,
        content: Some(content),
        name: None,
        tool_calls: None,
        tool_call_id: None,
        extra: Map::new(),
    }
}

/// The assistant's message asking for tool calls.
pub fn assistant_calls(content: Option<String>, calls: Vec<ToolCall>) -> ChatMessage {
    ChatMessage {
        role: ChatRole::Assistant,
        content: content.map(ChatContent::Text),
        name: None,
        tool_calls: (!calls.is_empty()).then_some(calls),
        tool_call_id: None,
        extra: Map::new(),
    }
}

/// A tool's result message.
pub fn tool_result(call_id: &str, content: ChatContent) -> ChatMessage {
    ChatMessage {
        role: ChatRole::Tool,
        content: Some(content),
        name: None,
        tool_calls: None,
        tool_call_id: Some(call_id.to_owned()),
        extra: Map::new(),
    }
}

pub fn tool_call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.to_owned(),
        kind: "function".into(),
        function: FunctionCall {
            name: name.to_owned(),
            arguments: arguments.to_owned(),
        },
    }
}

/// A message's content for chat: strings stay strings; text parts (input or output) become
/// `text` parts, images `image_url` parts, refusals text.
pub fn chat_content(content: &MessageContent) -> ChatContent {
    match content {
        MessageContent::Text(t) => ChatContent::Text(t.clone()),
        MessageContent::Parts(parts) => ChatContent::Parts(
            parts
                .iter()
                .filter_map(|p| match p {
                    ContentPart::InputText { text } | ContentPart::OutputText { text, .. } => Some(json!({"type": "text", "text": text})),
                    ContentPart::Refusal { refusal } => Some(json!({"type": "text", "text": refusal})),
                    ContentPart::InputImage { detail, image_url } => {
                        image_url.as_ref().map(|url| json!({"type": "image_url", "image_url": {"url": url, "detail": detail}}))
                    }
                })
                .collect(),
        ),
    }
}

fn chat_role(role: Role) -> ChatRole {
    match role {
        Role::System => ChatRole::System,
        Role::Developer => ChatRole::Developer,
        Role::User => ChatRole::User,
        Role::Assistant => ChatRole::Assistant,
    }
}

fn same_content(a: &ChatContent, b: &ChatContent) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

/// The chat messages for `input`. A `function_call_output` follows its `function_call`; one
/// whose call is not in `input` must answer a call in `previous` (the messages this turn
/// continues), else it is a 400. A user message repeating the last user message of `previous`
/// is skipped (clients resend it with function results). MCP listings and approvals are the
/// engine's business and are not sent to the model.
pub fn to_chat_messages(
    input: &[Item],
    previous: Option<&[ChatMessage]>,
) -> Result<Vec<ChatMessage>> {
    let mut outputs: Vec<(&str, &str)> = input
        .iter()
        .filter_map(|i| match i {
            Item::FunctionCallOutput(o) => Some((o.call_id.as_str(), o.output.as_str())),
            _ => None,
        })
        .collect();
    let mut take_output = |call_id: &str| {
        outputs
            .iter()
            .position(|(id, _)| *id == call_id)
            .map(|i| outputs.remove(i).1)
    };
    let last_user = previous
        .and_then(|p| p.iter().rev().find(|m| m.role == ChatRole::User))
        .and_then(|m| m.content.clone());
    let mut messages = Vec::new();
    for item in input {
        match item {
            Item::FunctionCallOutput(_)
            | Item::McpListTools(_)
            | Item::McpApprovalRequest(_)
            | Item::McpApprovalResponse(_) => {}
            Item::FunctionCall(call) => {
                messages.push(assistant_calls(
                    None,
                    vec![tool_call(&call.call_id, &call.name, &call.arguments)],
                ));
                if let Some(output) = take_output(&call.call_id) {
                    messages.push(tool_result(
                        &call.call_id,
                        ChatContent::Text(output.to_owned()),
                    ));
                }
            }
            Item::McpCall(call) => {
                messages.push(assistant_calls(
                    None,
                    vec![tool_call(&call.id, &call.name, &call.arguments)],
                ));
                let output = call
                    .output
                    .clone()
                    .or_else(|| call.error.clone())
                    .unwrap_or_default();
                messages.push(tool_result(&call.id, ChatContent::Text(output)));
            }
            // Server-side searches already ran; their results reached the model in the turn that
            // made them (0.3.5 cannot take them as input at all).
            Item::WebSearchCall(_) | Item::FileSearchCall(_) => {}
            Item::Message(MessageItem { content, role, .. }) => {
                let content = chat_content(content);
                if *role == Role::User
                    && last_user
                        .as_ref()
                        .is_some_and(|last| same_content(last, &content))
                {
                    continue;
                }
                messages.push(chat(chat_role(*role), content));
            }
        }
    }
    if !outputs.is_empty() {
        let previous_calls: HashSet<&str> = previous
            .unwrap_or_default()
            .iter()
            .flat_map(|m| m.tool_calls.iter().flatten())
            .map(|c| c.id.as_str())
            .collect();
        let (known, unknown): (Vec<_>, Vec<_>) = outputs
            .into_iter()
            .partition(|(id, _)| previous_calls.contains(id));
        if !unknown.is_empty() {
            let ids: Vec<&str> = unknown.iter().map(|(id, _)| *id).collect();
            return Err(Error::invalid(format!(
                "Received function_call_output(s) with call_id(s) {ids:?}, but no corresponding function_call"
            ))
            .with_param("input"));
        }
        for (id, output) in known {
            messages.push(tool_result(id, ChatContent::Text(output.to_owned())));
        }
    }
    Ok(messages)
}

static CITATION: LazyLock<Regex> =
    LazyLock::new(|| match Regex::new(r"<\|(file-[A-Za-z0-9_-]+)\|>") {
        Ok(re) => re,
        Err(e) => unreachable!("the citation pattern is valid: {e}"),
    });

/// Removes `<|file-…|>` markers (with one space before each) and returns the cleaned text with
/// a `file_citation` for each marker whose file is known; `index` is where the marker was in
/// the cleaned text, counted in characters.
pub fn extract_citations(text: &str, files: &HashMap<String, String>) -> (Vec<Annotation>, String) {
    let mut annotations = Vec::new();
    let mut cleaned = String::with_capacity(text.len());
    let mut chars = 0;
    let mut last = 0;
    for m in CITATION.captures_iter(text) {
        let (Some(whole), Some(id)) = (m.get(0), m.get(1)) else {
            continue;
        };
        let mut prefix = &text[last..whole.start()];
        if let Some(stripped) = prefix.strip_suffix(' ') {
            prefix = stripped;
        }
        cleaned.push_str(prefix);
        chars += prefix.chars().count();
        if let Some(filename) = files.get(id.as_str()) {
            annotations.push(Annotation::FileCitation {
                file_id: id.as_str().to_owned(),
                filename: filename.clone(),
                index: chars,
            });
        }
        last = whole.end();
    }
    cleaned.push_str(&text[last..]);
    (annotations, cleaned)
}

/// The text of every message, joined (what input guardrails judge).
pub fn messages_text(messages: &[ChatMessage]) -> String {
    messages
        .iter()
        .filter_map(|m| m.content.as_ref())
        .map(ChatContent::to_text)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lls_api_agents::{FunctionCall as CallItem, FunctionCallOutput};

    use super::*;

    fn user(text: &str) -> Item {
        Item::message(Role::User, MessageContent::Text(text.into()))
    }

    #[test]
    fn function_outputs_follow_their_calls() {
        let input = vec![
            user("weather?"),
            Item::FunctionCallOutput(FunctionCallOutput {
                call_id: "c1".into(),
                output: "sunny".into(),
                id: None,
                status: None,
            }),
            Item::FunctionCall(CallItem {
                call_id: "c1".into(),
                name: "w".into(),
                arguments: "{}".into(),
                id: None,
                status: None,
            }),
        ];
        let m = to_chat_messages(&input, None).unwrap();
        assert_eq!(
            m.iter().map(|m| m.role).collect::<Vec<_>>(),
            [ChatRole::User, ChatRole::Assistant, ChatRole::Tool]
        );
        assert_eq!(m[2].tool_call_id.as_deref(), Some("c1"));
    }

    #[test]
    fn an_output_without_its_call_is_a_400_unless_a_previous_turn_made_it() {
        let input = vec![Item::FunctionCallOutput(FunctionCallOutput {
            call_id: "c9".into(),
            output: "x".into(),
            id: None,
            status: None,
        })];
        assert_eq!(
            to_chat_messages(&input, None).unwrap_err().kind(),
            lls_api_common::ErrorKind::InvalidRequest
        );
        let previous = vec![
            chat(ChatRole::User, ChatContent::Text("q".into())),
            assistant_calls(None, vec![tool_call("c9", "f", "{}")]),
        ];
        let m = to_chat_messages(&input, Some(&previous)).unwrap();
        assert_eq!(m.len(), 1);
        // The repeated user message is skipped.
        let m = to_chat_messages(&[user("q")], Some(&previous)).unwrap();
        assert!(m.is_empty());
    }

    #[test]
    fn citations_are_cut_out_and_point_at_the_punctuation() {
        let files = HashMap::from([("file-a".to_owned(), "a.txt".to_owned())]);
        let (ann, text) =
            extract_citations("Paris is big <|file-a|>. Rome too <|file-zz|>.", &files);
        assert_eq!(text, "Paris is big. Rome too.");
        assert_eq!(
            ann,
            [Annotation::FileCitation {
                file_id: "file-a".into(),
                filename: "a.txt".into(),
                index: 12
            }]
        );
    }
}
