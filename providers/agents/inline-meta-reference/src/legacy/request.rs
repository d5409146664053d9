//! A turn as a Responses request: the agent's model, instructions and sampling, its tools
//! (client tools as functions, `builtin::rag` as `file_search`, `builtin::websearch` as
//! `web_search`), shields as guardrails, and the turn's messages as input items.

use lls_api_agents::{
    AgentConfig, AgentToolGroup, CreateResponseRequest, CreateTurnRequest, SamplingStrategy,
    ToolConfig, TurnMessage,
};
use lls_api_common::{Error, Result};
use serde_json::{Map, Value, json};

/// What a turn (or its resumption) sends to the engine besides the agent's config.
pub(crate) struct TurnInput {
    pub input: Vec<Value>,
    pub previous_response_id: Option<String>,
    pub toolgroups: Vec<AgentToolGroup>,
    pub tool_config: Option<ToolConfig>,
}

/// The Responses request for one engine run of a turn (always stored: the session continues
/// from it).
pub(crate) fn response_request(
    agent: &AgentConfig,
    turn: TurnInput,
) -> Result<CreateResponseRequest> {
    let mut tools = Vec::new();
    for tool in agent.client_tools.iter().flatten() {
        tools.push(json!({
            "type": "function",
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.input_schema.clone().unwrap_or_else(empty_object_schema),
        }));
    }
    for group in agent.toolgroups.iter().flatten().chain(&turn.toolgroups) {
        if let Some(tool) = group_tool(group)? {
            tools.push(tool);
        }
    }
    let mut request = json!({
        "model": agent.model,
        "input": turn.input,
        "store": true,
        "stream": true,
        "max_infer_iters": agent.max_infer_iters.unwrap_or(10),
        "include": ["file_search_call.results"],
    });
    let fields = request
        .as_object_mut()
        .ok_or_else(|| Error::internal("a request is an object"))?;
    if !agent.instructions.is_empty() {
        fields.insert("instructions".into(), agent.instructions.clone().into());
    }
    if let Some(previous) = turn.previous_response_id {
        fields.insert("previous_response_id".into(), previous.into());
    }
    sampling(agent, fields);
    let tool_config = turn.tool_config.as_ref().or(agent.tool_config.as_ref());
    if !tools.is_empty()
        && let Some(choice) = tool_config.and_then(|c| c.tool_choice.as_deref())
    {
        let choice = match choice {
            "auto" | "none" | "required" => Value::String(choice.into()),
            name => json!({"type": "function", "name": name}),
        };
        fields.insert("tool_choice".into(), choice);
    }
    if !tools.is_empty() {
        fields.insert("tools".into(), Value::Array(tools));
    }
    let shields: Vec<&String> = agent
        .input_shields
        .iter()
        .flatten()
        .chain(agent.output_shields.iter().flatten())
        .collect();
    if !shields.is_empty() {
        fields.insert("guardrails".into(), json!(shields));
    }
    if let Some(format) = text_format(agent.response_format.as_ref())? {
        fields.insert("text".into(), json!({"format": format}));
    }
    serde_json::from_value(request).map_err(|e| Error::invalid(format!("the agent's turn: {e}")))
}

fn empty_object_schema() -> Map<String, Value> {
    let mut schema = Map::new();
    schema.insert("type".into(), "object".into());
    schema.insert("properties".into(), Value::Object(Map::new()));
    schema
}

/// The Responses tool of an agent's tool group.
fn group_tool(group: &AgentToolGroup) -> Result<Option<Value>> {
    let name = group.name();
    let (group_id, _tool) = name.split_once('/').unwrap_or((name, ""));
    match group_id {
        "builtin::rag" => {
            let ids = group
                .args()
                .and_then(|a| a.get("vector_db_ids").or_else(|| a.get("vector_store_ids")))
                .cloned()
                .unwrap_or_else(|| json!([]));
            if ids.as_array().is_none_or(Vec::is_empty) {
                return Err(Error::invalid(format!(
                    "tool group '{name}' needs args.vector_db_ids: the vector stores to search"
                )));
            }
            Ok(Some(
                json!({"type": "file_search", "vector_store_ids": ids}),
            ))
        }
        "builtin::websearch" => Ok(Some(json!({"type": "web_search"}))),
        other => Err(Error::invalid(format!(
            "tool group '{other}' is not supported by agents; use builtin::rag, builtin::websearch or client_tools"
        ))),
    }
}

/// `sampling_params` as `temperature`, `top_p` and `max_output_tokens`.
fn sampling(agent: &AgentConfig, fields: &mut Map<String, Value>) {
    let Some(params) = &agent.sampling_params else {
        return;
    };
    if let SamplingStrategy::TopP { temperature, top_p } = &params.strategy {
        if let Some(t) = temperature {
            fields.insert("temperature".into(), json!(t));
        }
        if let Some(p) = top_p {
            fields.insert("top_p".into(), json!(p));
        }
    }
    if let Some(max) = params.max_tokens.filter(|m| *m > 0) {
        fields.insert("max_output_tokens".into(), json!(max));
    }
}

/// `response_format` as `text.format`.
fn text_format(format: Option<&Value>) -> Result<Option<Value>> {
    let Some(format) = format else {
        return Ok(None);
    };
    match format.get("type").and_then(Value::as_str) {
        Some("json_schema") => Ok(Some(json!({
            "type": "json_schema",
            "name": "response",
            "schema": format.get("json_schema").cloned().unwrap_or_else(|| json!({})),
        }))),
        other => Err(Error::invalid(format!(
            "response_format of type {other:?} is not supported; use json_schema"
        ))),
    }
}

