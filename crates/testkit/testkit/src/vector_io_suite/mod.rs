//! The one conformance suite of the vector_io API: scenario functions taking a
//! [`VectorIoHarness`], and [`vector_io_conformance!`](crate::vector_io_conformance) to turn them
//! into one test each inside a provider crate, gated by what the provider can do.
//!
//! ```ignore
//! // providers/vector-io/inline-foo/tests/conformance.rs
//! lls_testkit::vector_io_conformance!(async {
//!     let dir = tempfile::tempdir().unwrap();
//!     let path = dir.path().join("foo.db");
//!     let provider = FooIndex::open(&path).await.unwrap();
//!     VectorIoHarness {
//!         provider: Arc::new(provider),
//!         reopen: Some(Box::new(move || {
//!             let path = path.clone();
//!             Box::pin(async move { Arc::new(FooIndex::open(&path).await.unwrap()) as Arc<dyn VectorIo> })
//!         })),
//!         _guard: Box::new(dir),
//!     }
//! });
//! ```

mod data;
mod keyword;
mod lifecycle;
mod query;
mod scale;

pub use keyword::{hybrid_search, keyword_search};
pub use lifecycle::{
    content_round_trip, create_index_idempotent, delete_chunks, delete_index, dimension_mismatch, replace_chunk,
    stores_isolated, unknown_store,
};
pub use query::{query_k_respected, query_nearest_first, query_score_threshold, query_scores_descending};
pub use scale::{concurrent_inserts_and_queries, large_batch_insert, persistence_across_reopen};

use std::any::Any;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, ensure};
use futures::future::BoxFuture;
use lls_api_vector_io::VectorIo;

/// Rebuilds the provider on the same persistent storage, as a restarted server would.
pub type Reopen = Box<dyn Fn() -> BoxFuture<'static, Arc<dyn VectorIo>> + Send + Sync>;

/// What a provider crate's setup gives the suite. `_guard` keeps whatever the provider needs
/// alive for the test (a temp dir, a server handle); `()` when nothing.
pub struct VectorIoHarness {
    pub provider: Arc<dyn VectorIo>,
    /// `None` for providers without persistent storage: the restart scenario is then skipped.
    pub reopen: Option<Reopen>,
    pub _guard: Box<dyn Any + Send>,
}

impl std::fmt::Debug for VectorIoHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIoHarness").field("features", &self.features()).finish_non_exhaustive()
    }
}

/// What the provider under test can do; scenarios needing more are skipped, not failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `search_modes().keyword`: keyword and hybrid search.
    pub keyword: bool,
    /// The harness can rebuild the provider on the same storage.
    pub reopen: bool,
}

