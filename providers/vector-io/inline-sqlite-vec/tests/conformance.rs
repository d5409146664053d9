//! The vector_io conformance suite against a real sqlite-vec database in a temp dir, with a
//! restart (`reopen`) on the same file.
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use lls_api_vector_io::VectorIo;
use lls_testkit::VectorIoHarness;
use lls_vector_io_inline_sqlite_vec::SqliteVecProvider;

async fn open(path: PathBuf) -> Arc<dyn VectorIo> {
    Arc::new(SqliteVecProvider::open(&path).await.expect("the database opens"))
}

async fn harness() -> VectorIoHarness {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("nested").join("sqlite_vec.db");
    let provider = open(path.clone()).await;
    VectorIoHarness { provider, reopen: Some(Box::new(move || Box::pin(open(path.clone())))), _guard: Box::new(dir) }
}

lls_testkit::vector_io_conformance!(harness());
