//! The shared inference conformance suite, run against the in-process OpenAI mock.
//!
//! vLLM lists every model as `llm` (it does not say which models embed), so the harness
//! leaves out the provider's embeddings, which the suite's `list_models` would otherwise check;
//! the embedding scenarios run below on their own, with everything the provider declares.
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use lls_inference_remote_vllm::{VllmConfig, VllmProvider};
use lls_testkit::inference_suite::{self, Outcome};
use lls_testkit::{Capabilities, Harness, MockOpenAi};

async fn harness() -> Harness {
    let mock = MockOpenAi::builder().models(["mock-llm", "mock-embed"]).start().await.expect("mock starts");
    let provider = VllmProvider::new("vllm", VllmConfig::new(mock.base_url())).expect("provider builds");
    Harness {
        caps: Capabilities::of(&provider).with_failure_injection().except(|c| c.embeddings = false),
        provider: Arc::new(provider),
        llm: "mock-llm".into(),
        embedding: "mock-embed".into(),
        _guard: Box::new(mock),
    }
}

lls_testkit::inference_conformance!(harness());

macro_rules! embedding_scenarios {
    ($($name:ident),+ $(,)?) => {$(
        #[test]
        fn $name() -> inference_suite::TestResult {
            inference_suite::run(stringify!($name), async {
                let h = harness().await;
                let caps = Capabilities::of(&*h.provider).with_failure_injection();
                let outcome = inference_suite::$name(&*h.provider, &h.llm, &h.embedding, &caps).await?;
                Ok(require_passed(stringify!($name), outcome)?)
            })
        }
    )+};
}

/// These scenarios are run for their own sake here: a skip would hide a gap.
fn require_passed(name: &str, outcome: Outcome) -> Result<Outcome, std::io::Error> {
    match outcome {
        Outcome::Passed => Ok(outcome),
        Outcome::Skipped(what) => Err(std::io::Error::other(format!("{name} was skipped for lack of {what}"))),
    }
}

embedding_scenarios!(embeddings_single, embeddings_multiple, embeddings_base64);
