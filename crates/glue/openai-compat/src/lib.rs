//! The one OpenAI-compatible HTTP client and stream parser, reused by every OpenAI-like
//! inference provider (openai, vllm, and later azure, watsonx, vertex, ollama, ...).
//!
//! - [`OpenAiCompatClient`]: one pooled `reqwest` client per provider, built once; typed calls
//!   for chat completions, completions, embeddings and `GET /models`, plus generic
//!   [`OpenAiCompatClient::post_json`], [`OpenAiCompatClient::get_json`] and
//!   [`OpenAiCompatClient::post_stream`] for vendor endpoints. Requests are serialized as they
//!   are, so unknown fields reach the backend.
//! - API keys: the request's provider data (e.g. `openai_api_key`) overrides the configured key,
//!   which overrides a provider's [`TokenSource`] (OAuth2 access tokens); sent as a bearer token
//!   or in a vendor's header ([`KeyHeader`]). A vendor's [`ErrorHook`] reads its error answers
//!   before the generic table does.
//! - [`sse`]: server-sent events to typed chunks, forwarded as they arrive.
//! - [`error`]: the only place that knows vendor status codes and error bodies; every error
//!   names the provider.
//! - [`RemoteModel`]: the model listing glue OpenAI-like providers share; [`HttpTimeouts`]: the
//!   timeouts every OpenAI-like provider's config flattens in.

mod client;
mod config;
pub mod error;
mod models;
pub mod sse;

pub use client::OpenAiCompatClient;
pub use config::{ClientConfig, ErrorHook, HttpTimeouts, KeyHeader, TlsVerify, TokenSource, optional_secret};
pub use error::{Credential, HttpFailure};
pub use models::{ModelList, RemoteModel};
