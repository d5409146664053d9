//! The agents API of Llama Stack 0.3.5: OpenAI's Responses API (items, tools, the response
//! object and its streaming events) and the legacy v1alpha Agents API, with the traits the
//! agents service and providers implement.
//!
//! Wire shapes follow 0.3.5: optional fields are present (as `null`) when unset, as pydantic
//! writes them.

mod items;

pub use items::{
    Annotation, ContentPart, FileSearchCall, FileSearchResult, FunctionCall, FunctionCallOutput, Item, McpApprovalRequest,
    McpApprovalResponse, McpCall, McpListTools, McpTool, MessageContent, MessageItem, Role, WebSearchCall,
};
