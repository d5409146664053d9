//! The inference conformance suite against the fake, which has every capability.

use std::sync::Arc;

use lls_inference_inline_fake::{FAKE_EMBEDDING, FAKE_LLM, FakeConfig, FakeInference};
use lls_testkit::{Capabilities, Harness};

lls_testkit::inference_conformance!(async {
    Harness {
        provider: Arc::new(FakeInference::new(FakeConfig::default())),
        llm: FAKE_LLM.into(),
        embedding: FAKE_EMBEDDING.into(),
        caps: Capabilities::all(),
        _guard: Box::new(()),
    }
});
