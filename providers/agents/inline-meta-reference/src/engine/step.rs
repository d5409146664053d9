//! One model call of the loop, always streamed: its chunks become the output text, reasoning
//! and refusal events of one assistant message, and the tool calls the model made. With
//! guardrails, each chunk's events are held until the text so far passes the shields.

use std::collections::{BTreeMap, HashMap};

use futures::StreamExt;
use futures::stream::{self, BoxStream};
use lls_api_agents::{
    ContentPart, EventPart, FunctionCall, Item, MessageContent, MessageItem, ResponseEvent, Role,
    SummaryPart,
};
use lls_api_common::{Error, Result};
use lls_api_inference::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatMessage, Output, ToolCall,
};
use serde_json::{Value, json};

use super::sink::Sink;
use super::{Run, choice_for_call};
use crate::input::{extract_citations, tool_call};

/// What one model call produced.
pub(super) struct StepOutcome {
    /// The raw text (citation markers kept), as the model said it.
    pub content: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: Option<String>,
    /// Tool call id → the output item id its events used.
    pub item_ids: HashMap<String, String>,
    /// The assistant message item, when the model said something.
    pub message: Option<Item>,
    /// A guardrail's refusal, when one flagged the output.
    pub violation: Option<String>,
}

const TEXT_INDEX: usize = 0;
const REASONING_INDEX: usize = 1;
const REFUSAL_INDEX: usize = 2;

/// The three streams of one assistant message's content.
#[derive(Clone, Copy)]
enum Stream {
    Text,
    Reasoning,
    Refusal,
}

impl Stream {
    fn index(self) -> usize {
        match self {
            Stream::Text => TEXT_INDEX,
            Stream::Reasoning => REASONING_INDEX,
            Stream::Refusal => REFUSAL_INDEX,
        }
    }

    /// The content part holding `text`, as the `content_part.*` events carry it.
    fn part(self, text: String, annotations: Vec<lls_api_agents::Annotation>) -> EventPart {
        match self {
            Stream::Text => EventPart::OutputText {
                text,
                annotations,
                logprobs: None,
            },
            Stream::Reasoning => EventPart::ReasoningText { text },
            Stream::Refusal => EventPart::Refusal { refusal: text },
        }
    }
}

/// Where one step's message events point (its response, item and output index); builds them.
struct At {
    response_id: String,
    item_id: String,
    output_index: usize,
}

impl At {
    /// `output_item.added` for the (still empty) assistant message.
    fn message_added(&self) -> ResponseEvent {
        let item = Item::Message(MessageItem {
            content: MessageContent::Parts(Vec::new()),
            role: Role::Assistant,
            id: Some(self.item_id.clone()),
            status: Some("in_progress".into()),
        });
        ResponseEvent::OutputItemAdded {
            response_id: self.response_id.clone(),
            item,
            output_index: self.output_index,
            sequence_number: 0,
        }
    }

    fn part_added(&self, stream: Stream) -> ResponseEvent {
        ResponseEvent::ContentPartAdded {
            content_index: stream.index(),
            response_id: self.response_id.clone(),
            item_id: self.item_id.clone(),
            output_index: self.output_index,
            part: stream.part(String::new(), Vec::new()),
            sequence_number: 0,
        }
    }

    fn part_done(
        &self,
        stream: Stream,
        text: String,
        annotations: Vec<lls_api_agents::Annotation>,
    ) -> ResponseEvent {
        ResponseEvent::ContentPartDone {
            content_index: stream.index(),
            response_id: self.response_id.clone(),
            item_id: self.item_id.clone(),
            output_index: self.output_index,
            part: stream.part(text, annotations),
            sequence_number: 0,
        }
    }

    fn delta(&self, stream: Stream, delta: &str) -> ResponseEvent {
        let (content_index, delta, item_id, output_index) = (
            stream.index(),
            delta.to_owned(),
            self.item_id.clone(),
            self.output_index,
        );
        match stream {
            Stream::Text => ResponseEvent::OutputTextDelta {
                content_index,
                delta,
                item_id,
                output_index,
                sequence_number: 0,
            },
            Stream::Reasoning => ResponseEvent::ReasoningTextDelta {
                content_index,
                delta,
                item_id,
                output_index,
                sequence_number: 0,
            },
            Stream::Refusal => ResponseEvent::RefusalDelta {
                content_index,
                delta,
                item_id,
                output_index,
                sequence_number: 0,
            },
        }
    }

