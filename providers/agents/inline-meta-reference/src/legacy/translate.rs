//! The engine's Responses events as 0.3.5 turn events: each model call is an `inference` step
//! (its text and client tool calls stream as `step_progress`), each server-side tool call
//! (file_search, web_search, MCP) a `tool_execution` step; the final response gives the
//! turn's output message and the client calls it waits for.

use lls_api_agents::{
    AgentToolCall, AgentToolResponse, CompletionMessage, ContentDelta, Item, ResponseEvent,
    ResponseObject, Step, StepCommon, StepType, TurnEventPayload,
};
use serde_json::{Value, json};

use super::store::iso_now;

/// The model call being streamed.
struct OpenInference {
    step_id: String,
    started_at: String,
    text: String,
    tool_calls: Vec<AgentToolCall>,
}

/// A server-side tool call being run.
struct OpenTool {
    item_id: String,
    step_id: String,
    started_at: String,
}

/// Follows one engine run of a turn.
pub(crate) struct Translator {
    turn_id: String,
    /// The turn's completed steps (on resumption, those before it too).
    pub steps: Vec<Step>,
    inference: Option<OpenInference>,
    tools: Vec<OpenTool>,
}

/// How a run ended: the turn's last message and the client calls it waits for.
pub(crate) struct Outcome {
    pub output_message: CompletionMessage,
    pub pending: Vec<AgentToolCall>,
}

