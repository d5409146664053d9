//! The vector_io conformance suite against a Milvus server (Milvus Lite in CI), with a restart
//! (`reopen`: a new client on the same database).
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

mod common;

use std::sync::Arc;

use lls_api_vector_io::VectorIo;
use lls_testkit::VectorIoHarness;
use lls_vector_io_remote_milvus::{Metric, MilvusConfig};

async fn open(config: MilvusConfig) -> Arc<dyn VectorIo> {
    Arc::new(lls_vector_io_remote_milvus::connect(&config).await.expect("Milvus connects"))
}

async fn harness() -> Option<VectorIoHarness> {
    // The suite's geometry is Euclidean (points on a line); cosine: tests/provider.rs.
    let config = common::fresh_database("remote::milvus conformance", Metric::L2).await?;
    let provider = open(config.clone()).await;
    Some(VectorIoHarness { provider, reopen: Some(Box::new(move || Box::pin(open(config.clone())))), _guard: Box::new(()) })
}

lls_testkit::vector_io_conformance!(optional harness());
