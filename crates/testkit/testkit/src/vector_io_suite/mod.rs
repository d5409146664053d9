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
    content_round_trip, create_index_idempotent, delete_chunks, delete_index, dimension_mismatch,
    replace_chunk, stores_isolated, unknown_store,
};
pub use query::{
    query_k_respected, query_nearest_first, query_score_threshold, query_scores_descending,
};
pub use scale::{concurrent_inserts_and_queries, large_batch_insert, persistence_across_reopen};

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use lls_api_vector_io::VectorIo;

pub use crate::scenario::{Outcome, ScenarioResult, TestResult};
use crate::scenario::{Runtime, Scenario, Suite, require};

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
        f.debug_struct("VectorIoHarness")
            .field("features", &self.features())
            .finish_non_exhaustive()
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
        Features {
            keyword: self.provider.search_modes().keyword,
            reopen: self.reopen.is_some(),
        }
    }
}

/// The suite: every scenario and the features it needs (the scenarios
/// [`vector_io_conformance!`](crate::vector_io_conformance) must generate), each run on a fresh
/// two-worker multi-threaded runtime (so the concurrency scenario really runs in parallel and a
/// provider blocking its worker shows) for at most two minutes, setup included.
pub const SUITE: Suite<Features> = Suite {
    api: "vector_io",
    scenarios: &[
        Scenario::always("query_nearest_first"),
        Scenario::always("query_scores_descending"),
        Scenario::always("query_k_respected"),
        Scenario::always("query_score_threshold"),
        Scenario::always("create_index_idempotent"),
        Scenario::always("replace_chunk"),
        Scenario::always("delete_chunks"),
        Scenario::always("delete_index"),
        Scenario::always("unknown_store"),
        Scenario::always("dimension_mismatch"),
        Scenario::always("content_round_trip"),
        Scenario::always("stores_isolated"),
        Scenario {
            name: "keyword_search",
            runs_with: |f| f.keyword,
        },
        Scenario {
            name: "hybrid_search",
            runs_with: |f| f.keyword,
        },
        Scenario {
            name: "persistence_across_reopen",
            runs_with: |f| f.reopen,
        },
        Scenario::always("concurrent_inserts_and_queries"),
        Scenario::always("large_batch_insert"),
    ],
    timeout: Duration::from_secs(120),
    runtime: Runtime::MultiThread { workers: 2 },
};

/// Expands into one `#[test]` per scenario of the vector_io suite (each on its own tokio
/// runtime; the calling crate needs no tokio dependency), inside a module
/// `vector_io_conformance`, plus a `scenario_count` test ([`Suite::check_scenario_count`] with
/// [`VectorIoHarness::features`]). `$setup` is an async block evaluating to a
/// [`VectorIoHarness`]; it runs anew for every test. With `optional`, `$setup` evaluates to an
/// `Option<VectorIoHarness>`, `None` when the service the provider needs was opted out of (the
/// setup says "NOT RUN"): the tests then return without running.
#[macro_export]
macro_rules! vector_io_conformance {
    (optional $setup:expr $(,)?) => {
        $crate::__conformance_tests!(
            optional, mod vector_io_conformance, suite vector_io_suite, setup $setup,
            |h: $crate::vector_io_suite::VectorIoHarness| (h),
            features ::std::result::Result::Ok(h.features());
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
    ($setup:expr $(,)?) => {
        $crate::vector_io_conformance!(optional async { ::std::option::Option::Some(($setup).await) });
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_provider_runs_some_scenarios() {
        let names: Vec<&str> = SUITE.scenarios.iter().map(|s| s.name).collect();
        let bare = Features {
            keyword: false,
            reopen: false,
        };
        assert!(
            SUITE
                .check_scenario_count(&names, async move { Ok(bare) })
                .is_ok()
        );
    }

    /// The fake with one defect: results come back worst first, and unknown stores are 500s.
    struct Defective(crate::FakeVectorIo);

    #[async_trait::async_trait]
    impl VectorIo for Defective {
        fn search_modes(&self) -> lls_api_vector_io::SearchModes {
            self.0.search_modes()
        }
        async fn create_index(
            &self,
            spec: &lls_api_vector_io::IndexSpec,
        ) -> lls_api_common::Result<()> {
            self.0.create_index(spec).await
        }
        async fn delete_index(&self, id: &str) -> lls_api_common::Result<()> {
            self.0.delete_index(id).await
        }
        async fn insert(
            &self,
            id: &str,
            chunks: Vec<lls_api_vector_io::EmbeddedChunk>,
        ) -> lls_api_common::Result<()> {
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
        VectorIoHarness {
            provider: Arc::new(Defective(crate::FakeVectorIo::new())),
            reopen: None,
            _guard: Box::new(()),
        }
    }

    #[test]
    fn scenarios_catch_a_defective_provider() {
        assert!(
            SUITE
                .run("query_nearest_first", query_nearest_first(defective()))
                .is_err()
        );
        assert!(
            SUITE
                .run(
                    "query_scores_descending",
                    query_scores_descending(defective())
                )
                .is_err()
        );
        assert!(
            SUITE
                .run("unknown_store", unknown_store(defective()))
                .is_err()
        );
        assert!(
            SUITE
                .run("keyword_search", keyword_search(defective()))
                .is_ok(),
            "the defect is in vector search only"
        );
    }
}
