//! The vector_io conformance suite against inline::faiss, on an in-memory SQLite kv store that
//! the reopened provider shares (a restart on the same storage).
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use lls_api_common::store::{KvStore, KvStoreRef};
use lls_api_vector_io::VectorIo;
use lls_testkit::VectorIoHarness;
use lls_vector_io_inline_faiss::{FaissConfig, FaissVectorIo};

async fn open(kv: Arc<dyn KvStore>) -> Arc<dyn VectorIo> {
    let config = FaissConfig::new("kv_default", "vector_io::faiss");
    Arc::new(FaissVectorIo::open(kv, &config).await.expect("the provider opens"))
}

async fn harness() -> VectorIoHarness {
    let stores = lls_testkit::stores::memory_stores();
    let reference = KvStoreRef { backend: "kv_default".into(), namespace: "vector_io::faiss".into() };
    let kv = stores.kv(&reference).await.expect("the kv store opens");
    let provider = open(kv.clone()).await;
    VectorIoHarness { provider, reopen: Some(Box::new(move || Box::pin(open(kv.clone())))), _guard: Box::new(stores) }
}

lls_testkit::vector_io_conformance!(harness());
