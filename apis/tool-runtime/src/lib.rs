//! The tool runtime API of Llama Stack 0.3.5: tool groups (a routable resource), the tools a
//! group offers (`ToolDef`), invocation results, and the traits the router and providers implement.
//!
//! Wire shapes follow 0.3.5 exactly: every optional field is present (as `null`) when unset,
//! as pydantic writes it.

mod content;
pub mod limits;
mod provider;
mod rag;
mod spec;
mod types;

pub use content::{ContentItem, ImageSource, InterleavedContent};
pub use provider::{DEFAULT_LIST_TIMEOUT, ToolRuntime, ToolRuntimeProvider};
pub use spec::ToolRuntimeApi;

#[doc(hidden)]
pub use lls_api_common as __common;
pub use rag::{
    DEFAULT_CHUNK_TEMPLATE, INSERT_INTO_MEMORY, KNOWLEDGE_SEARCH, QueryGeneratorConfig,
    RagDocument, RagDocumentContent, RagInsertRequest, RagQueryConfig, RagQueryRequest,
    RagQueryResult, RagRanker, RagSearchMode, RagTool,
};
pub use types::{
    InvokeToolRequest, ListToolDefsResponse, ListToolGroupsResponse, McpEndpoint,
    RegisterToolGroupRequest, TOOL_GROUP_RESOURCE, ToolDef, ToolGroup, ToolInvocationResult,
};
