//! The batches conformance suite against `inline::reference` over the test kit's fake model
//! (chat, completions, embeddings; `slow-150` answers after 150 ms), in-memory files and an
//! in-memory kv store.

use std::sync::Arc;

use lls_api_common::{RequestContext, Tasks};
use lls_batches_inline_reference::{Parts, ReferenceBatches, ReferenceBatchesConfig};
use lls_testkit::batches_suite::BatchesHarness;
use lls_testkit::fake_inference::{FakeInference, FixedModels};
use lls_testkit::memory_files::MemoryFiles;

lls_testkit::batches_conformance!(async {
    let stores = lls_testkit::stores::memory_stores();
    let config = ReferenceBatchesConfig::new("kv_default", "batches");
    let kv = stores
        .kv(&config.kvstore)
        .await
        .expect("an in-memory kv store");
    let files = MemoryFiles::new();
    let tasks = Tasks::new();
    let provider = ReferenceBatches::start(Parts {
        config,
        kv,
        inference: FakeInference::new(),
        files: files.clone(),
        models: FixedModels::new(&["chat", "embed", "slow-150"]),
        responses: None,
        tasks: tasks.clone(),
    })
    .await
    .expect("the provider starts");
    BatchesHarness {
        provider: Arc::new(provider),
        files,
        ctx: RequestContext::default(),
        chat_model: "chat".into(),
        embedding_model: "embed".into(),
        slow_model: "slow-150".into(),
        _guard: Box::new(tasks),
    }
});
