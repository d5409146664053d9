//! The one scenario runner behind every conformance suite of this crate.
//!
//! A suite is a [`Suite`]: its API's name, a table of [`Scenario`]s (each with what it needs of
//! the provider, read from the suite's features type `C`), a timeout, and the tokio runtime its
//! scenarios run on. A scenario is an async function returning a [`ScenarioResult`]: `Err` says
//! what was wrong, [`Outcome::Skipped`] names what the provider lacks (`require!` in the
//! scenarios of this crate).
//!
//! Each suite's public macro (`inference_conformance!`, …) hands its scenario names to one
//! generator, `__conformance_tests!`, which expands into one `#[test]` per scenario (run by
//! [`Suite::run`]: a fresh runtime, the timeout, skips reported on stderr) and a
//! `scenario_count` test ([`Suite::check_scenario_count`]: the macro generated exactly the
//! table's scenarios, and the harness's features leave at least one enabled).

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use anyhow::{Context, anyhow, ensure};

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

/// A scenario of a suite and what it needs of the provider, as the suite's features `C` say.
#[derive(Debug)]
pub struct Scenario<C: 'static> {
    pub name: &'static str,
    pub runs_with: fn(&C) -> bool,
}

impl<C> Scenario<C> {
    /// A scenario that runs with any features.
    pub const fn always(name: &'static str) -> Self {
        Scenario {
            name,
            runs_with: |_| true,
        }
    }
}

/// The tokio runtime a suite's scenarios (and its harness setup) run on, fresh for each test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// One thread, what `#[tokio::test]` gives.
    CurrentThread,
    /// That many worker threads, so concurrency scenarios really run in parallel and a provider
    /// blocking its worker shows.
    MultiThread { workers: usize },
}

/// A conformance suite: what its generated tests run and check.
#[derive(Debug)]
pub struct Suite<C: 'static> {
    /// The API under test, in reports (`inference`, `vector_io`, …).
    pub api: &'static str,
    /// Every scenario; the suite's macro must generate exactly these.
    pub scenarios: &'static [Scenario<C>],
    /// Longest a scenario may take, harness setup included.
    pub timeout: Duration,
    pub runtime: Runtime,
}

impl<C: Debug> Suite<C> {
    fn runtime(&self) -> anyhow::Result<tokio::runtime::Runtime> {
        let mut builder = match self.runtime {
            Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Runtime::MultiThread { workers } => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(workers);
                builder
            }
        };
        builder
            .enable_all()
            .build()
            .context("building a tokio runtime")
    }

    /// Runs one scenario on a fresh runtime with the suite's timeout; a skip is reported on
    /// stderr and passes.
    pub fn run(&self, name: &str, scenario: impl Future<Output = ScenarioResult>) -> TestResult {
        if let Some(note) = self.run_quietly(name, scenario)? {
            eprintln!("{note}");
        }
        Ok(())
    }

    /// [`Suite::run`], giving back the skip note instead of printing it.
    fn run_quietly(
        &self,
        name: &str,
        scenario: impl Future<Output = ScenarioResult>,
    ) -> anyhow::Result<Option<String>> {
        let outcome = self
            .runtime()?
            .block_on(async { tokio::time::timeout(self.timeout, scenario).await })
            .map_err(|_| anyhow!("scenario {name} timed out after {:?}", self.timeout))?
            .with_context(|| format!("scenario {name} failed"))?;
        Ok(match outcome {
            Outcome::Passed => None,
            Outcome::Skipped(what) => Some(format!(
                "{} scenario {name} skipped: the provider lacks {what}",
                self.api
            )),
        })
    }

    /// The `scenario_count` test: the macro generated every scenario of the table and no other,
    /// and the features of the harness (built by `features`, which may also refuse it) leave at
    /// least one scenario enabled.
    pub fn check_scenario_count(
        &self,
        generated: &[&str],
        features: impl Future<Output = anyhow::Result<C>>,
    ) -> TestResult {
        self.check_scenario_count_optional(generated, async { features.await.map(Some) })
    }

    /// [`Suite::check_scenario_count`] for a harness that may be absent (a service the
    /// developer opted out of): without one, only the generated names are checked.
    pub fn check_scenario_count_optional(
        &self,
        generated: &[&str],
        features: impl Future<Output = anyhow::Result<Option<C>>>,
    ) -> TestResult {
        self.check_generated(generated)?;
        let Some(features) = self.runtime()?.block_on(features)? else {
            return Ok(());
        };
        let enabled = self.enabled(&features)?;
        eprintln!(
            "{} conformance: {enabled} of {} scenarios run with {features:?}",
            self.api,
            self.scenarios.len()
        );
        Ok(())
    }

    /// The generated names are the table's, each once, and there is at least one.
    fn check_generated(&self, generated: &[&str]) -> TestResult {
        let api = self.api;
        ensure!(
            !generated.is_empty(),
            "the {api} conformance suite generated no scenarios"
        );
        let known: BTreeSet<&str> = self.scenarios.iter().map(|s| s.name).collect();
        ensure!(
            known.len() == self.scenarios.len(),
            "the {api} suite's table names a scenario twice"
        );
        let unique: BTreeSet<&str> = generated.iter().copied().collect();
        ensure!(
            unique.len() == generated.len(),
            "the {api} conformance macro generates a scenario twice"
        );
        ensure!(
            unique == known,
            "generated {api} scenarios {unique:?} differ from the suite's {known:?}"
        );
        Ok(())
    }

    /// How many scenarios run with `features`; none is an error.
    fn enabled(&self, features: &C) -> anyhow::Result<usize> {
        let enabled = self
            .scenarios
            .iter()
            .filter(|s| (s.runs_with)(features))
            .count();
        ensure!(
            enabled > 0,
            "no {} scenario runs with {features:?}",
            self.api
        );
        Ok(enabled)
    }
}