/// The turn's messages (and documents) as input items.
pub(crate) fn turn_input(request: &CreateTurnRequest) -> Vec<Value> {
    let documents: Vec<String> = request
        .documents
        .iter()
        .flatten()
        .filter_map(|d| d.get("content"))
        .map(content_text)
        .collect();
    let mut input: Vec<Value> = request.messages.iter().map(message_item).collect();
    if !documents.is_empty()
        && let Some(last) = input.iter_mut().rev().find(|i| i["type"] == "message")
        && let Some(parts) = last["content"].as_array_mut()
    {
        parts.push(json!({"type": "input_text", "text": documents.join("\n")}));
    }
    input
}

fn message_item(message: &TurnMessage) -> Value {
    match message {
        TurnMessage::User { content, context } => {
            let mut parts = content_parts(content);
            if let Some(context) = context {
                parts.extend(content_parts(context));
            }
            json!({"type": "message", "role": "user", "content": parts})
        }
        TurnMessage::Tool { call_id, content } => function_output(call_id, content),
    }
}

/// A client tool's result as a `function_call_output` item.
pub(crate) fn function_output(call_id: &str, content: &Value) -> Value {
    json!({"type": "function_call_output", "call_id": call_id, "output": content_text(content)})
}

/// Interleaved content (a string, `{type: text|image}`, or a list) as input content parts.
fn content_parts(content: &Value) -> Vec<Value> {
    match content {
        Value::String(text) => vec![json!({"type": "input_text", "text": text})],
        Value::Array(items) => items.iter().flat_map(content_parts).collect(),
        Value::Object(item) => match item.get("type").and_then(Value::as_str) {
            Some("image") => image_url(item)
                .map(|url| json!({"type": "input_image", "detail": "auto", "image_url": url}))
                .into_iter()
                .collect(),
            _ => vec![json!({"type": "input_text", "text": content_text(content)})],
        },
        _ => Vec::new(),
    }
}

fn image_url(item: &Map<String, Value>) -> Option<String> {
    let image = item.get("image")?;
    if let Some(uri) = image.pointer("/url/uri").and_then(Value::as_str) {
        return Some(uri.to_owned());
    }
    image
        .get("data")
        .and_then(Value::as_str)
        .map(|data| format!("data:image/png;base64,{data}"))
}

/// The text of interleaved content; other JSON is written out.
pub(crate) fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(content_text).collect::<Vec<_>>().join(""),
        Value::Object(item) if item.get("type").and_then(Value::as_str) == Some("text") => item
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lls_api_agents::{InputTool, ResponseInput};

    use super::*;

    fn agent(extra: Value) -> AgentConfig {
        let mut v = json!({"model": "m", "instructions": "be brief"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let mut c: AgentConfig = serde_json::from_value(v).unwrap();
        c.normalize().unwrap();
        c
    }

    #[test]
    fn an_agent_becomes_a_responses_request() {
        let a = agent(json!({
            "client_tools": [{"name": "get_boiling_point", "description": "d", "input_schema": {"type": "object"}}],
            "toolgroups": [{"name": "builtin::rag/knowledge_search", "args": {"vector_db_ids": ["vs_1"]}}, "builtin::websearch"],
            "tool_config": {"tool_choice": "get_boiling_point"},
            "sampling_params": {"strategy": {"type": "top_p", "temperature": 0.5}, "max_tokens": 100},
            "input_shields": ["llama-guard"], "max_infer_iters": 3,
        }));
        let input = turn_input(
            &serde_json::from_value(json!({"messages": [{"role": "user", "content": "hi"}]}))
                .unwrap(),
        );
        let r = response_request(
            &a,
            TurnInput {
                input,
                previous_response_id: Some("resp_1".into()),
                toolgroups: vec![],
                tool_config: None,
            },
        )
        .unwrap();
        assert_eq!(r.instructions.as_deref(), Some("be brief"));
        assert_eq!(r.previous_response_id.as_deref(), Some("resp_1"));
        assert_eq!(r.max_infer_iters, Some(3));
        assert_eq!(r.temperature, Some(0.5));
        assert_eq!(r.max_output_tokens, Some(100));
        assert_eq!(
            r.tool_choice,
            Some(json!({"type": "function", "name": "get_boiling_point"}))
        );
        let tools = r.tools.unwrap();
        assert!(matches!(&tools[0], InputTool::Function(f) if f.name == "get_boiling_point"));
        assert!(matches!(&tools[1], InputTool::FileSearch(f) if f.vector_store_ids == ["vs_1"]));
        assert!(matches!(&tools[2], InputTool::WebSearch(_)));
        assert_eq!(r.guardrails.unwrap().len(), 1);
        assert!(matches!(r.input, ResponseInput::Items(ref items) if items.len() == 1));
    }

    #[test]
    fn tool_messages_and_unknown_groups() {
        let request: CreateTurnRequest = serde_json::from_value(json!({"messages": [
            {"role": "tool", "call_id": "c1", "content": [{"type": "text", "text": "-100"}]}
        ]}))
        .unwrap();
        assert_eq!(
            turn_input(&request),
            vec![json!({"type": "function_call_output", "call_id": "c1", "output": "-100"})]
        );
        let a = agent(json!({"toolgroups": ["mcp::github"]}));
        let e = response_request(
            &a,
            TurnInput {
                input: vec![],
                previous_response_id: None,
                toolgroups: vec![],
                tool_config: None,
            },
        )
        .unwrap_err();
        assert!(e.message().contains("mcp::github"), "{e}");
    }
}
