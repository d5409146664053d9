//! The inference conformance suite against the fake, which has every capability.

use std::sync::Arc;

use lls_inference_inline_fake::{FAKE_EMBEDDING, FAKE_LLM, FakeConfig, FakeInference};
use lls_api_inference::InferenceProvider;
use lls_testkit::{Capabilities, Harness};

lls_testkit::inference_conformance!(async {
    let provider: Arc<dyn InferenceProvider> = Arc::new(FakeInference::new(FakeConfig::default()));
    Harness {
        caps: Capabilities::of(&*provider).with_failure_injection(),
        provider,
        llm: FAKE_LLM.into(),
        embedding: FAKE_EMBEDDING.into(),
        _guard: Box::new(()),
    }
});