/// Skips the calling scenario unless the capability is there.
macro_rules! require {
    ($cond:expr, $what:literal) => {
        if !$cond {
            return Ok($crate::scenario::Outcome::Skipped($what));
        }
    };
}
pub(crate) use require;

/// The generator behind every suite's public macro: one `#[test]` per scenario `$name`, inside a
/// module `$module`, running `$crate::$suite::$name $args` (`$args` a parenthesised argument
/// list over the harness `$h`) under `$crate::$suite::SUITE`, plus a `scenario_count` test that
/// checks the names against the suite's table with the features `$features` (an
/// `anyhow::Result` over `$h`). `$setup` is an async block evaluating to a `$harness`; it runs
/// anew for every test. The calling crate needs no tokio dependency.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    // `$setup` evaluates to an `Option` of the harness: `None` when the service it needs was
    // opted out of (the setup then said "NOT RUN"), and every test returns without running.
    (
        optional, mod $module:ident, suite $suite:ident, setup $setup:expr,
        |$h:ident: $harness:ty| $args:tt, features $features:expr;
        $($name:ident),+ $(,)?
    ) => {
        #[cfg(test)]
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            $(
                #[test]
                fn $name() -> $crate::scenario::TestResult {
                    $crate::$suite::SUITE.run(::std::stringify!($name), async {
                        let ::std::option::Option::Some($h): ::std::option::Option<$harness> = ($setup).await else {
                            return ::std::result::Result::Ok($crate::scenario::Outcome::Passed);
                        };
                        $crate::$suite::$name $args.await
                    })
                }
            )+

            #[test]
            fn scenario_count() -> $crate::scenario::TestResult {
                $crate::$suite::SUITE.check_scenario_count_optional(&[$(::std::stringify!($name)),+], async {
                    let ::std::option::Option::Some($h): ::std::option::Option<$harness> = ($setup).await else {
                        return ::std::result::Result::Ok(::std::option::Option::None);
                    };
                    $features.map(::std::option::Option::Some)
                })
            }
        }
    };
    (
        mod $module:ident, suite $suite:ident, setup $setup:expr,
        |$h:ident: $harness:ty| $args:tt, features $features:expr;
        $($name:ident),+ $(,)?
    ) => {
        $crate::__conformance_tests!(
            optional, mod $module, suite $suite, setup async { ::std::option::Option::Some(($setup).await) },
            |$h: $harness| $args, features $features;
            $($name),+
        );
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Features of the runner's own test suite.
    #[derive(Debug, Clone, Copy)]
    struct Fast(bool);

    const TABLE: &[Scenario<Fast>] = &[
        Scenario::always("plain"),
        Scenario {
            name: "fast_only",
            runs_with: |f| f.0,
        },
    ];

    const SUITE: Suite<Fast> = Suite {
        api: "test",
        scenarios: TABLE,
        timeout: Duration::from_millis(200),
        runtime: Runtime::CurrentThread,
    };

    #[test]
    fn empty_or_drifted_scenario_lists_fail() {
        let e = SUITE
            .check_scenario_count(&[], async { Ok(Fast(true)) })
            .unwrap_err();
        assert!(e.to_string().contains("generated no scenarios"), "{e}");
        let e = SUITE
            .check_scenario_count(&["plain"], async { Ok(Fast(true)) })
            .unwrap_err();
        assert!(e.to_string().contains("differ from the suite's"), "{e}");
        assert!(
            SUITE
                .check_scenario_count(&["plain", "fast_only", "extra"], async { Ok(Fast(true)) })
                .is_err()
        );
        assert!(
            SUITE
                .check_scenario_count(&["plain", "plain", "fast_only"], async { Ok(Fast(true)) })
                .is_err()
        );
        assert!(
            SUITE
                .check_scenario_count(&["fast_only", "plain"], async { Ok(Fast(false)) })
                .is_ok()
        );
        const TWICE: &[Scenario<Fast>] = &[Scenario::always("plain"), Scenario::always("plain")];
        let twice = Suite {
            scenarios: TWICE,
            ..SUITE
        };
        assert!(
            twice
                .check_scenario_count(&["plain"], async { Ok(Fast(true)) })
                .is_err()
        );
    }

    #[test]
    fn no_enabled_scenario_or_a_refused_harness_fails() {
        let only_fast = Suite {
            scenarios: &[Scenario {
                name: "fast_only",
                runs_with: |f: &Fast| f.0,
            }],
            ..SUITE
        };
        assert_eq!(only_fast.enabled(&Fast(true)).unwrap(), 1);
        let e = only_fast
            .check_scenario_count(&["fast_only"], async { Ok(Fast(false)) })
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("no test scenario runs with Fast(false)"),
            "{e}"
        );
        let e = SUITE
            .check_scenario_count(&["plain", "fast_only"], async {
                Err(anyhow!("claims too much"))
            })
            .unwrap_err();
        assert_eq!(e.to_string(), "claims too much");
    }

    #[test]
    fn a_skip_passes_and_is_reported() {
        assert_eq!(
            SUITE
                .run_quietly("s", async { Ok(Outcome::Passed) })
                .unwrap(),
            None
        );
        let note = SUITE
            .run_quietly("s", async { Ok(Outcome::Skipped("wings")) })
            .unwrap();
        assert_eq!(
            note.as_deref(),
            Some("test scenario s skipped: the provider lacks wings")
        );
        assert!(
            SUITE
                .run("s", async { Ok(Outcome::Skipped("wings")) })
                .is_ok()
        );
    }

    #[test]
    fn failures_and_timeouts_fail() {
        let err = SUITE
            .run("s", async { Err(anyhow!("boom")) })
            .err()
            .map(|e| format!("{e:#}"));
        assert_eq!(err.as_deref(), Some("scenario s failed: boom"));
        let err = SUITE
            .run("s", std::future::pending())
            .err()
            .map(|e| format!("{e:#}"));
        assert_eq!(err.as_deref(), Some("scenario s timed out after 200ms"));
    }

    #[test]
    fn scenarios_run_on_the_suite_s_runtime() {
        let current = SUITE.run("s", async {
            let handle = tokio::runtime::Handle::current();
            ensure!(handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread);
            Ok(Outcome::Passed)
        });
        assert!(current.is_ok(), "{current:?}");
        let multi = Suite {
            runtime: Runtime::MultiThread { workers: 2 },
            ..SUITE
        };
        let two = multi.run("s", async {
            let handle = tokio::runtime::Handle::current();
            ensure!(handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            ensure!(
                handle.metrics().num_workers() == 2,
                "{} workers",
                handle.metrics().num_workers()
            );
            Ok(Outcome::Passed)
        });
        assert!(two.is_ok(), "{two:?}");
    }
}
