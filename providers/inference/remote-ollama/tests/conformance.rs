//! The shared inference conformance suite, run against the test kit's Ollama mock.
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use lls_inference_remote_ollama::{OllamaConfig, OllamaProvider};
use lls_testkit::{Capabilities, Harness, OllamaMock};

/// One of upstream's known embedding models, so the provider lists it as `embedding` with the
/// dimension (768) the mock answers with.
const EMBEDDING: &str = "nomic-embed-text:latest";

async fn harness() -> Harness {
    let mock = OllamaMock::start(&["llama3.2:3b", EMBEDDING], 768).await.expect("mock starts");
    let provider = OllamaProvider::new("ollama", OllamaConfig::new(mock.url())).expect("provider builds");
    Harness {
        caps: Capabilities::of(&provider).with_failure_injection(),
        provider: Arc::new(provider),
        llm: "llama3.2:3b".into(),
        embedding: EMBEDDING.into(),
        _guard: Box::new(mock),
    }
}

lls_testkit::inference_conformance!(harness());
