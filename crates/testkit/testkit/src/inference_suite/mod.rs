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
    chat_json_schema, chat_logprobs, chat_max_tokens, chat_n2, chat_non_stream, chat_stream, chat_tools,
    chat_tools_stream,
};
pub use completion::{completion_logprobs, completion_non_stream, completion_stream};
pub use embeddings::{embeddings_base64, embeddings_multiple, embeddings_single};
pub use models::{error_propagation, list_models, unknown_model};

use std::any::Any;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, ensure};
use lls_api_inference::{Capabilities as ApiCapabilities, InferenceProvider};

/// What the suite exercises for a provider under test; scenarios needing more are skipped, not
/// failed. `provider` is the provider's own description ([`Capabilities::of`]), possibly
/// narrowed for what the test environment lacks ([`Capabilities::except`]: no weights here),
/// never widened: `scenario_count` checks it lies within what the provider declares. Reads of
/// `caps.chat`, `caps.tools`, … go to `provider`.
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
        Capabilities { provider: provider.capabilities(), failure_injection: false }
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
        Capabilities { provider, failure_injection: false }
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
        f.debug_struct("Harness").field("llm", &self.llm).field("embedding", &self.embedding).field("caps", &self.caps).finish()
    }
}

/// How a scenario ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// The provider lacks the named capability.
    Skipped(&'static str),
}

/// What every scenario returns; an `Err` says what was wrong.
pub type ScenarioResult = anyhow::Result<Outcome>;

/// What the generated tests return.
pub type TestResult = anyhow::Result<()>;

/// A scenario of the suite and the capabilities it needs.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub name: &'static str,
    pub runs_with: fn(&Capabilities) -> bool,
}

fn always(_: &Capabilities) -> bool {
    true
}
fn chat(c: &Capabilities) -> bool {
    c.chat
}
fn tools(c: &Capabilities) -> bool {
    c.chat && c.tools
}
fn logprobs(c: &Capabilities) -> bool {
    c.chat && c.logprobs
}
fn structured(c: &Capabilities) -> bool {
    c.chat && c.structured_output
}
fn completions(c: &Capabilities) -> bool {
    c.completions
}
fn completion_logprobs_cap(c: &Capabilities) -> bool {
    c.completions && c.logprobs
}
fn embeddings_cap(c: &Capabilities) -> bool {
    c.embeddings
}
fn base64(c: &Capabilities) -> bool {
    c.embeddings && c.embeddings_base64
}
fn failures(c: &Capabilities) -> bool {
    c.failure_injection
}

/// Every scenario; [`inference_conformance!`](crate::inference_conformance) must generate
/// exactly these, which its `scenario_count` test checks.
pub const SCENARIOS: &[Scenario] = &[
    Scenario { name: "chat_non_stream", runs_with: chat },
    Scenario { name: "chat_stream", runs_with: chat },
    Scenario { name: "chat_tools", runs_with: tools },
    Scenario { name: "chat_tools_stream", runs_with: tools },
    Scenario { name: "chat_json_schema", runs_with: structured },
    Scenario { name: "chat_n2", runs_with: chat },
    Scenario { name: "chat_logprobs", runs_with: logprobs },
    Scenario { name: "chat_max_tokens", runs_with: chat },
    Scenario { name: "completion_non_stream", runs_with: completions },
    Scenario { name: "completion_stream", runs_with: completions },
    Scenario { name: "completion_logprobs", runs_with: completion_logprobs_cap },
    Scenario { name: "embeddings_single", runs_with: embeddings_cap },
    Scenario { name: "embeddings_multiple", runs_with: embeddings_cap },
    Scenario { name: "embeddings_base64", runs_with: base64 },
    Scenario { name: "list_models", runs_with: always },
    Scenario { name: "unknown_model", runs_with: always },
    Scenario { name: "error_propagation", runs_with: failures },
];

/// Longest a scenario may take, setup included; real backends answer well within it.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs one scenario on a fresh single-threaded runtime (what `#[tokio::test]` gives), with
/// [`SCENARIO_TIMEOUT`]; a skip is reported on stderr and passes.
pub fn run(name: &str, scenario: impl Future<Output = ScenarioResult>) -> TestResult {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("building a tokio runtime")?;
    let outcome = runtime
        .block_on(async { tokio::time::timeout(SCENARIO_TIMEOUT, scenario).await })
        .map_err(|_| anyhow!("scenario {name} timed out after {SCENARIO_TIMEOUT:?}"))?
        .with_context(|| format!("scenario {name} failed"))?;
    if let Outcome::Skipped(capability) = outcome {
        eprintln!("scenario {name} skipped: the provider lacks {capability}");
    }
    Ok(())
}

