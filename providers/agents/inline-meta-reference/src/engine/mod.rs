//! The Responses engine: one loop for streaming and non-streaming responses. A checked request
//! ([`prepare`]) runs as a supervised task that sends numbered events ([`sink`]); the loop calls
//! the model (always streaming, [`step`]), runs the server-side tools it asked for
//! ([`tools`]), feeds their results back, and stops at a final answer, a client-side function
//! call, an approval request, or a limit. The response is stored before its terminal event.
//! A request's stored `prompt` is rendered by [`prompt`].

mod prepare;
mod prompt;
mod sink;
mod step;
mod tools;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use lls_api_agents::{
    ContentPart, Emitted, FunctionCall, IncompleteDetails, InputTool, Item, McpApprovalRequest,
    McpToolConfig, MessageContent, ResponseError, ResponseEvent, ResponseObject, ResponseTool,
    ResponseUsage, Role,
};
use lls_api_common::{Error, ErrorKind, RequestContext, Result, Tasks};
use lls_api_conversations::Conversations;
use lls_api_inference::{
    ChatMessage, FunctionDefinition, Inference, Role as ChatRole, Tool, ToolCall, ToolChoice,
};
use lls_api_prompts::Prompts;
use lls_api_safety::Safety;
use lls_api_tool_runtime::ToolRuntime;
use lls_api_vector_io::VectorStores;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tracing::Instrument;

pub(crate) use prepare::Turn;
use prepare::{KNOWLEDGE_SEARCH, WEB_SEARCH};
use sink::Sink;

use crate::input::assistant_calls;
use crate::store::{ResponsesStore, StoredResponse};

/// The APIs the engine calls; all but inference are optional in run.yaml.
#[derive(Clone)]
pub struct Deps {
    pub inference: Arc<dyn Inference>,
    pub tools: Option<Arc<dyn ToolRuntime>>,
    pub vector_stores: Option<Arc<dyn VectorStores>>,
    pub safety: Option<Arc<dyn Safety>>,
    pub conversations: Option<Arc<dyn Conversations>>,
    /// Renders a request's `prompt`.
    pub prompts: Option<Arc<dyn Prompts>>,
}

pub struct Engine {
    pub(crate) deps: Deps,
    pub(crate) store: Arc<ResponsesStore>,
    pub(crate) tasks: Tasks,
}

/// How many events may wait for a slow client before the loop waits too.
const EVENT_BUFFER: usize = 64;

impl Engine {
    pub fn new(deps: Deps, store: Arc<ResponsesStore>, tasks: Tasks) -> Self {
        Engine { deps, store, tasks }
    }

    /// Checks the request, then runs it in the background; the events arrive on the stream.
    pub(crate) async fn start(
        self: &Arc<Self>,
        ctx: &RequestContext,
        request: lls_api_agents::CreateResponseRequest,
    ) -> Result<mpsc::Receiver<Emitted>> {
        let turn = self.prepare(ctx, request).await?;
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let engine = self.clone();
        // The run continues the request's trace: a GenAI invoke_agent span, parent of its steps.
        let span = lls_trace_context::span_if_traced(|| {
            tracing::info_span!(
                "response",
                otel.name = "invoke_agent",
                gen_ai.operation.name = "invoke_agent",
                gen_ai.request.model = %turn.model,
                gen_ai.response.id = %turn.id,
            )
        });
        self.tasks.spawn(
            "run a response",
            async move { Run::new(engine, turn).go(Sink::new(tx)).await }.instrument(span),
        );
        Ok(rx)
    }
}

/// Where a response is: the output so far and what the loop keeps between model calls.
struct Run {
    engine: Arc<Engine>,
    turn: Turn,
    output: Vec<Item>,
    usage: Option<ResponseUsage>,
    /// file id → filename, for citations in the final text.
    citation_files: HashMap<String, String>,
    /// The tools the model is offered.
    chat_tools: Vec<Tool>,
    /// MCP tool name → its server.
    mcp_tools: HashMap<String, McpToolConfig>,
    /// Server-side tool calls made so far (for `max_tool_calls`).
    builtin_calls: i64,
    /// Output tokens so far (for `max_output_tokens`).
    output_tokens: i64,
    /// Server-side calls made so far, by tool name and arguments (as canonical JSON).
    calls_made: HashSet<(String, String)>,
    /// The model repeated a server-side call it had already made: rather than running it again
    /// (same answer, and small models do this until `max_infer_iters`), the next model call
    /// gets `tool_choice: none`, so it answers from what it has.
    answer_now: bool,
}

