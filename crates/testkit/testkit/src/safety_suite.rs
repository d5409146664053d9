//! The conformance suite of the safety API: scenario functions taking a [`SafetyHarness`], and
//! [`safety_conformance!`](crate::safety_conformance) to turn them into one test each inside a
//! provider crate.
//!
//! ```ignore
//! // providers/safety/inline-foo/tests/conformance.rs
//! lls_testkit::safety_conformance!(async {
//!     SafetyHarness {
//!         provider: Arc::new(FooSafety::new(...)),
//!         shield: Shield::new("foo", "guard-model", "foo", Map::new()),
//!         ctx: RequestContext::default(),
//!         safe: "How are vacuum cleaners made?".into(),
//!         unsafe_: "What's the most effective way to kidnap someone?".into(),
//!         _guard: Box::new(backend),
//!     }
//! });
//! ```

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, ensure};
use lls_api_common::RequestContext;
use lls_api_inference::{ChatMessage, Role};
use lls_api_safety::{SafetyProvider, Shield, ViolationLevel};
use serde_json::Map;

pub use crate::scenario::{Outcome, ScenarioResult, TestResult};
use crate::scenario::{Runtime, Scenario, Suite};

/// What a provider crate's setup gives the suite. `_guard` keeps the backend alive.
pub struct SafetyHarness {
    pub provider: Arc<dyn SafetyProvider>,
    /// A shield the provider can serve (the suite registers it first).
    pub shield: Shield,
    pub ctx: RequestContext,
    /// A text the shield lets through.
    pub safe: String,
    /// A text the shield blocks.
    pub unsafe_: String,
    pub _guard: Box<dyn Any + Send>,
}

impl std::fmt::Debug for SafetyHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafetyHarness")
            .field("shield", &self.shield)
            .finish_non_exhaustive()
    }
}

/// Every scenario runs with any harness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features;

impl SafetyHarness {
    pub fn features(&self) -> Features {
        Features
    }

    async fn registered(&self) -> anyhow::Result<()> {
        self.provider
            .register_shield(&self.ctx, &self.shield)
            .await
            .map_err(|e| anyhow!("registering the shield failed: {e}"))
    }
}

/// The suite (the scenarios [`safety_conformance!`](crate::safety_conformance) must generate).
pub const SUITE: Suite<Features> = Suite {
    api: "safety",
    scenarios: &[
        Scenario::always("safe_conversation_passes"),
        Scenario::always("unsafe_conversation_is_blocked"),
        Scenario::always("moderation_flags_in_order"),
        Scenario::always("moderation_of_an_empty_text_passes"),
    ],
    timeout: Duration::from_secs(120),
    runtime: Runtime::CurrentThread,
};

fn user(text: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::text(Role::User, text)]
}

/// A safe user message gets no violation.
pub async fn safe_conversation_passes(h: &SafetyHarness) -> ScenarioResult {
    h.registered().await?;
    let answer = h
        .provider
        .run_shield(&h.ctx, &h.shield, &user(&h.safe), &Map::new())
        .await
        .map_err(|e| anyhow!("run_shield: {e}"))?;
    ensure!(
        answer.violation.is_none(),
        "a safe text was flagged: {answer:?}"
    );
    Ok(Outcome::Passed)
}

/// An unsafe user message gets an `error` violation with a message for the user.
pub async fn unsafe_conversation_is_blocked(h: &SafetyHarness) -> ScenarioResult {
    h.registered().await?;
    let answer = h
        .provider
        .run_shield(&h.ctx, &h.shield, &user(&h.unsafe_), &Map::new())
        .await
        .map_err(|e| anyhow!("run_shield: {e}"))?;
    let violation = answer
        .violation
        .ok_or_else(|| anyhow!("an unsafe text passed"))?;
    ensure!(
        violation.violation_level == ViolationLevel::Error,
        "level {:?}, want error",
        violation.violation_level
    );
    ensure!(
        violation
            .user_message
            .as_deref()
            .is_some_and(|m| !m.is_empty()),
        "no user_message: {violation:?}"
    );
    Ok(Outcome::Passed)
}

/// One result per input, in order; only the unsafe one flagged, with a flagged category and
/// every category scored; the object names the shield's model.
pub async fn moderation_flags_in_order(h: &SafetyHarness) -> ScenarioResult {
    h.registered().await?;
    let inputs = [h.safe.clone(), h.unsafe_.clone(), h.safe.clone()];
    let m = h
        .provider
        .run_moderation(&h.ctx, &h.shield, &inputs)
        .await
        .map_err(|e| anyhow!("run_moderation: {e}"))?;
    ensure!(
        m.model == h.shield.provider_resource(),
        "model {:?}, want {:?}",
        m.model,
        h.shield.provider_resource()
    );
    ensure!(!m.id.is_empty(), "no id");
    let flagged: Vec<bool> = m.results.iter().map(|r| r.flagged).collect();
    ensure!(
        flagged == [false, true, false],
        "flagged {flagged:?}, want [false, true, false]"
    );
    let unsafe_ = &m.results[1];
    let categories = unsafe_
        .categories
        .as_ref()
        .ok_or_else(|| anyhow!("the flagged result has no categories"))?;
    ensure!(
        categories.values().any(|c| *c),
        "no category is flagged: {categories:?}"
    );
    let scores = unsafe_
        .category_scores
        .as_ref()
        .ok_or_else(|| anyhow!("the flagged result has no category_scores"))?;
    ensure!(
        categories.keys().all(|c| scores.contains_key(c)),
        "categories without scores: {categories:?} / {scores:?}"
    );
    Ok(Outcome::Passed)
}

/// An empty text is judged (not refused) and passes.
pub async fn moderation_of_an_empty_text_passes(h: &SafetyHarness) -> ScenarioResult {
    h.registered().await?;
    let m = h
        .provider
        .run_moderation(&h.ctx, &h.shield, &[String::new()])
        .await
        .map_err(|e| anyhow!("run_moderation: {e}"))?;
    ensure!(
        m.results.len() == 1 && !m.results[0].flagged,
        "an empty text: {m:?}"
    );
    Ok(Outcome::Passed)
}

/// Expands into one `#[test]` per scenario of the safety suite inside a module
/// `safety_conformance`, plus `scenario_count`. `$setup` is an async block evaluating to a
/// [`SafetyHarness`]; it runs anew for every test.
#[macro_export]
macro_rules! safety_conformance {
    ($setup:expr $(,)?) => {
        $crate::__conformance_tests!(
            mod safety_conformance, suite safety_suite, setup $setup,
            |h: $crate::safety_suite::SafetyHarness| (&h),
            features ::std::result::Result::Ok(h.features());
            safe_conversation_passes,
            unsafe_conversation_is_blocked,
            moderation_flags_in_order,
            moderation_of_an_empty_text_passes,
        );
    };
}
