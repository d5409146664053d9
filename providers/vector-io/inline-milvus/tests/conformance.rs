//! The vector_io conformance suite against a Milvus Lite the provider starts itself, with a
//! restart (`reopen`: the first server stopped, a new one on the same directory).
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

mod common;

use std::sync::Arc;

use lls_api_vector_io::VectorIo;
use lls_testkit::VectorIoHarness;
use lls_vector_io_inline_milvus::Metric;

async fn harness() -> Option<VectorIoHarness> {
    let dir = tempfile::tempdir().expect("a temp dir");
    // The suite's geometry is Euclidean (points on a line).
    let config = common::config("inline::milvus conformance", dir.path(), Metric::L2)?;
    let provider: Arc<dyn VectorIo> = Arc::new(common::start(&config).await);
    let reopen = move || {
        let config = config.clone();
        Box::pin(async move { Arc::new(common::start(&config).await) as Arc<dyn VectorIo> }) as _
    };
    Some(VectorIoHarness { provider, reopen: Some(Box::new(reopen)), _guard: Box::new(dir) })
}

lls_testkit::vector_io_conformance!(optional harness());