/// How the loop ended.
enum End {
    Completed,
    Incomplete(&'static str),
    /// A guardrail refused: the response is this refusal alone.
    Refused(String),
}

impl Run {
    fn new(engine: Arc<Engine>, turn: Turn) -> Self {
        Run {
            engine,
            turn,
            output: Vec::new(),
            usage: None,
            citation_files: HashMap::new(),
            chat_tools: Vec::new(),
            mcp_tools: HashMap::new(),
            builtin_calls: 0,
            output_tokens: 0,
            calls_made: HashSet::new(),
            answer_now: false,
        }
    }

    fn snapshot(&self, status: &str, error: Option<ResponseError>) -> ResponseObject {
        let t = &self.turn;
        ResponseObject {
            created_at: t.created_at,
            error,
            id: t.id.clone(),
            model: t.model.clone(),
            object: "response".into(),
            output: self.output.clone(),
            parallel_tool_calls: t.parallel_tool_calls.unwrap_or(true),
            previous_response_id: t.previous_response_id.clone(),
            status: status.into(),
            temperature: t.temperature,
            text: t.text.clone(),
            top_p: t.top_p,
            tools: (!t.tools.is_empty()).then(|| t.tools.iter().map(ResponseTool::from).collect()),
            truncation: t.truncation.clone(),
            usage: self.usage.clone(),
            instructions: t.instructions.clone(),
            prompt: t.prompt.clone(),
            metadata: Some(t.metadata.clone()),
            tool_choice: t.tool_choice_raw.clone(),
            max_output_tokens: t.max_output_tokens,
            max_tool_calls: t.max_tool_calls,
            incomplete_details: None,
        }
    }

    async fn go(mut self, mut sink: Sink) {
        let created = self.snapshot("in_progress", None);
        sink.emit(ResponseEvent::Created {
            response: Box::new(created.clone()),
            sequence_number: 0,
        })
        .await;
        sink.emit(ResponseEvent::InProgress {
            response: Box::new(created),
            sequence_number: 0,
        })
        .await;
        let mut messages = self.turn.messages.clone();
        let outcome = self.main_loop(&mut sink, &mut messages).await;
        let (final_response, cause) = match outcome {
            Ok(End::Completed) => (self.snapshot("completed", None), None),
            Ok(End::Incomplete(reason)) => {
                let mut r = self.snapshot("incomplete", None);
                r.incomplete_details = Some(IncompleteDetails {
                    reason: reason.into(),
                });
                (r, None)
            }
            Ok(End::Refused(message)) => {
                self.output = vec![Item::Message(lls_api_agents::MessageItem {
                    content: MessageContent::Parts(vec![ContentPart::Refusal { refusal: message }]),
                    role: Role::Assistant,
                    id: Some(format!("msg_{}", uuid::Uuid::new_v4())),
                    status: Some("completed".into()),
                })];
                (self.snapshot("completed", None), None)
            }
            Err(e) => {
                let error = ResponseError {
                    code: error_code(&e).into(),
                    message: e.message().to_owned(),
                };
                (self.snapshot("failed", Some(error)), Some(e))
            }
        };
        let cause = match self
            .persist(&final_response, &messages, cause.is_none())
            .await
        {
            Ok(()) => cause,
            Err(e) if cause.is_none() => {
                // Not stored means not completed: the client must not believe it can continue from it.
                tracing::warn!(response_id = %final_response.id, "could not store a response: {e}");
                let mut failed = final_response.clone();
                failed.status = "failed".into();
                failed.error = Some(ResponseError {
                    code: "server_error".into(),
                    message: format!("the response could not be stored: {}", e.message()),
                });
                sink.fail(
                    ResponseEvent::Failed {
                        response: Box::new(failed),
                        sequence_number: 0,
                    },
                    e,
                )
                .await;
                return;
            }
            Err(e) => {
                tracing::warn!(response_id = %final_response.id, "could not store a failed response: {e}");
                cause
            }
        };
        let response = Box::new(final_response);
        match (response.status.as_str(), cause) {
            (_, Some(cause)) => {
                sink.fail(
                    ResponseEvent::Failed {
                        response,
                        sequence_number: 0,
                    },
                    cause,
                )
                .await
            }
            ("incomplete", None) => {
                sink.emit(ResponseEvent::Incomplete {
                    response,
                    sequence_number: 0,
                })
                .await
            }
            _ => {
                sink.emit(ResponseEvent::Completed {
                    response,
                    sequence_number: 0,
                })
                .await
            }
        }
    }