/// The `scenario_count` test: the macro generated every scenario of [`SCENARIOS`] and no other,
/// there is at least one, the harness claims no capability its provider does not declare, and
/// its capabilities leave at least one scenario enabled.
pub fn check_scenario_count(generated: &[&str], harness: impl Future<Output = Harness>) -> TestResult {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("building a tokio runtime")?;
    let harness = runtime.block_on(harness);
    check_scenarios(generated, harness.caps, harness.provider.capabilities())
}

/// [`check_scenario_count`] once the harness is built.
pub fn check_scenarios(generated: &[&str], caps: Capabilities, declared: ApiCapabilities) -> TestResult {
    ensure!(!generated.is_empty(), "the conformance suite generated no scenarios");
    let generated: BTreeSet<&str> = generated.iter().copied().collect();
    let known: BTreeSet<&str> = SCENARIOS.iter().map(|s| s.name).collect();
    ensure!(generated == known, "generated scenarios {generated:?} differ from the suite's {known:?}");
    ensure!(
        caps.provider.within(&declared),
        "the harness claims {:?}, more than the provider's capabilities() declare ({declared:?})",
        caps.provider
    );
    let enabled = SCENARIOS.iter().filter(|s| (s.runs_with)(&caps)).count();
    ensure!(enabled > 0, "no scenario runs with capabilities {caps:?}");
    eprintln!("inference conformance: {enabled} of {} scenarios run with {caps:?}", SCENARIOS.len());
    Ok(())
}

/// Expands into one `#[test]` per scenario of the inference suite (each on its own tokio
/// runtime, as `#[tokio::test]` would; the calling crate needs no tokio dependency), inside a
/// module `inference_conformance`, plus a `scenario_count` test. `$setup` is an async block
/// evaluating to a [`Harness`]; it runs anew for every test.
#[macro_export]
macro_rules! inference_conformance {
    ($setup:expr $(,)?) => {
        $crate::__inference_conformance_tests!(
            $setup;
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

#[doc(hidden)]
#[macro_export]
macro_rules! __inference_conformance_tests {
    ($setup:expr; $($name:ident),+ $(,)?) => {
        #[cfg(test)]
        mod inference_conformance {
            #[allow(unused_imports)]
            use super::*;

            $(
                #[test]
                fn $name() -> $crate::inference_suite::TestResult {
                    $crate::inference_suite::run(::std::stringify!($name), async {
                        let harness: $crate::inference_suite::Harness = ($setup).await;
                        $crate::inference_suite::$name(&*harness.provider, &harness.llm, &harness.embedding, &harness.caps)
                            .await
                    })
                }
            )+

            #[test]
            fn scenario_count() -> $crate::inference_suite::TestResult {
                $crate::inference_suite::check_scenario_count(&[$(::std::stringify!($name)),+], async {
                    let harness: $crate::inference_suite::Harness = ($setup).await;
                    harness
                })
            }
        }
    };
}

/// Skips the calling scenario unless the capability is there.
macro_rules! require {
    ($cond:expr, $what:literal) => {
        if !$cond {
            return Ok($crate::inference_suite::Outcome::Skipped($what));
        }
    };
}
pub(crate) use require;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn all_names() -> Vec<&'static str> {
        SCENARIOS.iter().map(|s| s.name).collect()
    }

    #[test]
    fn zero_or_drifted_scenario_lists_fail() {
        let all = Capabilities::from_api(ApiCapabilities::all());
        assert!(check_scenarios(&[], all, ApiCapabilities::all()).is_err());
        assert!(check_scenarios(&all_names()[1..], all, ApiCapabilities::all()).is_err());
        let chat = Capabilities::from_api(ApiCapabilities::chat_only());
        assert!(check_scenarios(&all_names(), chat, ApiCapabilities::chat_only()).is_ok());
        let embed = Capabilities::from_api(ApiCapabilities::embeddings_only());
        assert!(check_scenarios(&all_names(), embed, ApiCapabilities::embeddings_only()).is_ok());
    }

    #[test]
    fn a_harness_cannot_claim_more_than_its_provider_declares() {
        let claimed = Capabilities::from_api(ApiCapabilities::all());
        let e = check_scenarios(&all_names(), claimed, ApiCapabilities::embeddings_only()).unwrap_err();
        assert!(e.to_string().contains("more than the provider's capabilities() declare"), "{e}");
        let narrowed = claimed.except(|c| *c = ApiCapabilities::embeddings_only());
        assert!(check_scenarios(&all_names(), narrowed, ApiCapabilities::all()).is_ok());
    }

    #[test]
    fn skips_and_failures_are_reported() {
        assert!(run("s", async { Ok(Outcome::Skipped("tools")) }).is_ok());
        let err = run("s", async { Err(anyhow!("boom")) }).err().map(|e| format!("{e:#}"));
        assert_eq!(err.as_deref(), Some("scenario s failed: boom"));
    }
}