    fn finished(&self, stream: Stream, text: String) -> ResponseEvent {
        let (content_index, item_id, output_index) =
            (stream.index(), self.item_id.clone(), self.output_index);
        match stream {
            Stream::Text => ResponseEvent::OutputTextDone {
                content_index,
                text,
                item_id,
                output_index,
                sequence_number: 0,
            },
            Stream::Reasoning => ResponseEvent::ReasoningTextDone {
                content_index,
                text,
                item_id,
                output_index,
                sequence_number: 0,
            },
            Stream::Refusal => ResponseEvent::RefusalDone {
                content_index,
                refusal: text,
                item_id,
                output_index,
                sequence_number: 0,
            },
        }
    }

    fn summary_part(&self, done: bool, text: String) -> ResponseEvent {
        let (item_id, output_index, part) = (
            self.item_id.clone(),
            self.output_index,
            SummaryPart::new(text),
        );
        if done {
            ResponseEvent::ReasoningSummaryPartDone {
                item_id,
                output_index,
                part,
                sequence_number: 0,
                summary_index: 0,
            }
        } else {
            ResponseEvent::ReasoningSummaryPartAdded {
                item_id,
                output_index,
                part,
                sequence_number: 0,
                summary_index: 0,
            }
        }
    }

    fn summary_text(&self, done: bool, text: &str) -> ResponseEvent {
        let (item_id, output_index, text) =
            (self.item_id.clone(), self.output_index, text.to_owned());
        if done {
            ResponseEvent::ReasoningSummaryTextDone {
                text,
                item_id,
                output_index,
                sequence_number: 0,
                summary_index: 0,
            }
        } else {
            ResponseEvent::ReasoningSummaryTextDelta {
                delta: text,
                item_id,
                output_index,
                sequence_number: 0,
                summary_index: 0,
            }
        }
    }
}

/// A tool call as it arrives in pieces.
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
    item_id: String,
}

/// The kind of tool a call is for, which decides its events.
#[derive(Clone, Copy, PartialEq)]
enum CallKind {
    Function,
    Mcp,
    Builtin,
}