    /// Stores the response (when `store`) and, after a success, appends the turn to its
    /// conversation; both before the terminal event is sent.
    async fn persist(
        &self,
        response: &ResponseObject,
        messages: &[ChatMessage],
        succeeded: bool,
    ) -> Result<()> {
        let t = &self.turn;
        let kept: Vec<ChatMessage> = messages
            .iter()
            .filter(|m| m.role != ChatRole::System)
            .cloned()
            .collect();
        if t.store {
            let stored = StoredResponse {
                response: response.clone(),
                input: t.all_input.clone(),
                messages: kept.clone(),
            };
            self.engine.store.put(&t.ctx, &stored).await?;
        }
        if succeeded
            && let (Some(conversation), Some(conversations)) =
                (&t.conversation, &self.engine.deps.conversations)
        {
            let mut items = t.new_input.clone();
            items.extend(response.output.iter().cloned());
            conversations.add_items(&t.ctx, conversation, items).await?;
            self.engine
                .store
                .put_conversation_messages(&t.ctx, conversation, &kept)
                .await?;
        }
        Ok(())
    }

    async fn main_loop(&mut self, sink: &mut Sink, messages: &mut Vec<ChatMessage>) -> Result<End> {
        if !self.turn.guardrails.is_empty() {
            let text = crate::input::messages_text(messages);
            if let Some(violation) = self.guardrail_violation(&text).await? {
                return Ok(End::Refused(violation));
            }
        }
        self.set_up_tools(sink).await?;
        let mut iterations = 0;
        loop {
            if sink.gone() && !self.turn.store {
                // Nobody reads the events and nothing is kept: stop spending the model's time.
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "the client closed the stream",
                ));
            }
            let first = iterations == 0;
            // One span per step while traces are exported: the model call and the tools it asked for.
            let span = lls_trace_context::span_if_traced(|| {
                tracing::info_span!("responses_step", otel.name = %format!("responses step {iterations}"), step = iterations)
            });
            let step = self.step(sink, messages, first).instrument(span.clone()).await?;
            if let Some(violation) = step.violation {
                return Ok(End::Refused(violation));
            }
            let finish_reason = step.finish_reason.clone();
            let executed = self.after_step(sink, messages, step).instrument(span).await?;
            match executed {
                Executed::Nothing | Executed::ClientCalls => {
                    if finish_reason.as_deref() == Some("length") {
                        return Ok(End::Incomplete("max_output_tokens"));
                    }
                    return Ok(End::Completed);
                }
                Executed::ServerCalls => {}
            }
            iterations += 1;
            if iterations >= self.turn.max_infer_iters {
                return Ok(End::Incomplete("max_infer_iters"));
            }
            if let Some(max) = self.turn.max_output_tokens
                && self.output_tokens >= max
            {
                return Ok(End::Incomplete("max_output_tokens"));
            }
        }
    }

    /// The tools offered to the model: function tools as given, the search tools as their groups
    /// define them, and each MCP server's tools (listed now, or reused from the previous response).
    async fn set_up_tools(&mut self, sink: &mut Sink) -> Result<()> {
        for (listing, config) in self.turn.previous_listings.clone() {
            let mut reused = listing.clone();
            reused.id = format!("mcp_list_{}", uuid::Uuid::new_v4());
            for t in &listing.tools {
                self.chat_tools.push(chat_tool(
                    &t.name,
                    t.description.clone(),
                    Some(Value::Object(t.input_schema.clone())),
                ));
                self.mcp_tools.insert(t.name.clone(), config.clone());
            }
            self.add_listing(sink, reused).await;
        }
        for tool in self.turn.tools_to_process.clone() {
            match &tool {
                InputTool::Function(f) => self.chat_tools.push(Tool {
                    kind: "function".into(),
                    function: FunctionDefinition {
                        name: f.name.clone(),
                        description: f.description.clone(),
                        parameters: f.parameters.clone().map(Value::Object),
                        strict: f.strict,
                    },
                    extra: Map::new(),
                }),
                InputTool::WebSearch(_) => self.push_builtin(WEB_SEARCH),
                InputTool::FileSearch(_) => self.push_builtin(KNOWLEDGE_SEARCH),
                InputTool::Mcp(config) => self.list_mcp(sink, config).await?,
            }
        }
        Ok(())
    }

    fn push_builtin(&mut self, name: &'static str) {
        if self.chat_tools.iter().any(|t| t.function.name == name) {
            return;
        }
        if let Some(def) = self.turn.builtin_defs.get(name) {
            self.chat_tools.push(chat_tool(
                name,
                def.description.clone(),
                def.input_schema.clone().map(Value::Object),
            ));
        }
    }

    /// Whether the model may be offered server-side tools (`max_tool_calls` not reached).
    fn builtin_budget_left(&self) -> bool {
        self.turn
            .max_tool_calls
            .is_none_or(|max| self.builtin_calls < max)
    }

    /// The tools for this model call: every tool, or only function tools once
    /// `max_tool_calls` server-side calls were made.
    fn tools_for_call(&self) -> Vec<Tool> {
        if self.builtin_budget_left() {
            return self.chat_tools.clone();
        }
        let functions: Vec<&str> = self
            .turn
            .tools
            .iter()
            .filter_map(|t| match t {
                InputTool::Function(f) => Some(f.name.as_str()),
                _ => None,
            })
            .collect();
        self.chat_tools
            .iter()
            .filter(|t| functions.contains(&t.function.name.as_str()))
            .cloned()
            .collect()
    }

    fn is_function(&self, name: &str) -> bool {
        self.turn
            .tools
            .iter()
            .any(|t| matches!(t, InputTool::Function(f) if f.name == name))
    }

    /// A guardrail's refusal text for `text`, if a shield flags it.
    async fn guardrail_violation(&self, text: &str) -> Result<Option<String>> {
        if text.is_empty() {
            return Ok(None);
        }
        let Some(safety) = &self.engine.deps.safety else {
            return Ok(None);
        };
        let inputs = [text.to_owned()];
        let verdicts = futures::future::try_join_all(
            self.turn
                .guardrails
                .iter()
                .map(|id| safety.moderate_with(&self.turn.ctx, id, &inputs)),
        )
        .await?;
        for verdict in verdicts {
            for result in verdict.results {
                if !result.flagged {
                    continue;
                }
                let mut message = result
                    .user_message
                    .clone()
                    .unwrap_or_else(|| "Content blocked by safety guardrails".into());
                let flagged: Vec<&str> = result
                    .categories
                    .iter()
                    .flatten()
                    .filter(|(_, on)| **on)
                    .map(|(c, _)| c.as_str())
                    .collect();
                if !flagged.is_empty() {
                    message.push_str(&format!(" (flagged for: {})", flagged.join(", ")));
                }
                if let Some(Value::Array(types)) = result.metadata.get("violation_type") {
                    let types: Vec<String> = types
                        .iter()
                        .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_owned))
                        .collect();
                    if !types.is_empty() {
                        message.push_str(&format!(" (violation type: {})", types.join(", ")));
                    }
                }
                return Ok(Some(message));
            }
        }
        Ok(None)
    }

    /// What to do with the model's answer: its message, approvals, tool calls.
    async fn after_step(
        &mut self,
        sink: &mut Sink,
        messages: &mut Vec<ChatMessage>,
        step: step::StepOutcome,
    ) -> Result<Executed> {
        let mut calls = step.tool_calls;
        if self.turn.parallel_tool_calls == Some(false) && calls.len() > 1 {
            calls.truncate(1);
        }
        if let Some(message) = step.message {
            self.output.push(message);
        }
        if calls.is_empty() {
            messages.push(assistant_calls(Some(step.content), Vec::new()));
            return Ok(Executed::Nothing);
        }
        let (function_calls, others): (Vec<ToolCall>, Vec<ToolCall>) = calls
            .into_iter()
            .partition(|c| self.is_function(&c.function.name));
        // Client-side calls first: their items were announced right after the message.
        for call in &function_calls {
            let item = Item::FunctionCall(FunctionCall {
                call_id: call.id.clone(),
                name: call.function.name.clone(),
                arguments: call.function.arguments.clone(),
                id: Some(
                    step.item_ids
                        .get(&call.id)
                        .cloned()
                        .unwrap_or_else(|| format!("fc_{}", uuid::Uuid::new_v4())),
                ),
                status: Some("completed".into()),
            });
            self.output.push(item.clone());
            let output_index = self.output.len() - 1;
            sink.emit(ResponseEvent::OutputItemDone {
                response_id: self.turn.id.clone(),
                item,
                output_index,
                sequence_number: 0,
            })
            .await;
        }
        let mut server_calls = Vec::new();
        for call in others {
            if let Some(server) = self.mcp_tools.get(&call.function.name).cloned()
                && server.require_approval.required_for(&call.function.name)
            {
                match self.approval_for(&call) {
                    Some(true) => {}
                    Some(false) => continue,
                    None => {
                        self.request_approval(sink, &call, &server).await;
                        continue;
                    }
                }
            }
            if !self.builtin_budget_left() {
                tracing::debug!(tool = %call.function.name, "max_tool_calls reached: the call is ignored");
                continue;
            }
            if !self.calls_made.insert(call_key(&call)) {
                tracing::debug!(tool = %call.function.name, "a repeated call: the model is asked to answer");
                self.answer_now = true;
                continue;
            }
            self.builtin_calls += 1;
            server_calls.push(call);
        }
        let kept: Vec<ToolCall> = server_calls
            .iter()
            .chain(&function_calls)
            .cloned()
            .collect();
        if !kept.is_empty() {
            // As 0.3.5 sends it: text that came with tool calls is not repeated to the model.
            messages.push(assistant_calls(Some(String::new()), kept));
        }
        let ran_server_calls = !server_calls.is_empty();
        if ran_server_calls {
            let results = self.run_tools(sink, &server_calls, &step.item_ids).await;
            messages.extend(results);
        }
        Ok(match (function_calls.is_empty(), ran_server_calls) {
            (false, _) => Executed::ClientCalls,
            (true, true) => Executed::ServerCalls,
            // Every call waited for approval or was dropped: the model is asked again only if it
            // still has something to work with; an approval request ends the response.
            (true, false)
                if self
                    .output
                    .iter()
                    .any(|i| matches!(i, Item::McpApprovalRequest(_))) =>
            {
                Executed::Nothing
            }
            (true, false) => Executed::ServerCalls,
        })
    }

    /// The client's answer to an approval request for this call, if it sent one.
    fn approval_for(&self, call: &ToolCall) -> Option<bool> {
        let request = self
            .turn
            .approval_requests
            .iter()
            .find(|r| r.name == call.function.name && r.arguments == call.function.arguments)?;
        self.turn
            .approval_responses
            .get(&request.id)
            .map(|r| r.approve)
    }

    async fn request_approval(&mut self, sink: &mut Sink, call: &ToolCall, server: &McpToolConfig) {
        let item = Item::McpApprovalRequest(McpApprovalRequest {
            arguments: call.function.arguments.clone(),
            id: format!("approval_{}", uuid::Uuid::new_v4()),
            name: call.function.name.clone(),
            server_label: server.server_label.clone(),
        });
        self.output.push(item.clone());
        let output_index = self.output.len() - 1;
        let response_id = self.turn.id.clone();
        sink.emit(ResponseEvent::OutputItemAdded {
            response_id: response_id.clone(),
            item: item.clone(),
            output_index,
            sequence_number: 0,
        })
        .await;
        sink.emit(ResponseEvent::OutputItemDone {
            response_id,
            item,
            output_index,
            sequence_number: 0,
        })
        .await;
    }

    fn add_usage(&mut self, usage: &lls_api_inference::Usage) {
        let cached = usage
            .extra
            .get("prompt_tokens_details")
            .and_then(|d| d.get("cached_tokens"))
            .and_then(Value::as_i64);
        let reasoning = usage
            .extra
            .get("completion_tokens_details")
            .and_then(|d| d.get("reasoning_tokens"))
            .and_then(Value::as_i64);
        let total = self.usage.get_or_insert_with(ResponseUsage::default);
        total.input_tokens += usage.prompt_tokens;
        total.output_tokens += usage.completion_tokens;
        total.total_tokens += usage.total_tokens;
        if cached.is_some() {
            total.input_tokens_details = Some(lls_api_agents::InputTokensDetails {
                cached_tokens: cached,
            });
        }
        if reasoning.is_some() {
            total.output_tokens_details = Some(lls_api_agents::OutputTokensDetails {
                reasoning_tokens: reasoning,
            });
        }
        self.output_tokens += usage.completion_tokens;
    }
}

