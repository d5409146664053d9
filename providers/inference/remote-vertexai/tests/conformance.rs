//! The shared inference conformance suite, run against the test kit's Vertex AI mock with a
//! service-account key it issued (every call carries a token from its token endpoint).
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use lls_inference_remote_vertexai::{VertexAiConfig, VertexAiProvider};
use lls_testkit::{Capabilities, Harness, VertexMock};

async fn harness() -> Harness {
    let mock = VertexMock::builder().start().await.expect("mock starts");
    let key = mock.write_service_account().expect("key file");
    let mut config = VertexAiConfig::new(mock.project(), mock.location());
    config.base_url = Some(mock.endpoint());
    config.credentials_path = Some(key.path().to_string_lossy().into_owned());
    let provider = VertexAiProvider::new("vertexai", config).expect("provider builds");
    Harness {
        caps: Capabilities::of(&provider).with_failure_injection(),
        provider: Arc::new(provider),
        llm: "google/gemini-2.5-flash".into(),
        embedding: String::new(),
        _guard: Box::new((mock, key)),
    }
}

lls_testkit::inference_conformance!(harness());
