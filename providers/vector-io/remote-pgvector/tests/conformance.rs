//! The vector_io conformance suite against PostgreSQL with pgvector, with a restart (`reopen`:
//! a new provider and pool on the same database).
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

mod common;

use std::sync::Arc;

use lls_api_vector_io::VectorIo;
use lls_testkit::VectorIoHarness;
use lls_vector_io_remote_pgvector::PgVectorProvider;

async fn open(url: String) -> Arc<dyn VectorIo> {
    // The suite's geometry is Euclidean (points on a line); the other metrics: tests/provider.rs.
    Arc::new(PgVectorProvider::connect(&url, &common::config("l2")).await.expect("pgvector connects"))
}

/// Each test gets a schema of its own (the suite's store ids are fixed).
async fn harness() -> Option<VectorIoHarness> {
    let url = common::schema_url("remote::pgvector conformance").await?;
    let provider = open(url.clone()).await;
    Some(VectorIoHarness { provider, reopen: Some(Box::new(move || Box::pin(open(url.clone())))), _guard: Box::new(()) })
}

lls_testkit::vector_io_conformance!(optional harness());
