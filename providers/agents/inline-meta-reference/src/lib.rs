//! `inline::meta-reference`: the agents provider. It implements OpenAI's Responses API over the
//! stack's other APIs: one engine runs the model↔tool loop for streaming and non-streaming
//! requests, emits the 36 streaming events, and stores responses (and conversation turns).
#![doc = include_str!("../README.md")]

mod config;
mod engine;
mod input;
mod legacy;
mod provider;
mod store;

pub use config::{MetaReferenceConfig, Persistence};
pub use engine::{Deps, Engine};
pub use provider::MetaReference;
pub use store::{ResponsesStore, StoredResponse};

pub const PROVIDER_TYPE: &str = "inline::meta-reference";

/// The run.yaml `config:` block `list-providers` and the docs show (upstream's defaults).
pub const SAMPLE_CONFIG: &str = "persistence:
  agent_state:
    namespace: agents
    backend: kv_default
  responses:
    table_name: responses
    backend: sql_default
    max_write_queue_size: 10000
    num_writers: 4
";

lls_api_agents::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Meta's reference agents implementation: the OpenAI Responses API (model and tool loop, file_search, web_search, MCP, guardrails, stored responses) over the stack's inference, tool runtime, vector stores, safety, conversations and prompts APIs.",
    sample_config: SAMPLE_CONFIG,
    config: MetaReferenceConfig,
    deps: [lls_api_inference::InferenceApi],
    optional_deps: [lls_api_tool_runtime::ToolRuntimeApi, lls_api_vector_io::VectorIoApi, lls_api_safety::SafetyApi, lls_api_conversations::ConversationsApi, lls_api_prompts::PromptsApi],
    build: MetaReference::build,
}
