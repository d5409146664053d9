//! The starter distribution's integration tests: the HTTP API in process, and the binary as a process.
//!
//! One test binary for the crate (one compile and one link in CI); each module was once a
//! target of its own.

// The starter's services (and the providers its features select), and the providers the tests
// name in their run.yaml files that are dev-dependencies only.
extern crate lls_distribution_starter as _;

extern crate lls_files_inline_localfs as _;
extern crate lls_inference_inline_fake as _;
extern crate lls_inference_inline_sentence_transformers as _;
extern crate lls_inference_remote_vllm as _;
extern crate lls_tool_runtime_inline_rag_runtime as _;
extern crate lls_tool_runtime_remote_model_context_protocol as _;
extern crate lls_vector_io_inline_sqlite_vec as _;

mod support;

mod auth;
mod auth_switch;
mod capabilities;
mod edge;
mod files;
mod http;
mod legacy_agents;
mod limits;
mod outbound;
mod process;
mod providers;
mod quota;
mod rag_tool;
mod responses_engine;
mod slow_tools;
mod tools;
mod traces;
mod websearch;
