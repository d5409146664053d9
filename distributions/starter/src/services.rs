//! One line per API service this distribution serves. Like providers, services register
//! through `inventory`; naming each crate here keeps it (and its registration) in the binary.

extern crate lls_service_agents as _;
extern crate lls_service_batches as _;
extern crate lls_service_conversations as _;
extern crate lls_service_files as _;
extern crate lls_service_inference as _;
extern crate lls_service_prompts as _;
extern crate lls_service_safety as _;
extern crate lls_service_tool_runtime as _;
extern crate lls_service_vector_io as _;

/// Called by the binary so this module, and the crates it names, are linked.
pub(crate) fn link() {}
