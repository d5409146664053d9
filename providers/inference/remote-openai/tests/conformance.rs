//! The shared inference conformance suite, run against the in-process OpenAI mock.
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use lls_api_common::Secret;
use lls_inference_remote_openai::{OpenAiConfig, OpenAiProvider};
use lls_testkit::{Capabilities, Harness, MockOpenAi};

/// The mock serves an OpenAI embedding model name (with its real dimension), so the provider
/// lists it as `embedding` with metadata that matches the vectors.
const EMBEDDING: &str = "text-embedding-3-small";

async fn harness() -> Harness {
    let mock = MockOpenAi::builder().api_key("k").models(["mock-llm", EMBEDDING]).embedding_dimension(1536).start().await.expect("mock starts");
    let config = OpenAiConfig { base_url: mock.base_url(), api_key: Some(Secret::new("k")), ..OpenAiConfig::default() };
    let provider = OpenAiProvider::new("openai", config).expect("provider builds");
    Harness {
        caps: Capabilities::of(&provider).with_failure_injection(),
        provider: Arc::new(provider),
        llm: "mock-llm".into(),
        embedding: EMBEDDING.into(),
        _guard: Box::new(mock),
    }
}

lls_testkit::inference_conformance!(harness());
