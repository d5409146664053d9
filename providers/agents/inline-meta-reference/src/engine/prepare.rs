//! Checking a `POST /v1/responses` and assembling what the loop needs: the chat messages (from
//! the input, a previous response or a conversation), the tools, and the options. Everything
//! wrong with a request is found here, so it is a 4xx before any event is sent.

use std::collections::HashMap;

use lls_api_agents::{
    ContentPart, CreateResponseRequest, InputTool, Item, McpApprovalRequest, McpApprovalResponse,
    McpListTools, McpToolConfig, MessageContent, ResponseInput, ResponsePrompt, Role, TextConfig,
};
use lls_api_common::{Error, RequestContext, Result};
use lls_api_inference::{
    ChatMessage, JsonSchemaFormat, ResponseFormat, Role as ChatRole, ToolChoice,
};
use lls_api_tool_runtime::ToolDef;
use serde_json::{Map, Value, json};

use super::Engine;
use crate::input::{chat, to_chat_messages};

/// The default and the most model round trips of one response.
const DEFAULT_MAX_INFER_ITERS: i64 = 10;
const MAX_METADATA_PAIRS: usize = 16;
const MAX_GUARDRAILS: usize = 16;
/// The `include` values OpenAI defines.
const INCLUDABLE: [&str; 8] = [
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
];

/// The names the model sees for the server-side search tools.
pub const WEB_SEARCH: &str = "web_search";
pub const KNOWLEDGE_SEARCH: &str = "knowledge_search";

/// A checked request, ready to run.
pub struct Turn {
    pub ctx: RequestContext,
    pub id: String,
    pub created_at: i64,
    pub model: String,
    pub instructions: Option<String>,
    /// The stored prompt the request named (echoed on the response).
    pub prompt: Option<ResponsePrompt>,
    /// The request's own input (appended to a conversation after the response).
    pub new_input: Vec<Item>,
    /// What the stored response records as its input.
    pub all_input: Vec<Item>,
    pub messages: Vec<ChatMessage>,
    pub tools: Vec<InputTool>,
    /// Tools still to set up: MCP servers are listed at the start of the response.
    pub tools_to_process: Vec<InputTool>,
    /// MCP listings of the previous response that still apply (same server and filter).
    pub previous_listings: Vec<(McpListTools, McpToolConfig)>,
    /// `web_search` and `knowledge_search` as their tool groups define them.
    pub builtin_defs: HashMap<&'static str, ToolDef>,
    pub approval_requests: Vec<McpApprovalRequest>,
    pub approval_responses: HashMap<String, McpApprovalResponse>,
    pub text: TextConfig,
    pub response_format: Option<ResponseFormat>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// The client's `tool_choice`, as sent (echoed), and as the first model call gets it.
    pub tool_choice_raw: Option<Value>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub max_output_tokens: Option<i64>,
    pub max_tool_calls: Option<i64>,
    pub metadata: Map<String, Value>,
    pub include_search_results: bool,
    pub max_infer_iters: usize,
    /// Shield ids checked on input and output.
    pub guardrails: Vec<String>,
    pub store: bool,
    pub conversation: Option<String>,
    pub previous_response_id: Option<String>,
    /// `reasoning.summary` was asked for: reasoning is also streamed as a summary.
    pub reasoning_summary: bool,
    pub truncation: Option<String>,
}

fn invalid(message: impl Into<String>, param: &str) -> Error {
    Error::invalid(message).with_param(param)
}

fn check_range(value: Option<f64>, lo: f64, hi: f64, param: &str) -> Result<()> {
    match value {
        Some(v) if !(lo..=hi).contains(&v) => Err(invalid(
            format!("'{param}' must be between {lo} and {hi}, got {v}"),
            param,
        )),
        _ => Ok(()),
    }
}

fn check_metadata(metadata: &Map<String, Value>) -> Result<()> {
    if metadata.len() > MAX_METADATA_PAIRS {
        return Err(invalid(
            format!("'metadata' may hold at most {MAX_METADATA_PAIRS} pairs"),
            "metadata",
        ));
    }
    for (k, v) in metadata {
        if k.chars().count() > 64 {
            return Err(invalid(
                format!("metadata key '{k}' is longer than 64 characters"),
                "metadata",
            ));
        }
        match v {
            Value::String(s) if s.chars().count() <= 512 => {}
            Value::String(_) => {
                return Err(invalid(
                    format!("metadata value of '{k}' is longer than 512 characters"),
                    "metadata",
                ));
            }
            _ => {
                return Err(invalid(
                    format!("metadata value of '{k}' must be a string"),
                    "metadata",
                ));
            }
        }
    }
    Ok(())
}

