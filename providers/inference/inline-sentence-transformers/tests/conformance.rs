//! The shared inference conformance suite against the real all-MiniLM-L6-v2: the embedding
//! scenarios, model listing, and chat refused as a client error (this provider has no chat).
//! Without the weights these fail (see `common`), unless `LLS_TEST_NO_MODELS=1`: then the
//! embedding scenarios do not run, and each says so on stderr.

mod common;

use std::sync::Arc;

use lls_inference_inline_sentence_transformers::{DEFAULT_MODEL, SentenceTransformersConfig, SentenceTransformersProvider};
use lls_testkit::{Capabilities, Harness};

async fn harness() -> Harness {
    let dir = common::weights_dir("conformance");
    let config = SentenceTransformersConfig {
        model_dir: dir.as_ref().map(|d| d.display().to_string()),
        ..SentenceTransformersConfig::default()
    };
    let provider = SentenceTransformersProvider::new("sentence-transformers", config);
    // Without weights on this machine the embedding scenarios cannot run.
    let caps = Capabilities::of(&provider).except(|c| {
        c.embeddings &= dir.is_some();
        c.embeddings_base64 &= dir.is_some();
    });
    Harness {
        provider: Arc::new(provider),
        llm: DEFAULT_MODEL.into(),
        embedding: DEFAULT_MODEL.into(),
        caps,
        _guard: Box::new(()),
    }
}

lls_testkit::inference_conformance!(harness());
