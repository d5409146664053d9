//! The RAG tool over in-memory fakes: insert uploads and attaches with static chunking, query
//! spans stores, and bad input is a client error that stores nothing.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used)]

mod support;

use lls_api_common::{ErrorKind, RequestContext};
use lls_api_tool_runtime::{RagTool, ToolDef, ToolRuntimeProvider};
use lls_api_vector_io::{ChunkingStrategy, StaticChunking};
use serde_json::{Value, json};

fn insert(v: Value) -> lls_api_tool_runtime::RagInsertRequest {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn insert_uploads_and_attaches_with_static_chunking() {
    let (rag, stores, files) = support::provider(&["vs1", "vs2"]);
    let ctx = RequestContext::default();
    rag.insert(&ctx, insert(json!({"documents": [
        {"document_id": "a", "content": "alpha beta", "metadata": {"filename": "a.md", "k": 1}},
        {"document_id": "b", "content": {"uri": "data:text/html;base64,PHA+Z2FtbWE8L3A+"}},
    ], "vector_store_id": "vs1", "chunk_size_in_tokens": 200}))).await.unwrap();
    let uploaded: Vec<_> = files.files.lock().values().map(|f| (f.0.filename.clone(), f.0.purpose.as_str(), f.2.clone())).collect();
    assert_eq!(uploaded, [("a.md".into(), "assistants", Some("text/plain".into())), ("b.html".into(), "assistants", Some("text/html".into()))]);
    let want = ChunkingStrategy::Static { config: StaticChunking { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } };
    assert_eq!(*stores.strategies.lock(), [want, want]);
    assert_eq!(stores.stores.lock()["vs1"][0].metadata["k"], 1);

    rag.insert(&ctx, insert(json!({"documents": [{"document_id": "c", "content": "alpha gamma"}], "vector_db_id": "vs2"}))).await.unwrap();
    let q = serde_json::from_value(json!({"content": "alpha gamma", "vector_store_ids": ["vs1", "vs2"]})).unwrap();
    let r = rag.query(&ctx, q).await.unwrap();
    assert_eq!(r.metadata["vector_db_ids"], json!(["vs2", "vs1", "vs1"]));
    assert_eq!(r.metadata["chunks"], json!(["alpha gamma", "alpha beta", "<p>gamma</p>"]));
}

#[tokio::test]
async fn bad_input_is_a_client_error_and_stores_nothing() {
    let (rag, stores, files) = support::provider(&["vs1"]);
    let ctx = RequestContext::default();
    for bad in [
        json!({"documents": [{"document_id": "ok", "content": "x"}, {"document_id": "u", "content": {"uri": "https://example.com/x"}}], "vector_db_id": "vs1"}),
        json!({"documents": [{"document_id": "ok", "content": "x"}], "vector_db_id": "vs1", "chunk_size_in_tokens": 10}),
        json!({"documents": [{"document_id": "ok", "content": "x"}], "vector_db_id": "nope"}),
    ] {
        let e = rag.insert(&ctx, insert(bad.clone())).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{bad}: {e}");
    }
    assert!(files.files.lock().is_empty());
    assert!(stores.stores.lock()["vs1"].is_empty());

    let search = ToolDef::named("knowledge_search");
    let call = |kwargs: Value| rag.invoke_tool(&ctx, &search, kwargs.as_object().cloned().unwrap());
    for bad in [
        json!({"vector_db_ids": ["vs1"]}),
        json!({"query": "q"}),
        json!({"query": "q", "vector_db_ids": "vs1"}),
        json!({"query": "q", "vector_db_ids": ["vs1"], "query_config": {"chunk_template": "{chunk.content}"}}),
        json!({"query": "q", "vector_db_ids": ["vs1"], "query_config": {"query_generator_config": {"type": "llm", "model": "m", "template": "t"}}}),
        json!({"query": "  ", "vector_db_ids": ["vs1"]}),
    ] {
        let e = call(bad.clone()).await.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidRequest | ErrorKind::Unsupported), "{bad}: {e}");
    }
    // Nothing found: empty content, as 0.3.5 answers.
    let r = call(json!({"query": "q", "vector_db_ids": ["vs1"]})).await.unwrap();
    assert_eq!(serde_json::to_value(&r).unwrap()["content"], json!([]));
}
