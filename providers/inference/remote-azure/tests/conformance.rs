//! The shared inference conformance suite, run against the test kit's Azure OpenAI mock, on
//! the v1 API (what 0.3.5 calls).
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use lls_api_common::OutboundPolicy;
use lls_inference_remote_azure::{AzureConfig, AzureProvider};
use lls_testkit::{AzureMock, Capabilities, Harness};

/// Deployed under OpenAI's model name, so the provider lists it as `embedding` with the
/// dimension the mock answers with.
const EMBEDDING: &str = "text-embedding-3-small";

async fn harness() -> Harness {
    let mock = AzureMock::start("k", &["mock-llm", EMBEDDING], 1536).await.expect("mock starts");
    let config = AzureConfig::new(mock.endpoint(), "k");
    let provider = AzureProvider::new("azure", config, Arc::new(OutboundPolicy::permissive())).expect("provider builds");
    Harness {
        caps: Capabilities::of(&provider).with_failure_injection(),
        provider: Arc::new(provider),
        llm: "mock-llm".into(),
        embedding: EMBEDDING.into(),
        _guard: Box::new(mock),
    }
}

lls_testkit::inference_conformance!(harness());