/// The chunks of a complete answer, for a provider that did not stream.
fn chunks_of(c: ChatCompletion) -> Vec<Result<ChatCompletionChunk>> {
    let choices: Vec<Value> = c
        .choices
        .iter()
        .map(|choice| {
            let calls: Vec<Value> = choice
                .message
                .tool_calls
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, t)| json!({"index": i, "id": t.id, "type": "function", "function": {"name": t.function.name, "arguments": t.function.arguments}}))
                .collect();
            json!({"index": choice.index, "finish_reason": choice.finish_reason, "delta": {
                "content": choice.message.content, "tool_calls": if calls.is_empty() { Value::Null } else { Value::Array(calls) },
                "refusal": choice.message.refusal, "reasoning_content": choice.message.reasoning_content}})
        })
        .collect();
    let chunk = json!({"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model, "choices": choices, "usage": c.usage});
    vec![
        serde_json::from_value(chunk)
            .map_err(|e| Error::internal(format!("could not read a completion as chunks: {e}"))),
    ]
}

impl Run {
    fn call_kind(&self, name: &str) -> CallKind {
        if self.mcp_tools.contains_key(name) {
            CallKind::Mcp
        } else if self.is_function(name) {
            CallKind::Function
        } else {
            CallKind::Builtin
        }
    }

    fn request(&self, messages: &[ChatMessage], first: bool) -> Result<ChatCompletionRequest> {
        let t = &self.turn;
        let tools = self.tools_for_call();
        let mut body = json!({
            "model": t.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        let Value::Object(map) = &mut body else {
            unreachable!("a JSON object literal")
        };
        if !tools.is_empty() {
            map.insert(
                "tools".into(),
                serde_json::to_value(&tools).unwrap_or_default(),
            );
            if let Some(choice) = choice_for_call(t, first, self.answer_now, &tools) {
                map.insert(
                    "tool_choice".into(),
                    serde_json::to_value(choice).unwrap_or_default(),
                );
            }
            if let Some(p) = t.parallel_tool_calls {
                map.insert("parallel_tool_calls".into(), Value::Bool(p));
            }
        }
        if let Some(format) = &t.response_format {
            map.insert(
                "response_format".into(),
                serde_json::to_value(format).unwrap_or_default(),
            );
        }
        if let Some(v) = t.temperature {
            map.insert("temperature".into(), json!(v));
        }
        if let Some(v) = t.top_p {
            map.insert("top_p".into(), json!(v));
        }
        if let Some(max) = t.max_output_tokens {
            map.insert(
                "max_tokens".into(),
                json!((max - self.output_tokens).max(1)),
            );
        }
        serde_json::from_value(body)
            .map_err(|e| Error::internal(format!("could not build the chat request: {e}")))
    }

    /// Calls the model once and streams what it says as events.
    pub(super) async fn step(
        &mut self,
        sink: &mut Sink,
        messages: &[ChatMessage],
        first: bool,
    ) -> Result<StepOutcome> {
        let request = self.request(messages, first)?;
        let answer = self
            .engine
            .deps
            .inference
            .chat_completion(&self.turn.ctx, request)
            .await?;
        let mut chunks: BoxStream<'static, Result<ChatCompletionChunk>> = match answer {
            Output::Stream(s) => s.map(|r| r.and_then(|a| a.into_typed())).boxed(),
            Output::Complete(a) => stream::iter(chunks_of(a.into_typed()?)).boxed(),
        };
        let response_id = self.turn.id.clone();
        let message_id = format!("msg_{}", uuid::Uuid::new_v4());
        let message_index = self.output.len();
        let at = At {
            response_id: response_id.clone(),
            item_id: message_id.clone(),
            output_index: message_index,
        };
        let guarded = !self.turn.guardrails.is_empty();
        let (mut message_added, mut text_part, mut reasoning_part, mut refusal_part) =
            (false, false, false, false);
        let (mut content, mut reasoning, mut refusal) =
            (String::new(), String::new(), String::new());
        let mut calls: BTreeMap<u32, PartialCall> = BTreeMap::new();
        let mut functions_announced = 0;
        let mut finish_reason = None;

        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if let Some(usage) = &chunk.usage {
                self.add_usage(usage);
            }
            let mut held: Vec<ResponseEvent> = Vec::new();
            let mut text_changed = false;
            for choice in chunk.choices.iter().filter(|c| c.index == 0) {
                let d = &choice.delta;
                let wants_message = d.content.as_deref().is_some_and(|c| !c.is_empty())
                    || d.reasoning_content
                        .as_deref()
                        .is_some_and(|c| !c.is_empty())
                    || d.refusal.as_deref().is_some_and(|c| !c.is_empty());
                if wants_message && !message_added {
                    message_added = true;
                    sink.emit(at.message_added()).await;
                }
                if let Some(delta) = d.content.as_deref().filter(|c| !c.is_empty()) {
                    if !text_part {
                        text_part = true;
                        sink.emit(at.part_added(Stream::Text)).await;
                    }
                    content.push_str(delta);
                    text_changed = true;
                    held.push(at.delta(Stream::Text, delta));
                }
                if let Some(delta) = d.reasoning_content.as_deref().filter(|c| !c.is_empty()) {
                    if !reasoning_part {
                        reasoning_part = true;
                        held.push(at.part_added(Stream::Reasoning));
                        if self.turn.reasoning_summary {
                            held.push(at.summary_part(false, String::new()));
                        }
                    }
                    reasoning.push_str(delta);
                    held.push(at.delta(Stream::Reasoning, delta));
                    if self.turn.reasoning_summary {
                        held.push(at.summary_text(false, delta));
                    }
                }
                if let Some(delta) = d.refusal.as_deref().filter(|c| !c.is_empty()) {
                    if !refusal_part {
                        refusal_part = true;
                        held.push(at.part_added(Stream::Refusal));
                    }
                    refusal.push_str(delta);
                    held.push(at.delta(Stream::Refusal, delta));
                }
                for call in d.tool_calls.iter().flatten() {
                    let function = call.function.as_ref();
                    let piece = function
                        .and_then(|f| f.arguments.clone())
                        .unwrap_or_default();
                    let (item_id, name) = match calls.get_mut(&call.index) {
                        Some(partial) => {
                            partial.arguments.push_str(&piece);
                            if let Some(name) = function
                                .and_then(|f| f.name.as_deref())
                                .filter(|n| partial.name.is_empty() && !n.is_empty())
                            {
                                partial.name = name.to_owned();
                            }
                            (partial.item_id.clone(), partial.name.clone())
                        }
                        None => {
                            let name = function.and_then(|f| f.name.clone()).unwrap_or_default();
                            let item_id = format!("fc_{}", uuid::Uuid::new_v4());
                            let id = call
                                .id
                                .clone()
                                .unwrap_or_else(|| format!("call_{}", uuid::Uuid::new_v4()));
                            if self.call_kind(&name) == CallKind::Function {
                                let item = Item::FunctionCall(FunctionCall {
                                    call_id: id.clone(),
                                    name: name.clone(),
                                    arguments: String::new(),
                                    id: Some(item_id.clone()),
                                    status: Some("in_progress".into()),
                                });
                                let output_index = message_index
                                    + usize::from(message_added)
                                    + functions_announced;
                                functions_announced += 1;
                                sink.emit(ResponseEvent::OutputItemAdded {
                                    response_id: response_id.clone(),
                                    item,
                                    output_index,
                                    sequence_number: 0,
                                })
                                .await;
                            }
                            calls.insert(
                                call.index,
                                PartialCall {
                                    id,
                                    name: name.clone(),
                                    arguments: piece.clone(),
                                    item_id: item_id.clone(),
                                },
                            );
                            (item_id, name)
                        }
                    };
                    if piece.is_empty() {
                        continue;
                    }
                    let output_index = message_index + usize::from(message_added);
                    match self.call_kind(&name) {
                        CallKind::Mcp => {
                            sink.emit(ResponseEvent::McpCallArgumentsDelta {
                                delta: piece,
                                item_id,
                                output_index,
                                sequence_number: 0,
                            })
                            .await
                        }
                        CallKind::Function => {
                            sink.emit(ResponseEvent::FunctionCallArgumentsDelta {
                                delta: piece,
                                item_id,
                                output_index,
                                sequence_number: 0,
                            })
                            .await
                        }
                        CallKind::Builtin => {}
                    }
                }
                if let Some(reason) = &choice.finish_reason {
                    finish_reason = Some(reason.clone());
                }
            }
            if guarded
                && text_changed
                && let Some(violation) = self.guardrail_violation(&content).await?
            {
                return Ok(StepOutcome {
                    content,
                    tool_calls: Vec::new(),
                    finish_reason,
                    item_ids: HashMap::new(),
                    message: None,
                    violation: Some(violation),
                });
            }
            for event in held {
                sink.emit(event).await;
            }
        }

        let mut tool_calls = Vec::new();
        let mut item_ids = HashMap::new();
        for partial in calls.into_values() {
            let arguments = if partial.arguments.is_empty() {
                "{}".to_owned()
            } else {
                partial.arguments
            };
            let output_index = message_index + usize::from(message_added);
            match self.call_kind(&partial.name) {
                CallKind::Mcp => {
                    sink.emit(ResponseEvent::McpCallArgumentsDone {
                        arguments: arguments.clone(),
                        item_id: partial.item_id.clone(),
                        output_index,
                        sequence_number: 0,
                    })
                    .await
                }
                CallKind::Function => {
                    sink.emit(ResponseEvent::FunctionCallArgumentsDone {
                        arguments: arguments.clone(),
                        item_id: partial.item_id.clone(),
                        output_index,
                        sequence_number: 0,
                    })
                    .await
                }
                CallKind::Builtin => {}
            }
            item_ids.insert(partial.id.clone(), partial.item_id);
            tool_calls.push(tool_call(&partial.id, &partial.name, &arguments));
        }

        let (annotations, cleaned) = extract_citations(&content, &self.citation_files);
        if text_part {
            for (annotation_index, annotation) in annotations.iter().enumerate() {
                sink.emit(ResponseEvent::OutputTextAnnotationAdded {
                    item_id: message_id.clone(),
                    output_index: message_index,
                    content_index: TEXT_INDEX,
                    annotation_index,
                    annotation: annotation.clone(),
                    sequence_number: 0,
                })
                .await;
            }
            sink.emit(at.finished(Stream::Text, cleaned.clone())).await;
            sink.emit(at.part_done(Stream::Text, cleaned.clone(), annotations.clone()))
                .await;
        }
        if reasoning_part {
            sink.emit(at.finished(Stream::Reasoning, reasoning.clone()))
                .await;
            sink.emit(at.part_done(Stream::Reasoning, reasoning.clone(), Vec::new()))
                .await;
            if self.turn.reasoning_summary {
                sink.emit(at.summary_text(true, &reasoning)).await;
                sink.emit(at.summary_part(true, reasoning.clone())).await;
            }
        }
        if refusal_part {
            sink.emit(at.finished(Stream::Refusal, refusal.clone()))
                .await;
            sink.emit(at.part_done(Stream::Refusal, refusal.clone(), Vec::new()))
                .await;
        }
        if !message_added && tool_calls.is_empty() {
            // The model said nothing: the answer is still a (empty) message, as 0.3.5 gives it.
            message_added = true;
            text_part = true;
            sink.emit(at.message_added()).await;
        }
        let message = if message_added {
            let mut parts = Vec::new();
            if text_part {
                parts.push(ContentPart::OutputText {
                    text: cleaned,
                    annotations,
                });
            }
            if refusal_part {
                parts.push(ContentPart::Refusal { refusal });
            }
            let item = Item::Message(MessageItem {
                content: MessageContent::Parts(parts),
                role: Role::Assistant,
                id: Some(message_id),
                status: Some("completed".into()),
            });
            sink.emit(ResponseEvent::OutputItemDone {
                response_id,
                item: item.clone(),
                output_index: message_index,
                sequence_number: 0,
            })
            .await;
            Some(item)
        } else {
            None
        };
        Ok(StepOutcome {
            content,
            tool_calls,
            finish_reason,
            item_ids,
            message,
            violation: None,
        })
    }
}