fn step_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Translator {
    pub fn new(turn_id: &str, steps: Vec<Step>) -> Self {
        Translator {
            turn_id: turn_id.to_owned(),
            steps,
            inference: None,
            tools: Vec::new(),
        }
    }

    /// The turn events one engine event stands for (often none).
    pub fn on_event(&mut self, event: &ResponseEvent) -> Vec<TurnEventPayload> {
        let mut out = Vec::new();
        match event {
            ResponseEvent::Created { .. } => self.open_inference(&mut out),
            ResponseEvent::OutputTextDelta { delta, .. } => {
                self.open_inference(&mut out);
                if let Some(open) = &mut self.inference {
                    open.text.push_str(delta);
                    out.push(TurnEventPayload::StepProgress {
                        step_type: StepType::Inference,
                        step_id: open.step_id.clone(),
                        delta: ContentDelta::Text {
                            text: delta.clone(),
                        },
                    });
                }
            }
            ResponseEvent::OutputItemDone {
                item: Item::FunctionCall(call),
                ..
            } => {
                self.open_inference(&mut out);
                let call = AgentToolCall {
                    call_id: call.call_id.clone(),
                    tool_name: call.name.clone(),
                    arguments: call.arguments.clone(),
                };
                if let Some(open) = &mut self.inference {
                    out.push(TurnEventPayload::StepProgress {
                        step_type: StepType::Inference,
                        step_id: open.step_id.clone(),
                        delta: ContentDelta::ToolCall {
                            tool_call: json!(call),
                            parse_status: "succeeded".into(),
                        },
                    });
                    open.tool_calls.push(call);
                }
            }
            ResponseEvent::OutputItemAdded { item, .. } if server_call(item).is_some() => {
                self.start_tool(item, &mut out)
            }
            ResponseEvent::OutputItemDone { item, .. } if server_call(item).is_some() => {
                self.finish_tool(item, &mut out)
            }
            _ => {}
        }
        out
    }

    fn open_inference(&mut self, out: &mut Vec<TurnEventPayload>) {
        if self.inference.is_some() {
            return;
        }
        let open = OpenInference {
            step_id: step_id(),
            started_at: iso_now(),
            text: String::new(),
            tool_calls: Vec::new(),
        };
        out.push(TurnEventPayload::StepStart {
            step_type: StepType::Inference,
            step_id: open.step_id.clone(),
            metadata: Some(Default::default()),
        });
        self.inference = Some(open);
    }

    /// Completes the model call in progress with `extra` calls it made and `stop_reason`.
    fn close_inference(
        &mut self,
        extra: Vec<AgentToolCall>,
        stop_reason: &str,
        out: &mut Vec<TurnEventPayload>,
    ) -> Option<CompletionMessage> {
        let open = self.inference.take()?;
        let mut calls = open.tool_calls;
        calls.extend(extra);
        let message = CompletionMessage::new(open.text, stop_reason, calls);
        let step = Step::Inference {
            common: StepCommon {
                turn_id: self.turn_id.clone(),
                step_id: open.step_id.clone(),
                started_at: Some(open.started_at),
                completed_at: Some(iso_now()),
            },
            model_response: message.clone(),
        };
        out.push(TurnEventPayload::StepComplete {
            step_type: StepType::Inference,
            step_id: open.step_id,
            step_details: step.clone(),
        });
        self.steps.push(step);
        Some(message)
    }

    fn start_tool(&mut self, item: &Item, out: &mut Vec<TurnEventPayload>) {
        let call = server_call(item);
        self.close_inference(call.into_iter().collect(), "end_of_message", out);
        let open = OpenTool {
            item_id: item.id().unwrap_or_default().to_owned(),
            step_id: step_id(),
            started_at: iso_now(),
        };
        out.push(TurnEventPayload::StepStart {
            step_type: StepType::ToolExecution,
            step_id: open.step_id.clone(),
            metadata: Some(Default::default()),
        });
        self.tools.push(open);
    }

    fn finish_tool(&mut self, item: &Item, out: &mut Vec<TurnEventPayload>) {
        let id = item.id().unwrap_or_default();
        let open = match self.tools.iter().position(|t| t.item_id == id) {
            Some(i) => self.tools.remove(i),
            None => OpenTool {
                item_id: id.to_owned(),
                step_id: step_id(),
                started_at: iso_now(),
            },
        };
        let Some(call) = server_call(item) else {
            return;
        };
        out.push(TurnEventPayload::StepProgress {
            step_type: StepType::ToolExecution,
            step_id: open.step_id.clone(),
            delta: ContentDelta::ToolCall {
                tool_call: json!(call),
                parse_status: "in_progress".into(),
            },
        });
        let response = AgentToolResponse {
            call_id: call.call_id.clone(),
            tool_name: call.tool_name.clone(),
            content: Value::String(server_result(item)),
            metadata: None,
        };
        let step = Step::ToolExecution {
            common: StepCommon {
                turn_id: self.turn_id.clone(),
                step_id: open.step_id.clone(),
                started_at: Some(open.started_at),
                completed_at: Some(iso_now()),
            },
            tool_calls: vec![call],
            tool_responses: vec![response],
        };
        out.push(TurnEventPayload::StepComplete {
            step_type: StepType::ToolExecution,
            step_id: open.step_id,
            step_details: step.clone(),
        });
        self.steps.push(step);
    }

    /// The end of the run: completes the model call in progress and reads the turn's output
    /// message off the final response.
    pub fn finish(
        &mut self,
        response: &ResponseObject,
        out: &mut Vec<TurnEventPayload>,
    ) -> Outcome {
        let pending: Vec<AgentToolCall> = response
            .output
            .iter()
            .filter_map(|item| match item {
                Item::FunctionCall(c) => Some(AgentToolCall {
                    call_id: c.call_id.clone(),
                    tool_name: c.name.clone(),
                    arguments: c.arguments.clone(),
                }),
                _ => None,
            })
            .collect();
        let stop_reason = if !pending.is_empty() {
            "end_of_message"
        } else if response
            .incomplete_details
            .as_ref()
            .is_some_and(|d| d.reason == "max_output_tokens")
        {
            "out_of_tokens"
        } else {
            "end_of_turn"
        };
        let text = final_text(response);
        let closed = self.close_inference(Vec::new(), stop_reason, out);
        let content = match closed {
            Some(m) if m.content.as_str().is_some_and(|t| !t.is_empty()) => m.content,
            _ => Value::String(text),
        };
        let mut output_message =
            CompletionMessage::new(String::new(), stop_reason, pending.clone());
        output_message.content = content;
        Outcome {
            output_message,
            pending,
        }
    }
}

/// A server-side tool call as the tool call the model made.
fn server_call(item: &Item) -> Option<AgentToolCall> {
    let (call_id, tool_name, arguments) = match item {
        Item::FileSearchCall(c) => (
            c.id.clone(),
            "knowledge_search".to_owned(),
            json!({"query": c.queries.join(" ")}).to_string(),
        ),
        Item::WebSearchCall(c) => (c.id.clone(), "web_search".to_owned(), "{}".to_owned()),
        Item::McpCall(c) => (c.id.clone(), c.name.clone(), c.arguments.clone()),
        _ => return None,
    };
    Some(AgentToolCall {
        call_id,
        tool_name,
        arguments,
    })
}