fn check_tools(tools: &[InputTool]) -> Result<()> {
    let mut names = std::collections::HashSet::new();
    for (i, tool) in tools.iter().enumerate() {
        match tool {
            InputTool::Function(f) => {
                if f.name.trim().is_empty() {
                    return Err(invalid(
                        format!("tools[{i}].name must not be empty"),
                        "tools",
                    ));
                }
                if !names.insert(f.name.clone()) {
                    return Err(invalid(
                        format!("tools[{i}]: two function tools are named '{}'", f.name),
                        "tools",
                    ));
                }
            }
            InputTool::FileSearch(f) => {
                if f.vector_store_ids.is_empty() {
                    return Err(invalid(
                        format!("tools[{i}].vector_store_ids must name at least one vector store"),
                        "tools",
                    ));
                }
                if let Some(n) = f.max_num_results
                    && !(1..=50).contains(&n)
                {
                    return Err(invalid(
                        format!("tools[{i}].max_num_results must be between 1 and 50, got {n}"),
                        "tools",
                    ));
                }
            }
            InputTool::Mcp(m) => {
                if m.server_label.trim().is_empty() {
                    return Err(invalid(
                        format!("tools[{i}].server_label must not be empty"),
                        "tools",
                    ));
                }
                if !(m.server_url.starts_with("http://") || m.server_url.starts_with("https://")) {
                    return Err(invalid(
                        format!(
                            "tools[{i}].server_url must be an http(s) URL, got '{}'",
                            m.server_url
                        ),
                        "tools",
                    ));
                }
                if let lls_api_agents::RequireApproval::Mode(mode) = &m.require_approval
                    && mode != "always"
                    && mode != "never"
                {
                    return Err(invalid(
                        format!(
                            "tools[{i}].require_approval must be 'always', 'never' or a filter, got '{mode}'"
                        ),
                        "tools",
                    ));
                }
            }
            InputTool::WebSearch(w) => {
                if let Some(size) = &w.search_context_size
                    && !["low", "medium", "high"].contains(&size.as_str())
                {
                    return Err(invalid(
                        format!("tools[{i}].search_context_size must be 'low', 'medium' or 'high'"),
                        "tools",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn response_format(text: &TextConfig) -> Result<Option<ResponseFormat>> {
    let Some(format) = &text.format else {
        return Ok(None);
    };
    match format.kind.as_str() {
        "text" => Ok(None),
        "json_object" => Ok(Some(ResponseFormat::JsonObject)),
        "json_schema" => {
            let name = format.name.clone().ok_or_else(|| {
                invalid(
                    "text.format.name is required for json_schema",
                    "text.format.name",
                )
            })?;
            let schema = format.schema.clone().ok_or_else(|| {
                invalid(
                    "text.format.schema is required for json_schema",
                    "text.format.schema",
                )
            })?;
            Ok(Some(ResponseFormat::JsonSchema {
                json_schema: JsonSchemaFormat {
                    name,
                    description: None,
                    schema: Some(Value::Object(schema)),
                    strict: None,
                },
            }))
        }
        other => Err(invalid(
            format!(
                "text.format.type must be 'text', 'json_object' or 'json_schema', got '{other}'"
            ),
            "text.format.type",
        )),
    }
}

/// The chat `tool_choice` for the client's: modes pass through; a named function, `file_search`,
/// `web_search` or an MCP tool becomes the named chat tool.
fn tool_choice(raw: &Value, tools: &[InputTool]) -> Result<ToolChoice> {
    let named = |name: &str| {
        ToolChoice::Named(
            json!({"type": "function", "function": {"name": name}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
    };
    match raw {
        Value::String(mode) if ["auto", "none", "required"].contains(&mode.as_str()) => {
            Ok(ToolChoice::Mode(mode.clone()))
        }
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("function") => {
                let name = o
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("tool_choice.name is required", "tool_choice"))?;
                if !tools
                    .iter()
                    .any(|t| matches!(t, InputTool::Function(f) if f.name == name))
                {
                    return Err(invalid(
                        format!(
                            "tool_choice names the function '{name}', which is not among the tools"
                        ),
                        "tool_choice",
                    ));
                }
                Ok(named(name))
            }
            Some("file_search") if tools.iter().any(|t| matches!(t, InputTool::FileSearch(_))) => {
                Ok(named(KNOWLEDGE_SEARCH))
            }
            Some("web_search" | "web_search_preview" | "web_search_preview_2025_03_11")
                if tools.iter().any(|t| matches!(t, InputTool::WebSearch(_))) =>
            {
                Ok(named(WEB_SEARCH))
            }
            Some("mcp") => {
                let label = o
                    .get("server_label")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !tools
                    .iter()
                    .any(|t| matches!(t, InputTool::Mcp(m) if m.server_label == label))
                {
                    return Err(invalid(
                        format!(
                            "tool_choice names the MCP server '{label}', which is not among the tools"
                        ),
                        "tool_choice",
                    ));
                }
                Ok(match o.get("name").and_then(Value::as_str) {
                    Some(name) => named(name),
                    None => ToolChoice::Mode("required".into()),
                })
            }
            Some(other) => Err(invalid(
                format!("tool_choice of type '{other}' does not match any of the tools"),
                "tool_choice",
            )),
            None => Err(invalid(
                "tool_choice must be 'auto', 'none', 'required' or an object with a 'type'",
                "tool_choice",
            )),
        },
        other => Err(invalid(
            format!("tool_choice must be 'auto', 'none', 'required' or an object, got {other}"),
            "tool_choice",
        )),
    }
}

/// Items as stored: a string input is one user message; messages get ids.
fn normalise(input: ResponseInput) -> Vec<Item> {
    let mut items = match input {
        ResponseInput::Text(text) => vec![Item::message(
            Role::User,
            MessageContent::Parts(vec![ContentPart::InputText { text }]),
        )],
        ResponseInput::Items(items) => items,
    };
    for item in &mut items {
        if let Item::Message(_) = item {
            item.set_id_if_missing(|| format!("msg_{}", uuid::Uuid::new_v4()));
        }
    }
    items
}

impl Engine {
    pub(crate) async fn prepare(
        &self,
        ctx: &RequestContext,
        request: CreateResponseRequest,
    ) -> Result<Turn> {
        let CreateResponseRequest {
            input,
            model,
            instructions,
            prompt,
            previous_response_id,
            conversation,
            store,
            stream: _,
            temperature,
            top_p,
            text,
            tools,
            tool_choice: tool_choice_raw,
            parallel_tool_calls,
            max_output_tokens,
            max_tool_calls,
            metadata,
            include,
            max_infer_iters,
            guardrails,
            extra,
        } = request;
        if model.trim().is_empty() {
            return Err(invalid("'model' must name a model", "model"));
        }
        if conversation.is_some() && previous_response_id.is_some() {
            return Err(Error::invalid(
                "Mutually exclusive parameters: 'previous_response_id' and 'conversation'. Ensure you are only providing one of these parameters.",
            ));
        }
        if let Some(c) = &conversation
            && !c.starts_with("conv_")
        {
            return Err(invalid(
                format!("Invalid conversation ID '{c}'. Expected an ID that begins with 'conv_'."),
                "conversation",
            ));
        }
        check_range(temperature, 0.0, 2.0, "temperature")?;
        check_range(top_p, 0.0, 1.0, "top_p")?;
        let max_infer_iters = max_infer_iters.unwrap_or(DEFAULT_MAX_INFER_ITERS);
        if max_infer_iters < 1 {
            return Err(invalid(
                format!("'max_infer_iters' must be at least 1, got {max_infer_iters}"),
                "max_infer_iters",
            ));
        }
        if let Some(n) = max_output_tokens
            && n < 1
        {
            return Err(invalid(
                format!("'max_output_tokens' must be at least 1, got {n}"),
                "max_output_tokens",
            ));
        }
        if let Some(n) = max_tool_calls
            && n < 0
        {
            return Err(invalid(
                format!("'max_tool_calls' must not be negative, got {n}"),
                "max_tool_calls",
            ));
        }
        let metadata = metadata.unwrap_or_default();
        check_metadata(&metadata)?;
        let include = include.unwrap_or_default();
        if let Some(bad) = include.iter().find(|i| !INCLUDABLE.contains(&i.as_str())) {
            return Err(invalid(
                format!("'include' value '{bad}' is not one of {INCLUDABLE:?}"),
                "include",
            ));
        }
        let tools = tools.unwrap_or_default();
        check_tools(&tools)?;
        let text = text.unwrap_or_default();
        let response_format = response_format(&text)?;
        let tool_choice = match &tool_choice_raw {
            None | Some(Value::Null) => None,
            Some(_) if tools.is_empty() => {
                return Err(invalid("'tool_choice' needs 'tools'", "tool_choice"));
            }
            Some(raw) => Some(tool_choice(raw, &tools)?),
        };
        let guardrails = self
            .check_guardrails(ctx, guardrails.unwrap_or_default())
            .await?;
        let builtin_defs = self.builtin_tools(ctx, &tools).await?;

        let new_input = normalise(input);
        let mut tools_to_process = tools.clone();
        let mut previous_listings = Vec::new();
        let (all_input, mut messages) = if let Some(previous_id) = &previous_response_id {
            let previous = self.store.get(ctx, previous_id).await?;
            let mut all_input = previous.input.clone();
            all_input.extend(previous.response.output.iter().cloned());
            all_input.extend(new_input.iter().cloned());
            let messages = if previous.messages.is_empty() {
                to_chat_messages(&all_input, None)?
            } else {
                let mut messages = previous.messages.clone();
                let more = to_chat_messages(&new_input, Some(&previous.messages))?;
                messages.extend(more);
                messages
            };
            // MCP servers listed by the previous response with the same filter are not listed again.
            let previous_mcp: HashMap<&str, &Option<lls_api_agents::AllowedTools>> = previous
                .response
                .tools
                .iter()
                .flatten()
                .filter_map(|t| match t {
                    lls_api_agents::ResponseTool::Mcp {
                        server_label,
                        allowed_tools,
                    } => Some((server_label.as_str(), allowed_tools)),
                    _ => None,
                })
                .collect();
            tools_to_process.clear();
            for tool in &tools {
                match tool {
                    InputTool::Mcp(m)
                        if previous_mcp
                            .get(m.server_label.as_str())
                            .is_some_and(|a| **a == m.allowed_tools) =>
                    {
                        for item in &previous.response.output {
                            if let Item::McpListTools(listing) = item
                                && listing.server_label == m.server_label
                            {
                                previous_listings.push((listing.clone(), m.clone()));
                            }
                        }
                    }
                    other => tools_to_process.push(other.clone()),
                }
            }
            (all_input, messages)
        } else if let Some(conversation_id) = &conversation {
            let conversations = self.deps.conversations.as_ref().ok_or_else(|| {
                invalid("'conversation' needs the conversations API: configure storage.stores.conversations in run.yaml", "conversation")
            })?;
            conversations.get(ctx, conversation_id).await?;
            let items = conversations.all_items(ctx, conversation_id).await?;
            let stored = self.store.conversation_messages(conversation_id).await?;
            if items.is_empty() {
                (new_input.clone(), to_chat_messages(&new_input, None)?)
            } else if let Some(stored) = stored {
                let mut messages = stored.clone();
                messages.extend(to_chat_messages(&new_input, Some(&stored))?);
                (new_input.clone(), messages)
            } else {
                let mut all = items;
                all.extend(new_input.iter().cloned());
                let messages = to_chat_messages(&all, None)?;
                (all, messages)
            }
        } else {
            (new_input.clone(), to_chat_messages(&new_input, None)?)
        };
        if let Some(instructions) = &instructions {
            messages.insert(
                0,
                chat(
                    ChatRole::System,
                    lls_api_inference::MessageContent::Text(instructions.clone()),
                ),
            );
        }
        // The prompt's text comes first, before the request's own instructions; its images
        // follow the input.
        if let Some(prompt) = &prompt {
            let rendered = self.render_prompt(ctx, prompt).await?;
            if let Some(text) = rendered.text {
                messages.insert(
                    0,
                    chat(ChatRole::System, lls_api_inference::MessageContent::Text(text)),
                );
            }
            if !rendered.images.is_empty() {
                messages.push(chat(
                    ChatRole::User,
                    lls_api_inference::MessageContent::Parts(rendered.images),
                ));
            }
        }
        if messages.is_empty() {
            return Err(invalid(
                "'input' holds nothing to send to the model",
                "input",
            ));
        }
        let approval_requests = all_input
            .iter()
            .filter_map(|i| match i {
                Item::McpApprovalRequest(r) => Some(r.clone()),
                _ => None,
            })
            .collect();
        let approval_responses = all_input
            .iter()
            .filter_map(|i| match i {
                Item::McpApprovalResponse(r) => Some((r.approval_request_id.clone(), r.clone())),
                _ => None,
            })
            .collect();
        let reasoning_summary = extra
            .get("reasoning")
            .and_then(|r| r.get("summary"))
            .is_some_and(|s| !s.is_null());
        let truncation = extra
            .get("truncation")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Turn {
            ctx: ctx.clone(),
            id: format!("resp_{}", uuid::Uuid::new_v4()),
            created_at: lls_api_common::unix_now(),
            model,
            instructions,
            prompt,
            new_input,
            all_input,
            messages,
            tools,
            tools_to_process,
            previous_listings,
            builtin_defs,
            approval_requests,
            approval_responses,
            text,
            response_format,
            temperature,
            top_p,
            tool_choice_raw,
            tool_choice,
            parallel_tool_calls,
            max_output_tokens,
            max_tool_calls,
            metadata,
            include_search_results: include.iter().any(|i| i == "file_search_call.results"),
            max_infer_iters: max_infer_iters as usize,
            guardrails,
            store: store.unwrap_or(true),
            conversation,
            previous_response_id,
            reasoning_summary,
            truncation,
        })
    }

    /// Each guardrail must be a shield the caller may read.
    async fn check_guardrails(
        &self,
        ctx: &RequestContext,
        guardrails: Vec<lls_api_agents::Guardrail>,
    ) -> Result<Vec<String>> {
        if guardrails.is_empty() {
            return Ok(Vec::new());
        }
        if guardrails.len() > MAX_GUARDRAILS {
            return Err(invalid(
                format!("at most {MAX_GUARDRAILS} guardrails may be given"),
                "guardrails",
            ));
        }
        let safety = self.deps.safety.as_ref().ok_or_else(|| {
            invalid(
                "'guardrails' need the safety API: add a safety provider and shields to run.yaml",
                "guardrails",
            )
        })?;
        let mut ids = Vec::new();
        for g in guardrails {
            let id = g.shield_id().to_owned();
            safety.get_shield(ctx, &id).await.map_err(|_| {
                invalid(
                    format!("No shield found with identifier '{id}'"),
                    "guardrails",
                )
            })?;
            ids.push(id);
        }
        Ok(ids)
    }

    /// The definitions of `web_search` and `knowledge_search`, when the tools ask for them.
    async fn builtin_tools(
        &self,
        ctx: &RequestContext,
        tools: &[InputTool],
    ) -> Result<HashMap<&'static str, ToolDef>> {
        let mut defs = HashMap::new();
        for tool in tools {
            let (name, group) = match tool {
                InputTool::WebSearch(_) => (WEB_SEARCH, "builtin::websearch"),
                InputTool::FileSearch(_) => {
                    if self.deps.vector_stores.is_none() {
                        return Err(invalid(
                            "file_search needs the vector_io API: add a vector_io provider to run.yaml",
                            "tools",
                        ));
                    }
                    (KNOWLEDGE_SEARCH, "builtin::rag")
                }
                _ => continue,
            };
            if defs.contains_key(name) {
                continue;
            }
            let runtime = self.deps.tools.as_ref().ok_or_else(|| {
                invalid(format!("the {name} tool needs the tool_runtime API and the {group} tool group in run.yaml"), "tools")
            })?;
            let def = runtime.get_tool(ctx, name).await.map_err(|e| match e.kind() {
                lls_api_common::ErrorKind::NotFound => {
                    invalid(format!("Tool {name} not found: register the {group} tool group to use this tool"), "tools")
                }
                _ => e,
            })?;
            defs.insert(name, def);
        }
        Ok(defs)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tool_choice_names_only_offered_tools() {
        let tools: Vec<InputTool> =
            serde_json::from_value(json!([{"type": "function", "name": "f", "parameters": null}]))
                .unwrap();
        assert!(
            matches!(tool_choice(&json!("required"), &tools).unwrap(), ToolChoice::Mode(m) if m == "required")
        );
        assert!(tool_choice(&json!({"type": "function", "name": "f"}), &tools).is_ok());
        assert!(tool_choice(&json!({"type": "function", "name": "g"}), &tools).is_err());
        assert!(tool_choice(&json!({"type": "file_search"}), &tools).is_err());
        assert!(tool_choice(&json!("sometimes"), &tools).is_err());
    }

    #[test]
    fn metadata_limits() {
        let ok: Map<String, Value> = (0..16).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(check_metadata(&ok).is_ok());
        let many: Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(check_metadata(&many).is_err());
        assert!(check_metadata(&json!({"k": 1}).as_object().cloned().unwrap()).is_err());
        assert!(
            check_metadata(&json!({"k": "x".repeat(513)}).as_object().cloned().unwrap()).is_err()
        );
    }
}