impl VectorIoHarness {
    pub fn features(&self) -> Features {
        Features { keyword: self.provider.search_modes().keyword, reopen: self.reopen.is_some() }
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

/// A scenario of the suite and the features it needs.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub name: &'static str,
    pub runs_with: fn(&Features) -> bool,
}

fn always(_: &Features) -> bool {
    true
}
fn keyword_cap(f: &Features) -> bool {
    f.keyword
}
fn reopen_cap(f: &Features) -> bool {
    f.reopen
}

/// Every scenario; [`vector_io_conformance!`](crate::vector_io_conformance) must generate
/// exactly these, which its `scenario_count` test checks.
pub const SCENARIOS: &[Scenario] = &[
    Scenario { name: "query_nearest_first", runs_with: always },
    Scenario { name: "query_scores_descending", runs_with: always },
    Scenario { name: "query_k_respected", runs_with: always },
    Scenario { name: "query_score_threshold", runs_with: always },
    Scenario { name: "create_index_idempotent", runs_with: always },
    Scenario { name: "replace_chunk", runs_with: always },
    Scenario { name: "delete_chunks", runs_with: always },
    Scenario { name: "delete_index", runs_with: always },
    Scenario { name: "unknown_store", runs_with: always },
    Scenario { name: "dimension_mismatch", runs_with: always },
    Scenario { name: "content_round_trip", runs_with: always },
    Scenario { name: "stores_isolated", runs_with: always },
    Scenario { name: "keyword_search", runs_with: keyword_cap },
    Scenario { name: "hybrid_search", runs_with: keyword_cap },
    Scenario { name: "persistence_across_reopen", runs_with: reopen_cap },
    Scenario { name: "concurrent_inserts_and_queries", runs_with: always },
    Scenario { name: "large_batch_insert", runs_with: always },
];

/// Longest a scenario may take, setup included.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs one scenario on a fresh two-worker multi-threaded runtime (so the concurrency scenario
/// really runs in parallel and a provider blocking its worker shows), with [`SCENARIO_TIMEOUT`];
/// a skip is reported on stderr and passes.
pub fn run(name: &str, scenario: impl Future<Output = ScenarioResult>) -> TestResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("building a tokio runtime")?;
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
/// there is at least one, and the harness's features leave at least one enabled.
pub fn check_scenario_count(generated: &[&str], features: impl Future<Output = Features>) -> TestResult {
    ensure!(!generated.is_empty(), "the conformance suite generated no scenarios");
    let generated: BTreeSet<&str> = generated.iter().copied().collect();
    let known: BTreeSet<&str> = SCENARIOS.iter().map(|s| s.name).collect();
    ensure!(generated == known, "generated scenarios {generated:?} differ from the suite's {known:?}");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("building a tokio runtime")?;
    let features = runtime.block_on(features);
    let enabled = SCENARIOS.iter().filter(|s| (s.runs_with)(&features)).count();
    ensure!(enabled > 0, "no scenario runs with features {features:?}");
    eprintln!("vector_io conformance: {enabled} of {} scenarios run with {features:?}", SCENARIOS.len());
    Ok(())
}

/// Expands into one `#[test]` per scenario of the vector_io suite (each on its own tokio
/// runtime; the calling crate needs no tokio dependency), inside a module
/// `vector_io_conformance`, plus a `scenario_count` test. `$setup` is an async block evaluating
/// to a [`VectorIoHarness`]; it runs anew for every test.
#[macro_export]
macro_rules! vector_io_conformance {
    ($setup:expr $(,)?) => {
        $crate::__vector_io_conformance_tests!(
            $setup;
            query_nearest_first,
            query_scores_descending,
            query_k_respected,
            query_score_threshold,
            create_index_idempotent,
            replace_chunk,
            delete_chunks,
            delete_index,
            unknown_store,
            dimension_mismatch,
            content_round_trip,
            stores_isolated,
            keyword_search,
            hybrid_search,
            persistence_across_reopen,
            concurrent_inserts_and_queries,
            large_batch_insert,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __vector_io_conformance_tests {
    ($setup:expr; $($name:ident),+ $(,)?) => {
        #[cfg(test)]
        mod vector_io_conformance {
            #[allow(unused_imports)]
            use super::*;

            $(
                #[test]
                fn $name() -> $crate::vector_io_suite::TestResult {
                    $crate::vector_io_suite::run(::std::stringify!($name), async {
                        let harness: $crate::vector_io_suite::VectorIoHarness = ($setup).await;
                        $crate::vector_io_suite::$name(harness).await
                    })
                }
            )+

            #[test]
            fn scenario_count() -> $crate::vector_io_suite::TestResult {
                $crate::vector_io_suite::check_scenario_count(&[$(::std::stringify!($name)),+], async {
                    let harness: $crate::vector_io_suite::VectorIoHarness = ($setup).await;
                    harness.features()
                })
            }
        }
    };
}

/// Skips the calling scenario unless the capability is there.
macro_rules! require {
    ($cond:expr, $what:literal) => {
        if !$cond {
            return Ok($crate::vector_io_suite::Outcome::Skipped($what));
        }
    };
}
pub(crate) use require;

#[cfg(test)]
mod tests {
    use super::*;

    fn all_names() -> Vec<&'static str> {
        SCENARIOS.iter().map(|s| s.name).collect()
    }

    #[test]
    fn zero_or_drifted_scenario_lists_fail() {
        let all = Features { keyword: true, reopen: true };
        let bare = Features { keyword: false, reopen: false };
        assert!(check_scenario_count(&[], async move { all }).is_err());
        assert!(check_scenario_count(&all_names()[1..], async move { all }).is_err());
        assert!(check_scenario_count(&all_names(), async move { bare }).is_ok());
    }

    /// The fake with one defect: results come back worst first, and unknown stores are 500s.
    struct Defective(crate::FakeVectorIo);

    #[async_trait::async_trait]
    impl VectorIo for Defective {
        fn search_modes(&self) -> lls_api_vector_io::SearchModes {
            self.0.search_modes()
        }
        async fn create_index(&self, spec: &lls_api_vector_io::IndexSpec) -> lls_api_common::Result<()> {
            self.0.create_index(spec).await
        }
        async fn delete_index(&self, id: &str) -> lls_api_common::Result<()> {
            self.0.delete_index(id).await
        }
        async fn insert(&self, id: &str, chunks: Vec<lls_api_vector_io::EmbeddedChunk>) -> lls_api_common::Result<()> {
            self.0.insert(id, chunks).await
        }
        async fn delete_chunks(&self, id: &str, ids: &[String]) -> lls_api_common::Result<()> {
            self.0.delete_chunks(id, ids).await
        }
        async fn query_vector(
            &self,
            id: &str,
            embedding: &[f32],
            k: usize,
            threshold: f32,
        ) -> lls_api_common::Result<Vec<lls_api_vector_io::ScoredChunk>> {
            match self.0.query_vector(id, embedding, k, threshold).await {
                Ok(mut r) => {
                    r.reverse();
                    Ok(r)
                }
                Err(e) => Err(lls_api_common::Error::internal(e.message())),
            }
        }
        async fn query_keyword(
            &self,
            id: &str,
            query: &str,
            k: usize,
            threshold: f32,
        ) -> lls_api_common::Result<Vec<lls_api_vector_io::ScoredChunk>> {
            self.0.query_keyword(id, query, k, threshold).await
        }
    }

    fn defective() -> VectorIoHarness {
        VectorIoHarness { provider: Arc::new(Defective(crate::FakeVectorIo::new())), reopen: None, _guard: Box::new(()) }
    }

    #[test]
    fn scenarios_catch_a_defective_provider() {
        assert!(run("query_nearest_first", query_nearest_first(defective())).is_err());
        assert!(run("query_scores_descending", query_scores_descending(defective())).is_err());
        assert!(run("unknown_store", unknown_store(defective())).is_err());
        assert!(run("keyword_search", keyword_search(defective())).is_ok(), "the defect is in vector search only");
    }

    #[test]
    fn skips_and_failures_are_reported() {
        assert!(run("s", async { Ok(Outcome::Skipped("keyword search")) }).is_ok());
        let err = run("s", async { Err(anyhow!("boom")) }).err().map(|e| format!("{e:#}"));
        assert_eq!(err.as_deref(), Some("scenario s failed: boom"));
    }
}
