//! Deterministic test doubles for every layer of llama-stack-rs, and the shared conformance suites.
//!
//! - [`mock_openai`]: an in-process OpenAI-compatible HTTP server (axum) for testing the
//!   OpenAI-like providers against real HTTP, SSE framing and injected failures; also a
//!   standalone binary (`lls-mock-openai`) for benchmarks.
//! - [`inference_suite`]: the one conformance suite of the inference API, turned into tests
//!   inside each provider crate by [`inference_conformance!`].
//! - [`fake_vector_io`]: an in-memory brute-force [`lls_api_vector_io::VectorIo`] with vector and
//!   keyword search, for the vector stores service's tests.
//! - [`vector_io_suite`]: the conformance suite of the vector_io API, turned into tests inside
//!   each vector database provider crate by [`vector_io_conformance!`].
//!
//! - [`fake_tool_runtime`]: a [`lls_api_tool_runtime::ToolRuntimeProvider`] without network, and
//!   [`mcp_server`]: a real MCP server (rmcp; SSE and streamable HTTP) for MCP clients.
//! - [`tool_runtime_suite`]: the conformance suite of the tool runtime API, turned into tests
//!   inside each tool runtime provider crate by [`tool_runtime_conformance!`].
//!
//! - [`files_suite`]: the conformance suite of the files API, turned into tests inside each
//!   files provider crate by [`files_conformance!`].
//! - [`scenario`]: the one scenario runner behind the four suites: the [`scenario::Suite`]
//!   description (scenario table, timeout, runtime), running a scenario with skips reported,
//!   the `scenario_count` check, and the generator each suite's macro delegates to.
//! - [`stores`]: real (in-memory SQLite) kv and SQL stores for provider tests.
//! - [`callers`]: request contexts acting for an authenticated user under the default or a
//!   custom access policy ([`caller_ctx`]).
//! - [`prerequisite`]: tests needing a server or model weights fail when they are missing,
//!   unless opted out by name (`LLS_TEST_NO_POSTGRES=1`, `LLS_TEST_NO_MODELS=1`), loudly.
//! - [`issuers`]: real token issuers for the `server.auth` validators (JWKS with keys made at
//!   test time, RFC 7662 introspection, a `custom` endpoint, Kubernetes, GitHub).
//! - [`responses_suite`]: the conformance suite of the Responses API (agents providers), with
//!   [`agent_doubles`] (vector stores and search tools the agents provider calls).
//! - [`fms_mock`]: the FMS guardrails detector and orchestrator APIs (axum), flagging trigger
//!   words, for the `remote::trustyai_fms` safety provider's tests.
//! - [`websearch_mock`]: the Tavily and Brave search APIs (axum) with results derived from
//!   the query, for the `remote::tavily-search` and `remote::brave-search` tool runtimes, and
//!   [`websearch_suite`]: the scenarios both must pass against it ([`websearch_scenarios!`]).
//! - [`azure_mock`]: Azure OpenAI's data plane (both URL layouts, `api-key`, `api-version`
//!   rules, content filter results and errors), for `remote::azure` and `openai.AzureOpenAI`.
//! - [`bedrock_mock`]: Amazon Bedrock (Converse, ConverseStream in AWS's event-stream framing,
//!   InvokeModel for Titan and Cohere embeddings, ListFoundationModels), verifying SigV4
//!   signatures, for `remote::bedrock` and boto3.
//! - [`ollama_mock`]: an Ollama server (the OpenAI mock under `/v1` plus `/api/tags`,
//!   `/api/ps`), for `remote::ollama`.
//! - [`watsonx_mock`]: IBM watsonx.ai (chat, generation, embeddings, model specs; SSE as
//!   watsonx frames it) and the IBM Cloud IAM token exchange it needs, for `remote::watsonx`.
//! - [`vertex_mock`]: Google Vertex AI's OpenAI-compatible endpoint with Google's OAuth token
//!   endpoint (service-account JWT assertions checked, expiring tokens) and the metadata
//!   server, for `remote::vertexai` and Google's `google-auth`.
//! - [`registered`]: a provider built from its descriptor and config behind the real call
//!   layers, as the server builds it.
//!
//! The mock and the fake inference provider (`inline::fake`) answer alike because both call
//! `lls-fake-model` (what "the model" says, hashed embeddings, schema-shaped documents, and the
//! model names that inject failures).

pub mod agent_doubles;
pub mod azure_mock;
pub mod batches_suite;
pub mod bedrock_mock;
pub mod callers;
pub mod fake_chat;
pub mod fake_guard;
pub mod fake_inference;
pub mod fake_tool_runtime;
pub mod fake_vector_io;
pub mod files_suite;
pub mod fms_mock;
pub mod inference_suite;
pub mod issuers;
mod local_server;
pub mod mcp_server;
pub mod memory_files;
pub mod mock_openai;
pub mod ollama_mock;
pub mod prerequisite;
pub mod registered;
pub mod responses_suite;
pub mod safety_suite;
pub mod sample_config;
pub mod scenario;
pub mod stores;
pub mod tool_runtime_suite;
pub mod vector_io_suite;
pub mod vertex_mock;
pub mod watsonx_mock;
pub mod websearch_mock;
pub mod websearch_suite;

pub use azure_mock::AzureMock;
pub use bedrock_mock::{BedrockMock, BedrockModel};
pub use callers::caller_ctx;
pub use fake_tool_runtime::FakeToolRuntime;
pub use fake_vector_io::FakeVectorIo;
pub use files_suite::FilesHarness;
pub use fms_mock::{FmsMock, Trigger};
pub use inference_suite::{Capabilities, Harness};
pub use mcp_server::TestMcpServer;
pub use mock_openai::{MockConfig, MockOpenAi, RecordedRequest};
pub use ollama_mock::OllamaMock;
pub use prerequisite::Prerequisite;
pub use sample_config::expand_sample_config;
pub use tool_runtime_suite::ToolHarness;
pub use vector_io_suite::VectorIoHarness;
pub use vertex_mock::{KeyFile, VertexMock};
pub use watsonx_mock::{WatsonxMock, WatsonxModel};
pub use websearch_mock::WebSearchMock;