/// What a step's tool calls led to.
enum Executed {
    /// No tool calls (or only ones waiting for approval): the answer is final.
    Nothing,
    /// Server-side tools ran: the model gets their results.
    ServerCalls,
    /// The model called a client-side function: the client must run it.
    ClientCalls,
}

fn chat_tool(name: &str, description: Option<String>, parameters: Option<Value>) -> Tool {
    Tool {
        kind: "function".into(),
        function: FunctionDefinition {
            name: name.to_owned(),
            description,
            parameters,
            strict: None,
        },
        extra: Map::new(),
    }
}

/// OpenAI's error code for a failed response.
fn error_code(e: &Error) -> &'static str {
    match e.kind() {
        ErrorKind::RateLimited => "rate_limit_exceeded",
        ErrorKind::InvalidRequest | ErrorKind::ContextLength | ErrorKind::NotFound => {
            "invalid_prompt"
        }
        _ => "server_error",
    }
}

/// A server-side call's identity: its tool and its arguments, whatever their spacing or key order.
fn call_key(call: &ToolCall) -> (String, String) {
    let arguments = match serde_json::from_str::<Value>(&call.function.arguments) {
        Ok(mut v) => {
            v.sort_all_objects();
            v.to_string()
        }
        Err(_) => call.function.arguments.trim().to_owned(),
    };
    (call.function.name.clone(), arguments)
}