/// What a server-side tool answered, as text.
fn server_result(item: &Item) -> String {
    match item {
        Item::FileSearchCall(c) => c
            .results
            .iter()
            .flatten()
            .map(|r| r.text.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        Item::McpCall(c) => c
            .output
            .clone()
            .or_else(|| c.error.clone())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// The text of the response's last message.
fn final_text(response: &ResponseObject) -> String {
    response
        .output
        .iter()
        .rev()
        .find_map(|item| match item {
            Item::Message(m) => Some(m.text()),
            _ => None,
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lls_api_agents::{FileSearchCall, FunctionCall, TextConfig};

    use super::*;

    fn response(output: Vec<Item>) -> ResponseObject {
        ResponseObject {
            created_at: 0,
            error: None,
            id: "resp_1".into(),
            model: "m".into(),
            object: "response".into(),
            output,
            parallel_tool_calls: true,
            previous_response_id: None,
            status: "completed".into(),
            temperature: None,
            text: TextConfig::default(),
            top_p: None,
            tools: None,
            truncation: None,
            usage: None,
            instructions: None,
            prompt: None,
            metadata: None,
            tool_choice: None,
            max_output_tokens: None,
            max_tool_calls: None,
            incomplete_details: None,
        }
    }

    fn kinds(events: &[TurnEventPayload]) -> Vec<String> {
        events
            .iter()
            .map(|e| {
                serde_json::to_value(e).unwrap()["event_type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn text_becomes_one_inference_step() {
        let mut t = Translator::new("turn", vec![]);
        let created = ResponseEvent::Created {
            response: Box::new(response(vec![])),
            sequence_number: 0,
        };
        let mut events = t.on_event(&created);
        for delta in ["Hel", "lo"] {
            events.extend(t.on_event(&ResponseEvent::OutputTextDelta {
                content_index: 0,
                delta: delta.into(),
                item_id: "msg".into(),
                output_index: 0,
                sequence_number: 1,
            }));
        }
        let outcome = t.finish(&response(vec![]), &mut events);
        assert_eq!(
            kinds(&events),
            [
                "step_start",
                "step_progress",
                "step_progress",
                "step_complete"
            ]
        );
        assert_eq!(outcome.output_message.content, json!("Hello"));
        assert_eq!(outcome.output_message.stop_reason, "end_of_turn");
        assert_eq!(t.steps.len(), 1);
    }

    #[test]
    fn server_tools_are_tool_steps_and_client_calls_wait() {
        let mut t = Translator::new("turn", vec![]);
        let mut events = t.on_event(&ResponseEvent::Created {
            response: Box::new(response(vec![])),
            sequence_number: 0,
        });
        let search = Item::FileSearchCall(FileSearchCall {
            id: "fs_1".into(),
            queries: vec!["polyjuice".into()],
            status: "completed".into(),
            results: None,
        });
        for event in [
            ResponseEvent::OutputItemAdded {
                response_id: "r".into(),
                item: search.clone(),
                output_index: 0,
                sequence_number: 2,
            },
            ResponseEvent::OutputItemDone {
                response_id: "r".into(),
                item: search,
                output_index: 0,
                sequence_number: 3,
            },
        ] {
            events.extend(t.on_event(&event));
        }
        let call = Item::FunctionCall(FunctionCall {
            call_id: "call_1".into(),
            name: "get_boiling_point".into(),
            arguments: "{}".into(),
            id: Some("fc_1".into()),
            status: Some("completed".into()),
        });
        events.extend(t.on_event(&ResponseEvent::OutputItemDone {
            response_id: "r".into(),
            item: call.clone(),
            output_index: 1,
            sequence_number: 4,
        }));
        let outcome = t.finish(&response(vec![call]), &mut events);
        assert_eq!(
            kinds(&events),
            [
                "step_start",
                "step_complete",
                "step_start",
                "step_progress",
                "step_complete",
                "step_start",
                "step_progress",
                "step_complete"
            ]
        );
        let types: Vec<StepType> = t.steps.iter().map(Step::step_type).collect();
        assert_eq!(
            types,
            [
                StepType::Inference,
                StepType::ToolExecution,
                StepType::Inference
            ]
        );
        assert_eq!(outcome.pending.len(), 1);
        assert_eq!(outcome.output_message.stop_reason, "end_of_message");
        assert_eq!(
            outcome.output_message.tool_calls.as_ref().unwrap()[0].tool_name,
            "get_boiling_point"
        );
    }
}
