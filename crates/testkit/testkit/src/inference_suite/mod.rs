//! The one conformance suite of the inference API: scenario functions taking
//! `&dyn InferenceProvider`, and [`inference_conformance!`](crate::inference_conformance) to turn
//! them into one test each inside a provider crate, gated by the provider's own
//! [`InferenceProvider::capabilities`] (the description the router checks), read through
//! [`Capabilities::of`].
//!
//! ```ignore
//! // providers/inference/remote-foo/tests/conformance.rs
//! lls_testkit::inference_conformance!(async {
//!     let mock = MockOpenAi::builder().models(["mock-llm", "mock-embed"]).start().await.unwrap();
//!     let provider: Arc<dyn InferenceProvider> = Arc::new(FooProvider::new(&mock.base_url()));
//!     Harness { caps: Capabilities::of(&*provider).with_failure_injection(), provider,
//!               llm: "mock-llm".into(), embedding: "mock-embed".into(), _guard: Box::new(mock) }
//! });
//! ```

mod calls;
mod chat;
mod completion;
mod embeddings;
mod models;

pub use chat::{
    chat_json_schema, chat_logprobs, chat_max_tokens, chat_n2, chat_non_stream, chat_stream,
    chat_tools, chat_tools_stream,
};
pub use completion::{completion_logprobs, completion_non_stream, completion_stream};
pub use embeddings::{embeddings_base64, embeddings_multiple, embeddings_single};
pub use models::{error_propagation, list_models, unknown_model};

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::ensure;
use lls_api_inference::{Capabilities as ApiCapabilities, InferenceProvider};

pub use crate::scenario::{Outcome, ScenarioResult, TestResult};
use crate::scenario::{Runtime, Scenario, Suite, require};

/// What the suite exercises for a provider under test; scenarios needing more are skipped, not
/// failed. `provider` is the provider's own description ([`Capabilities::of`]), possibly
/// narrowed for what the test environment lacks ([`Capabilities::except`]: no weights here),
/// never widened: `scenario_count` checks it lies within what the provider declares
/// ([`checked_capabilities`]). Reads of `caps.chat`, `caps.tools`, … go to `provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// What the provider does (chat false: its chat must be refused with a 4xx error).
    pub provider: ApiCapabilities,
    /// The backend fails on the model names of [`lls_fake_model::failure`] (`error-429`, `midstream-error`):
    /// true for the fake and for providers pointed at the mock server.
    pub failure_injection: bool,
}

impl std::ops::Deref for Capabilities {
    type Target = ApiCapabilities;

    fn deref(&self) -> &ApiCapabilities {
        &self.provider
    }
}

impl Capabilities {
    /// What `provider` says it supports, without failure injection.
    pub fn of(provider: &dyn InferenceProvider) -> Self {
        Capabilities {
            provider: provider.capabilities(),
            failure_injection: false,
        }
    }

    /// The backend fails on request (the fake, the mock server).
    pub fn with_failure_injection(mut self) -> Self {
        self.failure_injection = true;
        self
    }

    /// Leaves out what the test environment cannot exercise (e.g. weights not installed).
    pub fn except(mut self, narrow: impl FnOnce(&mut ApiCapabilities)) -> Self {
        narrow(&mut self.provider);
        self
    }

    /// Fixed capabilities, for the suite's own tests.
    pub fn from_api(provider: ApiCapabilities) -> Self {
        Capabilities {
            provider,
            failure_injection: false,
        }
    }
}

/// What a provider crate's setup gives the suite. `_guard` keeps whatever the provider needs
/// alive for the test (a [`crate::MockOpenAi`], a temp dir); `()` when nothing.
pub struct Harness {
    pub provider: Arc<dyn InferenceProvider>,
    /// A chat model id as the provider knows it.
    pub llm: String,
    /// An embedding model id (unused without `caps.embeddings`).
    pub embedding: String,
    pub caps: Capabilities,
    pub _guard: Box<dyn Any + Send>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("llm", &self.llm)
            .field("embedding", &self.embedding)
            .field("caps", &self.caps)
            .finish()
    }
}

