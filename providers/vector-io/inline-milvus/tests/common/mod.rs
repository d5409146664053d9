//! Milvus Lite for the tests: the provider starts its own on a temporary directory; the tests
//! need the executable (`LLS_MILVUS_LITE` or `milvus-lite` on PATH).
#![allow(dead_code, clippy::expect_used)]

use std::path::Path;

use lls_testkit::prerequisite::Prerequisite;
use lls_vector_io_inline_milvus::{InlineMilvus, InlineMilvusConfig, Metric, find_executable};

pub const MILVUS_LITE: Prerequisite = Prerequisite {
    what: "Milvus Lite (LLS_MILVUS_LITE, or milvus-lite on PATH)",
    how: "export LLS_MILVUS_LITE=$(scripts/milvus.sh install)",
    opt_out: "LLS_TEST_NO_MILVUS",
};

/// A config on `dir` with `metric`; `None` when Milvus Lite is missing and opted out.
pub fn config(test: &str, dir: &Path, metric: Metric) -> Option<InlineMilvusConfig> {
    MILVUS_LITE.require(test, find_executable(None).ok(), "inline::milvus runs Milvus Lite")?;
    let mut config = InlineMilvusConfig::new(dir.join("milvus.db"));
    config.metric_type = metric;
    Some(config)
}

pub async fn start(config: &InlineMilvusConfig) -> InlineMilvus {
    InlineMilvus::start(config).await.expect("Milvus Lite starts")
}
