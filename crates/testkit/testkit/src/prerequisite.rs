//! Tests that need something from outside the repository (a PostgreSQL server, model weights)
//! fail when it is missing: a test that passes without running hides a gap. A developer who
//! cannot provide it opts out by name (`LLS_TEST_NO_POSTGRES=1`, `LLS_TEST_NO_MODELS=1`), and
//! every test that then does not run says so on the process's stderr, past the test harness's
//! output capture, so the gap shows in every run.

use std::io::Write as _;

/// What a test needs, how to get it, and the env var that opts out of needing it.
#[derive(Debug, Clone, Copy)]
pub struct Prerequisite {
    /// What is missing, e.g. "PostgreSQL (LLS_TEST_POSTGRES_URL)".
    pub what: &'static str,
    /// How to provide it, e.g. "export LLS_TEST_POSTGRES_URL=$(scripts/postgres.sh start)".
    pub how: &'static str,
    /// The env var that, set to `1`, lets the tests needing it pass without running.
    pub opt_out: &'static str,
}

impl Prerequisite {
    /// Whether the developer opted out of this prerequisite.
    pub fn opted_out(&self) -> bool {
        std::env::var(self.opt_out).is_ok_and(|v| v == "1")
    }

    /// `found` when it is `Some`. When it is `None`: with the opt-out set, prints
    /// "NOT RUN: {test} ..." and returns `None` (the test then returns without running);
    /// otherwise fails the calling test with what is missing, why, and the two ways out.
    #[allow(clippy::panic)] // called from tests: failing the test is the point
    pub fn require<T>(&self, test: &str, found: Option<T>, why: &str) -> Option<T> {
        if found.is_some() {
            return found;
        }
        if self.opted_out() {
            let _ = writeln!(
                std::io::stderr(),
                "NOT RUN: {test}: {}=1 ({} missing)",
                self.opt_out,
                self.what
            );
            return None;
        }
        panic!(
            "{test} needs {}: {why}\n  provide it: {}\n  or set {}=1 to not run the tests that need it",
            self.what, self.how, self.opt_out
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THING: Prerequisite = Prerequisite {
        what: "a thing",
        how: "make one",
        opt_out: "LLS_TEST_NO_SUCH_THING_EVER",
    };

    #[test]
    fn present_is_returned() {
        assert_eq!(THING.require("t", Some(3), "why"), Some(3));
    }

    #[test]
    #[should_panic(expected = "t needs a thing: not here")]
    fn missing_fails_without_the_opt_out() {
        THING.require::<()>("t", None, "not here");
    }
}