/// The tool choice for a model call: the client's on the first call, `auto` after (a forced
/// choice on every call would loop until `max_infer_iters`); `none` once the model repeated a
/// call ([`Run::answer_now`]).
fn choice_for_call(turn: &Turn, first: bool, answer_now: bool, tools: &[Tool]) -> Option<ToolChoice> {
    if tools.is_empty() {
        return None;
    }
    if answer_now {
        return Some(ToolChoice::Mode("none".into()));
    }
    match &turn.tool_choice {
        Some(ToolChoice::Mode(m)) if m == "none" => Some(ToolChoice::Mode("none".into())),
        Some(choice) if first => Some(choice.clone()),
        Some(_) => Some(ToolChoice::Mode("auto".into())),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use lls_api_inference::FunctionCall;

    use super::*;

    fn call(name: &str, arguments: &str) -> ToolCall {
        ToolCall {
            id: "c".into(),
            kind: "function".into(),
            function: FunctionCall {
                name: name.into(),
                arguments: arguments.into(),
            },
        }
    }

    #[test]
    fn a_call_is_the_same_whatever_its_spacing_or_key_order() {
        let a = call("knowledge_search", r#"{"query": "zebra", "opts": {"k": 1, "a": [1, 2]}}"#);
        let b = call("knowledge_search", r#"{"opts":{"a":[1,2],"k":1},"query":"zebra"}"#);
        assert_eq!(call_key(&a), call_key(&b));
        assert_ne!(call_key(&a), call_key(&call("web_search", r#"{"query": "zebra"}"#)));
        assert_ne!(call_key(&a), call_key(&call("knowledge_search", r#"{"query": "zebras"}"#)));
        // Arguments that are not JSON compare as text.
        assert_eq!(call_key(&call("t", " {oops ")), call_key(&call("t", "{oops")));
    }
}
