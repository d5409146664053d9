//! `inline::reference`: the batches provider. OpenAI's Batches API over the stack's files,
//! inference and models APIs: a batch's JSONL input is validated line by line, its requests
//! run in the background with bounded concurrency, progress is flushed to the provider's kv
//! store (a restart or another replica resumes the batch without rerunning what finished), and
//! the results and errors become JSONL files of the files API in OpenAI's line format.
//! `/v1/responses` batches run through the agents API when the stack serves it.
#![doc = include_str!("../README.md")]

mod config;
mod input;
mod provider;
mod records;
mod run;

pub use config::{
    DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_REQUESTS, ReferenceBatchesConfig, ResponseBody,
};
pub use provider::{Parts, RESOURCE_TYPE, ReferenceBatches};

pub const PROVIDER_TYPE: &str = "inline::reference";

/// The run.yaml `config:` block `list-providers` and the docs show (upstream's defaults).
pub const SAMPLE_CONFIG: &str = "kvstore:
  backend: kv_default
  namespace: batches
max_concurrent_batches: 1
max_concurrent_requests_per_batch: 10
";

lls_api_batches::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Llama Stack's reference batches implementation: OpenAI batch files run through the inference API in the background (durable: resumed after a restart, one replica per batch), results and errors written as JSONL files of the files API.",
    sample_config: SAMPLE_CONFIG,
    config: ReferenceBatchesConfig,
    deps: [lls_api_inference::InferenceApi, lls_api_files::FilesApi, lls_api_models::ModelsApi],
    optional_deps: [lls_api_agents::AgentsApi],
    build: ReferenceBatches::build,
}
