//! Routing: the models table (registration, discovery, lookup), the inference router that sends
//! each request to the provider owning its model, and the store of chat completions; the tool
//! groups table and the tool runtime router that runs a tool through its group's provider.

mod inference_router;
mod inference_store;
mod models_table;
mod stack;
mod stream;
mod tool_groups;
mod tool_runtime_router;

pub use inference_router::InferenceRouter;
pub use inference_store::{InferenceStore, ListChatCompletions, StoredChatCompletion};
pub use models_table::ModelsTable;
pub use stack::Stack;
pub use tool_groups::ToolGroupsTable;
pub use tool_runtime_router::ToolRuntimeRouter;
