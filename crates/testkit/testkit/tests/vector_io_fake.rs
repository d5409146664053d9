//! The vector_io conformance suite against [`FakeVectorIo`], which every scenario must pass:
//! once with keyword search and a restart on shared state, once vector-only without restart.

use std::sync::Arc;

use lls_api_vector_io::VectorIo;
use lls_testkit::{FakeVectorIo, VectorIoHarness};

lls_testkit::vector_io_conformance!(async {
    let fake = FakeVectorIo::new();
    let shared = fake.clone();
    VectorIoHarness {
        provider: Arc::new(fake),
        reopen: Some(Box::new(move || {
            let reopened = shared.reopen();
            Box::pin(async move { Arc::new(reopened) as Arc<dyn VectorIo> })
        })),
        _guard: Box::new(()),
    }
});

mod vector_only {
    use super::*;

    lls_testkit::vector_io_conformance!(async {
        VectorIoHarness {
            provider: Arc::new(FakeVectorIo::vector_only()),
            reopen: None,
            _guard: Box::new(()),
        }
    });
}
