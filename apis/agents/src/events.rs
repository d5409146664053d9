//! The 36 streaming events of the Responses API, each `data:` line of the SSE stream.
//! Every event carries a `sequence_number`, strictly increasing within a response (0.3.5 leaves
//! it off `response.created` and `response.completed`; OpenAI sends it on every event).

use serde::{Deserialize, Serialize};

use crate::items::{Annotation, Item};
use crate::responses::ResponseObject;

/// A content part as the `content_part.*` events carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventPart {
    OutputText {
        text: String,
        #[serde(default)]
        annotations: Vec<Annotation>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        logprobs: Option<Vec<serde_json::Value>>,
    },
    Refusal {
        refusal: String,
    },
    ReasoningText {
        text: String,
    },
}

/// A reasoning summary part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SummaryPart {
    /// Always `"summary_text"`.
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
}

impl SummaryPart {
    pub fn new(text: impl Into<String>) -> Self {
        SummaryPart {
            kind: "summary_text".into(),
            text: text.into(),
        }
    }
}

/// One streaming event, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type")]
pub enum ResponseEvent {
    #[serde(rename = "response.created")]
    Created {
        response: Box<ResponseObject>,
        sequence_number: u64,
    },
    #[serde(rename = "response.in_progress")]
    InProgress {
        response: Box<ResponseObject>,
        sequence_number: u64,
    },
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded {
        response_id: String,
        item: Item,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.output_item.done")]
    OutputItemDone {
        response_id: String,
        item: Item,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        content_index: usize,
        delta: String,
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        content_index: usize,
        text: String,
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        delta: String,
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        arguments: String,
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.web_search_call.in_progress")]
    WebSearchCallInProgress {
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.web_search_call.searching")]
    WebSearchCallSearching {
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.web_search_call.completed")]
    WebSearchCallCompleted {
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.mcp_list_tools.in_progress")]
    McpListToolsInProgress { sequence_number: u64 },
    #[serde(rename = "response.mcp_list_tools.failed")]
    McpListToolsFailed { sequence_number: u64 },
    #[serde(rename = "response.mcp_list_tools.completed")]
    McpListToolsCompleted { sequence_number: u64 },
    #[serde(rename = "response.mcp_call.arguments.delta")]
    McpCallArgumentsDelta {
        delta: String,
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.mcp_call.arguments.done")]
    McpCallArgumentsDone {
        arguments: String,
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.mcp_call.in_progress")]
    McpCallInProgress {
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.mcp_call.failed")]
    McpCallFailed { sequence_number: u64 },
    #[serde(rename = "response.mcp_call.completed")]
    McpCallCompleted { sequence_number: u64 },
    #[serde(rename = "response.content_part.added")]
    ContentPartAdded {
        content_index: usize,
        response_id: String,
        item_id: String,
        output_index: usize,
        part: EventPart,
        sequence_number: u64,
    },
    #[serde(rename = "response.content_part.done")]
    ContentPartDone {
        content_index: usize,
        response_id: String,
        item_id: String,
        output_index: usize,
        part: EventPart,
        sequence_number: u64,
    },
    #[serde(rename = "response.reasoning_text.delta")]
    ReasoningTextDelta {
        content_index: usize,
        delta: String,
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.reasoning_text.done")]
    ReasoningTextDone {
        content_index: usize,
        text: String,
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.reasoning_summary_part.added")]
    ReasoningSummaryPartAdded {
        item_id: String,
        output_index: usize,
        part: SummaryPart,
        sequence_number: u64,
        summary_index: usize,
    },
    #[serde(rename = "response.reasoning_summary_part.done")]
    ReasoningSummaryPartDone {
        item_id: String,
        output_index: usize,
        part: SummaryPart,
        sequence_number: u64,
        summary_index: usize,
    },
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningSummaryTextDelta {
        delta: String,
        item_id: String,
        output_index: usize,
        sequence_number: u64,
        summary_index: usize,
    },
    #[serde(rename = "response.reasoning_summary_text.done")]
    ReasoningSummaryTextDone {
        text: String,
        item_id: String,
        output_index: usize,
        sequence_number: u64,
        summary_index: usize,
    },
    #[serde(rename = "response.refusal.delta")]
    RefusalDelta {
        content_index: usize,
        delta: String,
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.refusal.done")]
    RefusalDone {
        content_index: usize,
        refusal: String,
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.output_text.annotation.added")]
    OutputTextAnnotationAdded {
        item_id: String,
        output_index: usize,
        content_index: usize,
        annotation_index: usize,
        annotation: Annotation,
        sequence_number: u64,
    },
    #[serde(rename = "response.file_search_call.in_progress")]
    FileSearchCallInProgress {
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.file_search_call.searching")]
    FileSearchCallSearching {
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.file_search_call.completed")]
    FileSearchCallCompleted {
        item_id: String,
        output_index: usize,
        sequence_number: u64,
    },
    #[serde(rename = "response.incomplete")]
    Incomplete {
        response: Box<ResponseObject>,
        sequence_number: u64,
    },
    #[serde(rename = "response.failed")]
    Failed {
        response: Box<ResponseObject>,
        sequence_number: u64,
    },
    #[serde(rename = "response.completed")]
    Completed {
        response: Box<ResponseObject>,
        sequence_number: u64,
    },
}

/// Matches every variant of [`ResponseEvent`], binding its `sequence_number` as `$n`.
macro_rules! with_sequence_number {
    ($event:expr, $n:ident => $body:expr) => {{
        use ResponseEvent::*;
        match $event {
            Created {
                sequence_number: $n,
                ..
            }
            | InProgress {
                sequence_number: $n,
                ..
            }
            | OutputItemAdded {
                sequence_number: $n,
                ..
            }
            | OutputItemDone {
                sequence_number: $n,
                ..
            }
            | OutputTextDelta {
                sequence_number: $n,
                ..
            }
            | OutputTextDone {
                sequence_number: $n,
                ..
            }
            | FunctionCallArgumentsDelta {
                sequence_number: $n,
                ..
            }
            | FunctionCallArgumentsDone {
                sequence_number: $n,
                ..
            }
            | WebSearchCallInProgress {
                sequence_number: $n,
                ..
            }
            | WebSearchCallSearching {
                sequence_number: $n,
                ..
            }
            | WebSearchCallCompleted {
                sequence_number: $n,
                ..
            }
            | McpListToolsInProgress {
                sequence_number: $n,
            }
            | McpListToolsFailed {
                sequence_number: $n,
            }
            | McpListToolsCompleted {
                sequence_number: $n,
            }
            | McpCallArgumentsDelta {
                sequence_number: $n,
                ..
            }
            | McpCallArgumentsDone {
                sequence_number: $n,
                ..
            }
            | McpCallInProgress {
                sequence_number: $n,
                ..
            }
            | McpCallFailed {
                sequence_number: $n,
            }
            | McpCallCompleted {
                sequence_number: $n,
            }
            | ContentPartAdded {
                sequence_number: $n,
                ..
            }
            | ContentPartDone {
                sequence_number: $n,
                ..
            }
            | ReasoningTextDelta {
                sequence_number: $n,
                ..
            }
            | ReasoningTextDone {
                sequence_number: $n,
                ..
            }
            | ReasoningSummaryPartAdded {
                sequence_number: $n,
                ..
            }
            | ReasoningSummaryPartDone {
                sequence_number: $n,
                ..
            }
            | ReasoningSummaryTextDelta {
                sequence_number: $n,
                ..
            }
            | ReasoningSummaryTextDone {
                sequence_number: $n,
                ..
            }
            | RefusalDelta {
                sequence_number: $n,
                ..
            }
            | RefusalDone {
                sequence_number: $n,
                ..
            }
            | OutputTextAnnotationAdded {
                sequence_number: $n,
                ..
            }
            | FileSearchCallInProgress {
                sequence_number: $n,
                ..
            }
            | FileSearchCallSearching {
                sequence_number: $n,
                ..
            }
            | FileSearchCallCompleted {
                sequence_number: $n,
                ..
            }
            | Incomplete {
                sequence_number: $n,
                ..
            }
            | Failed {
                sequence_number: $n,
                ..
            }
            | Completed {
                sequence_number: $n,
                ..
            } => $body,
        }
    }};
}

impl ResponseEvent {
    /// Every event type, as `type` names it.
    pub const TYPES: [&'static str; 36] = [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_item.done",
        "response.output_text.delta",
        "response.output_text.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
        "response.mcp_list_tools.in_progress",
        "response.mcp_list_tools.failed",
        "response.mcp_list_tools.completed",
        "response.mcp_call.arguments.delta",
        "response.mcp_call.arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.failed",
        "response.mcp_call.completed",
        "response.content_part.added",
        "response.content_part.done",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_part.done",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.refusal.delta",
        "response.refusal.done",
        "response.output_text.annotation.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.incomplete",
        "response.failed",
        "response.completed",
    ];

    /// The final response, for the three terminal events.
    pub fn terminal_response(&self) -> Option<&ResponseObject> {
        match self {
            ResponseEvent::Completed { response, .. }
            | ResponseEvent::Incomplete { response, .. }
            | ResponseEvent::Failed { response, .. } => Some(response),
            _ => None,
        }
    }

    /// The event's `type`.
    pub fn kind(&self) -> &'static str {
        use ResponseEvent::*;
        let i = match self {
            Created { .. } => 0,
            InProgress { .. } => 1,
            OutputItemAdded { .. } => 2,
            OutputItemDone { .. } => 3,
            OutputTextDelta { .. } => 4,
            OutputTextDone { .. } => 5,
            FunctionCallArgumentsDelta { .. } => 6,
            FunctionCallArgumentsDone { .. } => 7,
            WebSearchCallInProgress { .. } => 8,
            WebSearchCallSearching { .. } => 9,
            WebSearchCallCompleted { .. } => 10,
            McpListToolsInProgress { .. } => 11,
            McpListToolsFailed { .. } => 12,
            McpListToolsCompleted { .. } => 13,
            McpCallArgumentsDelta { .. } => 14,
            McpCallArgumentsDone { .. } => 15,
            McpCallInProgress { .. } => 16,
            McpCallFailed { .. } => 17,
            McpCallCompleted { .. } => 18,
            ContentPartAdded { .. } => 19,
            ContentPartDone { .. } => 20,
            ReasoningTextDelta { .. } => 21,
            ReasoningTextDone { .. } => 22,
            ReasoningSummaryPartAdded { .. } => 23,
            ReasoningSummaryPartDone { .. } => 24,
            ReasoningSummaryTextDelta { .. } => 25,
            ReasoningSummaryTextDone { .. } => 26,
            RefusalDelta { .. } => 27,
            RefusalDone { .. } => 28,
            OutputTextAnnotationAdded { .. } => 29,
            FileSearchCallInProgress { .. } => 30,
            FileSearchCallSearching { .. } => 31,
            FileSearchCallCompleted { .. } => 32,
            Incomplete { .. } => 33,
            Failed { .. } => 34,
            Completed { .. } => 35,
        };
        Self::TYPES[i]
    }

    pub fn sequence_number(&self) -> u64 {
        with_sequence_number!(self, n => *n)
    }

    /// Sets the sequence number (the emitter numbers events as it sends them).
    pub fn set_sequence_number(&mut self, value: u64) {
        with_sequence_number!(self, n => *n = value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_the_serialised_type() {
        let mut e = ResponseEvent::McpCallFailed { sequence_number: 0 };
        e.set_sequence_number(7);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], e.kind());
        assert_eq!(v["sequence_number"], 7);
        assert_eq!(e.sequence_number(), 7);
    }
}