/// The suite: every scenario and the capabilities it needs (the scenarios
/// [`inference_conformance!`](crate::inference_conformance) must generate), each run on a fresh
/// single-threaded runtime (what `#[tokio::test]` gives) for at most two minutes, setup
/// included: real backends answer well within it.
pub const SUITE: Suite<Capabilities> = Suite {
    api: "inference",
    scenarios: &[
        Scenario {
            name: "chat_non_stream",
            runs_with: |c| c.chat,
        },
        Scenario {
            name: "chat_stream",
            runs_with: |c| c.chat,
        },
        Scenario {
            name: "chat_tools",
            runs_with: |c| c.chat && c.tools,
        },
        Scenario {
            name: "chat_tools_stream",
            runs_with: |c| c.chat && c.tools,
        },
        Scenario {
            name: "chat_json_schema",
            runs_with: |c| c.chat && c.structured_output,
        },
        Scenario {
            name: "chat_n2",
            runs_with: |c| c.chat,
        },
        Scenario {
            name: "chat_logprobs",
            runs_with: |c| c.chat && c.logprobs,
        },
        Scenario {
            name: "chat_max_tokens",
            runs_with: |c| c.chat,
        },
        Scenario {
            name: "completion_non_stream",
            runs_with: |c| c.completions,
        },
        Scenario {
            name: "completion_stream",
            runs_with: |c| c.completions,
        },
        Scenario {
            name: "completion_logprobs",
            runs_with: |c| c.completions && c.logprobs,
        },
        Scenario {
            name: "embeddings_single",
            runs_with: |c| c.embeddings,
        },
        Scenario {
            name: "embeddings_multiple",
            runs_with: |c| c.embeddings,
        },
        Scenario {
            name: "embeddings_base64",
            runs_with: |c| c.embeddings && c.embeddings_base64,
        },
        Scenario::always("list_models"),
        Scenario::always("unknown_model"),
        Scenario {
            name: "error_propagation",
            runs_with: |c| c.failure_injection,
        },
    ],
    timeout: Duration::from_secs(120),
    runtime: Runtime::CurrentThread,
};

/// Runs one scenario as the generated tests do ([`Suite::run`] of [`SUITE`]), for provider
/// crates that also run some scenarios on their own terms.
pub fn run(name: &str, scenario: impl Future<Output = ScenarioResult>) -> TestResult {
    SUITE.run(name, scenario)
}

/// The harness's capabilities, for the `scenario_count` test; an error when they claim more than
/// its provider's [`InferenceProvider::capabilities`] declare.
pub fn checked_capabilities(harness: &Harness) -> anyhow::Result<Capabilities> {
    within_declared(harness.caps, harness.provider.capabilities())
}

fn within_declared(caps: Capabilities, declared: ApiCapabilities) -> anyhow::Result<Capabilities> {
    ensure!(
        caps.provider.within(&declared),
        "the harness claims {:?}, more than the provider's capabilities() declare ({declared:?})",
        caps.provider
    );
    Ok(caps)
}

/// Expands into one `#[test]` per scenario of the inference suite (each on its own tokio
/// runtime, as `#[tokio::test]` would; the calling crate needs no tokio dependency), inside a
/// module `inference_conformance`, plus a `scenario_count` test ([`Suite::check_scenario_count`]
/// with [`checked_capabilities`]). `$setup` is an async block evaluating to a [`Harness`]; it
/// runs anew for every test.
#[macro_export]
macro_rules! inference_conformance {
    ($setup:expr $(,)?) => {
        $crate::__conformance_tests!(
            mod inference_conformance, suite inference_suite, setup $setup,
            |h: $crate::inference_suite::Harness| (&*h.provider, &h.llm, &h.embedding, &h.caps),
            features $crate::inference_suite::checked_capabilities(&h);
            chat_non_stream,
            chat_stream,
            chat_tools,
            chat_tools_stream,
            chat_json_schema,
            chat_n2,
            chat_logprobs,
            chat_max_tokens,
            completion_non_stream,
            completion_stream,
            completion_logprobs,
            embeddings_single,
            embeddings_multiple,
            embeddings_base64,
            list_models,
            unknown_model,
            error_propagation,
        );
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_harness_cannot_claim_more_than_its_provider_declares() {
        let claimed = Capabilities::from_api(ApiCapabilities::all());
        let e = within_declared(claimed, ApiCapabilities::embeddings_only()).unwrap_err();
        assert!(
            e.to_string()
                .contains("more than the provider's capabilities() declare"),
            "{e}"
        );
        let narrowed = claimed.except(|c| *c = ApiCapabilities::embeddings_only());
        assert_eq!(
            within_declared(narrowed, ApiCapabilities::all()).unwrap(),
            narrowed
        );
    }

    #[test]
    fn the_usual_providers_run_some_scenarios() {
        let names: Vec<&str> = SUITE.scenarios.iter().map(|s| s.name).collect();
        for caps in [
            ApiCapabilities::all(),
            ApiCapabilities::chat_only(),
            ApiCapabilities::embeddings_only(),
        ] {
            let caps = Capabilities::from_api(caps);
            assert!(
                SUITE
                    .check_scenario_count(&names, async move { Ok(caps) })
                    .is_ok(),
                "{caps:?}"
            );
        }
    }
}
