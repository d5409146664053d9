//! Routing: the models table (registration, discovery, lookup), the inference router that sends
//! each request to the provider owning its model, and the store of chat completions.

mod inference_router;
mod inference_store;
mod models_table;
mod stack;
mod stream;

pub use inference_router::InferenceRouter;
pub use inference_store::{InferenceStore, ListChatCompletions, StoredChatCompletion};
pub use models_table::ModelsTable;
pub use stack::Stack;
