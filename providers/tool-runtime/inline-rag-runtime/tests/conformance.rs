//! The shared tool runtime conformance suite against `inline::rag-runtime` over in-memory vector
//! stores and files holding one document.
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

mod support;

use lls_api_common::RequestContext;
use lls_api_tool_runtime::{RagInsertRequest, RagTool, ToolGroup};
use lls_testkit::tool_runtime_suite::{ToolCallCase, ToolHarness};
use lls_tool_runtime_inline_rag_runtime::{PROVIDER_TYPE, RagRuntime};
use serde_json::json;

async fn harness() -> ToolHarness {
    let (rag, _stores, _files) = support::provider(&["vs1"]);
    let ctx = RequestContext::default();
    let docs = json!({
        "documents": [{"document_id": "doc-1", "content": "Rust has ownership.\n\nPython has a GIL.", "metadata": {"author": "a"}}],
        "vector_db_id": "vs1",
    });
    let request: RagInsertRequest = serde_json::from_value(docs).expect("a valid insert request");
    rag.insert(&ctx, request).await.expect("documents are inserted");
    let schema = RagRuntime::tools(None).into_iter().find(|t| t.name == "knowledge_search").and_then(|t| t.input_schema).unwrap_or_default();
    ToolHarness {
        provider: support::as_tool_runtime(rag),
        group: ToolGroup::new("builtin::rag", PROVIDER_TYPE, None, None),
        ctx,
        call: ToolCallCase::new(
            "knowledge_search",
            json!({ "query": "ownership", "vector_db_ids": ["vs1"] }),
            "Result 1\nContent: Rust has ownership.\nMetadata: {'chunk_id': 'file-0-0', 'document_id': 'file-0', 'source': None, 'author': 'a'}\n",
        ),
        schema: ("knowledge_search".into(), schema),
        failing_tool: None,
        _guard: Box::new(()),
    }
}

lls_testkit::tool_runtime_conformance!(harness());
