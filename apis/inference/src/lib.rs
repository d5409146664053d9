//! The inference API: OpenAI-compatible request and response types for chat completions,
//! completions and embeddings, and the traits that providers and the router implement.
//!
//! Requests parse what routing and validation need and carry every other field through
//! untouched in an `extra` map, so new OpenAI fields reach the backend without a release.
//! Answers from HTTP backends stay the backend's bytes ([`Answer::Json`]), so every field it
//! sent reaches the client; the router only rewrites `model`.

mod answer;
pub mod capabilities;
pub mod chat;
pub mod completion;
pub mod embeddings;
pub mod limits;
mod provider;
mod spec;

pub use answer::{Answer, AnswerType, Field, InvalidJson, JsonObject};
pub use capabilities::{Capabilities, Capability};
pub use chat::*;
pub use completion::*;
pub use embeddings::*;
pub use provider::{ChunkStream, Inference, InferenceProvider, Output};
pub use spec::InferenceApi;

#[doc(hidden)]
pub use lls_api_common as __common;
