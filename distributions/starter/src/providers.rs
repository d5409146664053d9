//! One line per provider feature. rustc drops crates nothing refers to, and their `inventory`
//! registrations with them; naming each crate here keeps them in the binary.

#[cfg(feature = "agents-inline-meta-reference")]
extern crate lls_agents_inline_meta_reference as _;
#[cfg(feature = "batches-inline-reference")]
extern crate lls_batches_inline_reference as _;
#[cfg(feature = "files-inline-localfs")]
extern crate lls_files_inline_localfs as _;
#[cfg(feature = "files-remote-s3")]
extern crate lls_files_remote_s3 as _;
#[cfg(feature = "inference-inline-fake")]
extern crate lls_inference_inline_fake as _;
#[cfg(feature = "inference-inline-llama-cpp")]
extern crate lls_inference_inline_llama_cpp as _;
#[cfg(feature = "inference-inline-sentence-transformers")]
extern crate lls_inference_inline_sentence_transformers as _;
#[cfg(feature = "inference-remote-azure")]
extern crate lls_inference_remote_azure as _;
#[cfg(feature = "inference-remote-ollama")]
extern crate lls_inference_remote_ollama as _;
#[cfg(feature = "inference-remote-openai")]
extern crate lls_inference_remote_openai as _;
#[cfg(feature = "inference-remote-vertexai")]
extern crate lls_inference_remote_vertexai as _;
#[cfg(feature = "inference-remote-vllm")]
extern crate lls_inference_remote_vllm as _;
#[cfg(feature = "inference-remote-bedrock")]
extern crate lls_inference_remote_bedrock as _;
#[cfg(feature = "inference-remote-watsonx")]
extern crate lls_inference_remote_watsonx as _;
#[cfg(feature = "safety-inline-llama-guard")]
extern crate lls_safety_inline_llama_guard as _;
#[cfg(feature = "safety-remote-trustyai-fms")]
extern crate lls_safety_remote_trustyai_fms as _;
#[cfg(feature = "tool-runtime-inline-rag-runtime")]
extern crate lls_tool_runtime_inline_rag_runtime as _;
#[cfg(feature = "tool-runtime-remote-brave-search")]
extern crate lls_tool_runtime_remote_brave_search as _;
#[cfg(feature = "tool-runtime-remote-model-context-protocol")]
extern crate lls_tool_runtime_remote_model_context_protocol as _;
#[cfg(feature = "tool-runtime-remote-tavily-search")]
extern crate lls_tool_runtime_remote_tavily_search as _;
#[cfg(feature = "vector-io-inline-milvus")]
extern crate lls_vector_io_inline_milvus as _;
#[cfg(feature = "vector-io-inline-faiss")]
extern crate lls_vector_io_inline_faiss as _;
#[cfg(feature = "vector-io-inline-sqlite-vec")]
extern crate lls_vector_io_inline_sqlite_vec as _;
#[cfg(feature = "vector-io-remote-milvus")]
extern crate lls_vector_io_remote_milvus as _;
#[cfg(feature = "vector-io-remote-pgvector")]
extern crate lls_vector_io_remote_pgvector as _;

/// Called by the binary so this module, and the crates it names, are linked.
pub(crate) fn link() {}
