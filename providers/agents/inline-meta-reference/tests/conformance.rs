//! The Responses conformance suite against `inline::meta-reference` over the test kit's fake chat
//! model, a vector stores double holding one file, and a tool runtime double defining the
//! search tools; responses are stored in an in-memory SQLite store.

use std::sync::Arc;

use lls_agents_inline_meta_reference::{Deps, Engine, MetaReference, ResponsesStore};
use lls_api_agents::Responses;
use lls_api_common::{RequestContext, Tasks};
use lls_testkit::agent_doubles::{Document, SearchStores, SearchTools};
use lls_testkit::responses_suite::{FileSearchFixture, ResponsesHarness};
use serde_json::{Map, json};

lls_testkit::responses_conformance!(async {
    let sql = lls_testkit::stores::memory_sql()
        .await
        .expect("an in-memory SQL store");
    let store = Arc::new(
        ResponsesStore::open(sql)
            .await
            .expect("the responses tables"),
    );
    let attributes: Map<String, serde_json::Value> = json!({"team": "finance"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let stores = SearchStores {
        documents: vec![Document {
            vector_store_id: "vs_1".into(),
            file_id: "file-budget".into(),
            filename: "budget.txt".into(),
            attributes,
            text: "The quarterly budget for marketing is 40000 euros.".into(),
        }],
    };
    let deps = Deps {
        inference: lls_testkit::fake_chat::inference(),
        tools: Some(Arc::new(SearchTools)),
        vector_stores: Some(Arc::new(stores)),
        safety: None,
        conversations: None,
        prompts: None,
    };
    let provider: Arc<dyn Responses> =
        Arc::new(MetaReference::new(Engine::new(deps, store, Tasks::new())));
    ResponsesHarness {
        provider,
        ctx: RequestContext::default(),
        model: "fake-llm".into(),
        failing_model: "error-500".into(),
        file_search: Some(FileSearchFixture {
            vector_store_id: "vs_1".into(),
            query: "What is the marketing budget?".into(),
            file_id: "file-budget".into(),
            filename: "budget.txt".into(),
        }),
        _guard: Box::new(()),
    }
});
