//! The vector stores service over in-memory fakes: store lifecycle and the choice of provider
//! and model, file ingestion and its failures, search, the native insert/query, and restarts.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic)]


use std::time::Duration;

use lls_api_common::ErrorKind;
use lls_api_vector_io::{FileStatus, LastErrorCode, ListFilesQuery, ListQuery, QueryParams, VectorIo};
use lls_service_vector_io::Defaults;
use serde_json::{Value, json};
use crate::support::{DIM, EMBED, Harness, Setup};

const PYTHON: &str = "Python is a high-level programming language that emphasizes code readability.";
const ML: &str = "Machine learning lets systems learn from experience without explicit programming.";
const NEURAL: &str = "Neural networks are inspired by biological neurons found in animal brains.";

fn chunks() -> Vec<lls_api_vector_io::Chunk> {
    serde_json::from_value(json!([
        {"content": PYTHON, "metadata": {"document_id": "doc1", "topic": "programming"}},
        {"content": ML, "metadata": {"document_id": "doc2", "topic": "ai"}},
        {"content": NEURAL, "metadata": {"document_id": "doc3", "topic": "ai", "year": 2024}},
    ]))
    .unwrap()
}

#[tokio::test]
async fn create_uses_defaults_and_records_the_provider() {
    let h = Harness::new().await;
    let vs = h.create(json!({"name": "docs", "metadata": {"purpose": "test"}})).await.unwrap();
    assert!(vs.id.starts_with("vs_"));
    assert_eq!(vs.object, "vector_store");
    assert_eq!(vs.name.as_deref(), Some("docs"));
    assert_eq!(vs.metadata["purpose"], "test");
    assert_eq!(vs.metadata["provider_id"], "memory");
    assert_eq!(vs.file_counts.total, 0);
    let body = serde_json::to_value(&vs).unwrap();
    assert_eq!(body["status"], "completed");
    assert!(body["expires_at"].is_null());
}

#[tokio::test]
async fn provider_choice_follows_upstream() {
    let two = || Setup { providers: vec![("a", true), ("b", false)], ..Setup::default() };
    let h = Harness::with(two()).await;
    let e = h.create(json!({})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("Multiple vector_io providers available"), "{e}");
    assert_eq!(h.create(json!({"provider_id": "b"})).await.unwrap().metadata["provider_id"], "b");
    let e = h.create(json!({"provider_id": "zzz"})).await.unwrap_err();
    assert!(e.message().contains("Available providers: a, b"), "{e}");

    let with_default = Setup { defaults: Defaults { provider_id: Some("b".into()), embedding_model: Some(EMBED.into()) }, ..two() };
    let h = Harness::with(with_default).await;
    assert_eq!(h.create(json!({})).await.unwrap().metadata["provider_id"], "b");
}

#[tokio::test]
async fn embedding_model_is_checked() {
    let h = Harness::with(Setup { defaults: Defaults::default(), ..Setup::default() }).await;
    let e = h.create(json!({})).await.unwrap_err();
    assert!(e.message().contains("embedding_model is required"), "{e}");
    let e = h.create(json!({"embedding_model": "fake/nope"})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = h.create(json!({"embedding_model": "fake/fake-llm"})).await.unwrap_err();
    assert!(e.message().contains("rather than the expected type 'embedding'"), "{e}");
    let e = h.create(json!({"embedding_model": "fake/no-dim-embed"})).await.unwrap_err();
    assert_eq!(e.param(), Some("embedding_dimension"));
    // metadata wins over the extension fields, and a string dimension is accepted
    let vs = h
        .create(json!({"embedding_model": "fake/nope", "metadata": {"embedding_model": EMBED, "embedding_dimension": "384"}}))
        .await
        .unwrap();
    assert_eq!(vs.metadata["embedding_model"], EMBED);
}

#[tokio::test]
async fn a_non_native_dimension_is_requested_from_the_model() {
    let h = Harness::new().await;
    let vs = h.create(json!({"embedding_model": EMBED, "embedding_dimension": 16})).await.unwrap();
    h.api().insert_chunks(&h.ctx, &vs.id, chunks(), None).await.unwrap();
    let r = h.api().query_chunks(&h.ctx, &vs.id, &json!("python"), QueryParams::default()).await.unwrap();
    assert_eq!(r.chunks.len(), 3);
}

#[tokio::test]
async fn unknown_stores_answer_upstreams_400() {
    let h = Harness::new().await;
    let e = h.api().retrieve_vector_store(&h.ctx, "vs_nope").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(
        e.message(),
        "Vector_store `vs_nope` not served by provider: `memory`. Make sure there is an VectorIO provider serving this vector_store."
    );
    assert!(h.api().list_files(&h.ctx, "vs_nope", ListFilesQuery::default()).await.is_err());
    assert!(h.search("vs_nope", json!({"query": "q"})).await.is_err());
}

#[tokio::test]
async fn list_update_and_delete_stores() {
    let h = Harness::new().await;
    let a = h.create(json!({"name": "a"})).await.unwrap();
    let b = h.create(json!({"name": "b"})).await.unwrap();
    let page = h.api().list_vector_stores(&h.ctx, ListQuery::default()).await.unwrap();
    assert_eq!(page.data.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [b.id.as_str(), a.id.as_str()]);
    let page = h.api().list_vector_stores(&h.ctx, ListQuery { limit: Some(1), ..Default::default() }).await.unwrap();
    assert!(page.has_more);
    let next = ListQuery { limit: Some(1), after: page.last_id.clone(), ..Default::default() };
    assert_eq!(h.api().list_vector_stores(&h.ctx, next).await.unwrap().data[0].id, a.id);
    assert!(h.api().list_vector_stores(&h.ctx, ListQuery { limit: Some(0), ..Default::default() }).await.is_err());

    let updated = h
        .api()
        .update_vector_store(&h.ctx, &a.id, serde_json::from_value(json!({"name": "a2", "metadata": {"v": "2"}})).unwrap())
        .await
        .unwrap();
    assert_eq!((updated.name.as_deref(), updated.metadata.get("v")), (Some("a2"), Some(&json!("2"))));
    let expiring = h
        .api()
        .update_vector_store(&h.ctx, &a.id, serde_json::from_value(json!({"expires_after": {"anchor": "last_active_at", "days": 1}})).unwrap())
        .await
        .unwrap();
    assert_eq!(expiring.expires_at, expiring.last_active_at.map(|t| t + 86_400));
    let bad = serde_json::from_value(json!({"expires_after": {"anchor": "last_active_at", "days": 0}})).unwrap();
    assert!(h.api().update_vector_store(&h.ctx, &a.id, bad).await.is_err());

    let deleted = h.api().delete_vector_store(&h.ctx, &a.id).await.unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.object, "vector_store.deleted");
    assert!(h.api().retrieve_vector_store(&h.ctx, &a.id).await.is_err());
    assert!(h.providers[0].1.query_vector(&a.id, &[0.0; DIM], 1, 0.0).await.is_err(), "index dropped");
    assert!(!h.kv.keys().iter().any(|k| k.contains(&a.id)), "records dropped: {:?}", h.kv.keys());
}

#[tokio::test]
async fn attach_ingests_and_search_finds_the_file() {
    let h = Harness::new().await;
    let vs = h.create(json!({})).await.unwrap();
    let file = h.files.add("notes.txt", b"The secret string is foobazbar.");
    let f = h.attach(&vs.id, json!({"file_id": file, "attributes": {"team": "blue", "year": 2024}})).await.unwrap();
    assert_eq!(f.status, FileStatus::Completed);
    assert_eq!(f.object, "vector_store.file");
    assert!(f.last_error.is_none());
    assert!(f.usage_bytes > 0);
    let vs = h.api().retrieve_vector_store(&h.ctx, &vs.id).await.unwrap();
    assert_eq!((vs.file_counts.completed, vs.file_counts.total), (1, 1));
    assert_eq!(vs.usage_bytes, f.usage_bytes);

    let page = h.search(&vs.id, json!({"query": "What is the secret string?", "max_num_results": 1})).await.unwrap();
    assert_eq!(page.object, "vector_store.search_results.page");
    let hit = &page.data[0];
    assert!(hit.content[0].text.contains("foobazbar"));
    assert_eq!(hit.file_id, file);
    assert_eq!(hit.filename, "notes.txt");
    assert_eq!(hit.attributes["team"], "blue");
    assert_eq!(hit.attributes["document_id"], json!(file));
    assert!(hit.attributes["token_count"].as_u64().unwrap() > 0);
    assert!(hit.attributes["metadata_token_count"].as_u64().unwrap() > 0);

    let filtered = h.search(&vs.id, json!({"query": "secret", "filters": {"type": "eq", "key": "team", "value": "red"}})).await.unwrap();
    assert!(filtered.data.is_empty());
    let filtered = h.search(&vs.id, json!({"query": "secret", "filters": {"type": "gte", "key": "year", "value": 2024}})).await.unwrap();
    assert_eq!(filtered.data.len(), 1);

    let contents = h.api().file_contents(&h.ctx, &vs.id, &file).await.unwrap();
    assert_eq!(contents.filename, "notes.txt");
    assert_eq!(contents.content[0].text, "The secret string is foobazbar.");
    assert_eq!(contents.attributes["team"], "blue");

    // attaching again is a no-op
    let again = h.attach(&vs.id, json!({"file_id": file})).await.unwrap();
    assert_eq!(again.attributes["team"], "blue");
    assert_eq!(h.api().retrieve_vector_store(&h.ctx, &vs.id).await.unwrap().file_counts.total, 1);
}

#[tokio::test]
async fn bad_files_fail_alone() {
    let h = Harness::new().await;
    let vs = h.create(json!({})).await.unwrap();
    let good = h.files.add("good.md", b"# Title\n\nSome useful text.");
    let empty = h.files.add("empty.txt", b"   ");
    let zip = h.files.add("archive.zip", &[0x50, 0x4b, 3, 4, 0, 0, 0, 0]);
    let missing = h.attach(&vs.id, json!({"file_id": "file-missing"})).await.unwrap();
    assert_eq!(missing.status, FileStatus::Failed);
    let err = missing.last_error.unwrap();
    assert_eq!(err.code, LastErrorCode::InvalidFile);
    assert!(err.message.contains("not found"), "{}", err.message);
    let e = h.attach(&vs.id, json!({"file_id": empty})).await.unwrap().last_error.unwrap();
    assert_eq!((e.code, e.message.as_str()), (LastErrorCode::InvalidFile, "No chunks were generated from the file"));
    let e = h.attach(&vs.id, json!({"file_id": zip})).await.unwrap().last_error.unwrap();
    assert_eq!(e.code, LastErrorCode::UnsupportedFile);
    assert_eq!(h.attach(&vs.id, json!({"file_id": good})).await.unwrap().status, FileStatus::Completed);

    let vs = h.api().retrieve_vector_store(&h.ctx, &vs.id).await.unwrap();
    assert_eq!((vs.file_counts.failed, vs.file_counts.completed, vs.file_counts.total), (3, 1, 4));
    let failed = h
        .api()
        .list_files(&h.ctx, &vs.id, ListFilesQuery { filter: Some(FileStatus::Failed), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(failed.data.len(), 3);
    // a failed file keeps its error when read back, and can be deleted
    let again = h.api().retrieve_file(&h.ctx, &vs.id, "file-missing").await.unwrap();
    assert!(again.last_error.is_some());
    h.api().delete_file(&h.ctx, &vs.id, "file-missing").await.unwrap();
    let vs = h.api().retrieve_vector_store(&h.ctx, &vs.id).await.unwrap();
    assert_eq!((vs.file_counts.failed, vs.file_counts.total), (2, 3));
}

#[tokio::test]
async fn embedding_failures_and_missing_files_api() {
    let h = Harness::new().await;
    let vs = h.create(json!({"embedding_model": "fake/error-503"})).await.unwrap();
    let file = h.files.add("a.txt", b"some text");
    let f = h.attach(&vs.id, json!({"file_id": file})).await.unwrap();
    assert_eq!(f.last_error.unwrap().code, LastErrorCode::ServerError);
    let vs = h.create(json!({"embedding_model": "fake/error-429"})).await.unwrap();
    let f = h.attach(&vs.id, json!({"file_id": file})).await.unwrap();
    assert_eq!(f.last_error.unwrap().code, LastErrorCode::RateLimitExceeded);

    let h = Harness::with(Setup { with_files: false, ..Setup::default() }).await;
    let vs = h.create(json!({})).await.unwrap();
    let f = h.attach(&vs.id, json!({"file_id": "file-x"})).await.unwrap();
    assert_eq!(f.last_error.unwrap().message, "Files API is not available");
}

#[tokio::test]
async fn create_with_file_ids_attaches_before_answering() {
    let h = Harness::new().await;
    let ids: Vec<String> = (0..3).map(|i| h.files.add(&format!("f{i}.txt"), format!("This is test file {i}").as_bytes())).collect();
    let mut all = ids.clone();
    all.push("invalid_file_id".into());
    let vs = h
        .create(json!({"file_ids": all, "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 10}}}))
        .await
        .unwrap();
    assert_eq!((vs.file_counts.completed, vs.file_counts.failed, vs.file_counts.total), (3, 1, 4));
    let f = h.api().retrieve_file(&h.ctx, &vs.id, &ids[0]).await.unwrap();
    assert_eq!(serde_json::to_value(f.chunking_strategy).unwrap()["static"]["max_chunk_size_tokens"], 100);
    let bad = h.create(json!({"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 50}}})).await;
    assert!(bad.is_err());
}

#[tokio::test]
async fn list_files_paginates_like_upstream() {
    let h = Harness::new().await;
    let vs = h.create(json!({})).await.unwrap();
    for i in 0..3 {
        let id = h.files.add(&format!("f{i}.txt"), format!("file number {i}").as_bytes());
        h.attach(&vs.id, json!({"file_id": id})).await.unwrap();
    }
    let all = h.api().list_files(&h.ctx, &vs.id, ListFilesQuery::default()).await.unwrap();
    assert_eq!(all.data.len(), 3);
    assert_eq!(all.first_id.as_deref(), Some(all.data[0].id.as_str()));
    let first = h.api().list_files(&h.ctx, &vs.id, ListFilesQuery { limit: Some(2), ..Default::default() }).await.unwrap();
    assert!(first.has_more);
    assert_ne!(first.last_id.as_deref(), Some(first.data[1].id.as_str()), "0.3.5 reports the window's last id");
    let next = ListFilesQuery { limit: Some(2), after: Some(first.data[1].id.clone()), ..Default::default() };
    let next = h.api().list_files(&h.ctx, &vs.id, next).await.unwrap();
    assert_eq!((next.data.len(), next.has_more), (1, false));
}

#[tokio::test]
async fn update_and_delete_files() {
    let h = Harness::new().await;
    let vs = h.create(json!({})).await.unwrap();
    let file = h.files.add("a.txt", b"The secret string is foobazbar.");
    h.attach(&vs.id, json!({"file_id": file, "attributes": {"foo": "bar"}})).await.unwrap();
    let updated = h.api().update_file(&h.ctx, &vs.id, &file, serde_json::from_value(json!({"attributes": {"foo": "baz"}})).unwrap()).await.unwrap();
    assert_eq!(updated.attributes["foo"], "baz");
    assert_eq!(h.api().retrieve_file(&h.ctx, &vs.id, &file).await.unwrap().attributes["foo"], "baz");

    let deleted = h.api().delete_file(&h.ctx, &vs.id, &file).await.unwrap();
    assert_eq!((deleted.object.as_str(), deleted.deleted), ("vector_store.file.deleted", true));
    let page = h.search(&vs.id, json!({"query": "secret string"})).await.unwrap();
    assert!(page.data.is_empty(), "chunks removed from the index");
    let e = h.api().retrieve_file(&h.ctx, &vs.id, &file).await.unwrap_err();
    assert_eq!(e.message(), format!("File {file} not found in vector store {}", vs.id));
    assert!(h.api().delete_file(&h.ctx, &vs.id, &file).await.is_err());
    assert!(h.api().file_contents(&h.ctx, &vs.id, &file).await.is_err());
}

async fn store_with_chunks(h: &Harness, provider: &str) -> String {
    let vs = h.create(json!({"provider_id": provider})).await.unwrap();
    h.api().insert_chunks(&h.ctx, &vs.id, chunks(), None).await.unwrap();
    vs.id
}

#[tokio::test]
async fn search_modes_rankers_and_bad_input() {
    let h = Harness::with(Setup { providers: vec![("kw", true), ("vec", false)], ..Setup::default() }).await;
    for provider in ["kw", "vec"] {
        let id = store_with_chunks(&h, provider).await;
        for mode in ["vector", "keyword", "hybrid"] {
            let page = h.search(&id, json!({"query": "Python programming language", "search_mode": mode})).await.unwrap();
            assert_eq!(page.data[0].attributes["document_id"], "doc1", "{provider} {mode}");
        }
        let weighted = json!({"query": "neural networks", "search_mode": "hybrid", "ranking_options": {"ranker": "weighted", "alpha": 0.0}});
        assert_eq!(h.search(&id, weighted).await.unwrap().data[0].attributes["document_id"], "doc3", "{provider}");
        let filtered = h.search(&id, json!({"query": "learning", "filters": {"topic": "ai"}})).await.unwrap();
        assert!(!filtered.data.is_empty() && filtered.data.iter().all(|r| r.attributes["topic"] == "ai"));
        let or = json!({"type": "or", "filters": [{"type": "eq", "key": "document_id", "value": "doc1"}, {"type": "gt", "key": "year", "value": 2000}]});
        assert_eq!(h.search(&id, json!({"query": "x", "filters": or})).await.unwrap().data.len(), 2);
    }
    let id = store_with_chunks(&h, "kw").await;
    let top = h.search(&id, json!({"query": PYTHON, "max_num_results": 3})).await.unwrap();
    let threshold = top.data[1].score + 0.0001;
    let only = h.search(&id, json!({"query": PYTHON, "ranking_options": {"score_threshold": threshold}})).await.unwrap();
    assert_eq!(only.data.len(), 1);
    assert_eq!(h.search(&id, json!({"query": "x", "max_num_results": 2})).await.unwrap().data.len(), 2);
    assert_eq!(h.search(&id, json!({"query": ["python", "language"]})).await.unwrap().search_query, "python language");

    for bad in [
        json!({"query": "q", "search_mode": "fuzzy"}),
        json!({"query": "q", "max_num_results": 0}),
        json!({"query": "q", "filters": {"type": "near", "key": "a", "value": 1}}),
        json!({"query": "q", "ranking_options": {"ranker": "magic"}}),
    ] {
        let e = h.search(&id, bad.clone()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{bad}");
    }
}

#[tokio::test]
async fn native_insert_and_query() {
    let h = Harness::new().await;
    let id = store_with_chunks(&h, "memory").await;
    let r = h.api().query_chunks(&h.ctx, &id, &json!("What is the biological inspiration for neural networks?"), QueryParams::default()).await.unwrap();
    assert_eq!(r.chunks.len(), 3);
    assert_eq!(r.chunks.len(), r.scores.len());
    assert_eq!(r.chunks[0].metadata["document_id"], "doc3");
    assert!(r.chunks[0].chunk_id.is_some());
    assert!(r.chunks[0].embedding.is_none());
    let params: QueryParams = serde_json::from_value(json!({"max_chunks": 1, "mode": "keyword"})).unwrap();
    let r = h.api().query_chunks(&h.ctx, &id, &json!([{"type": "text", "text": "python"}]), params).await.unwrap();
    assert_eq!((r.chunks.len(), r.chunks[0].metadata["document_id"].as_str()), (1, Some("doc1")));

    // chunk ids: given in metadata, or derived from document id and content (re-insert replaces)
    let given: Vec<lls_api_vector_io::Chunk> = serde_json::from_value(json!([
        {"content": "precomputed", "metadata": {"document_id": "doc9", "chunk_id": "chunk1"}, "embedding": vec![0.1; DIM]}
    ]))
    .unwrap();
    h.api().insert_chunks(&h.ctx, &id, given, None).await.unwrap();
    h.api().insert_chunks(&h.ctx, &id, chunks(), None).await.unwrap();
    let all: QueryParams = serde_json::from_value(json!({"max_chunks": 100})).unwrap();
    let r = h.api().query_chunks(&h.ctx, &id, &json!("anything"), all).await.unwrap();
    assert_eq!(r.chunks.len(), 4);
    assert!(r.chunks.iter().any(|c| c.chunk_id.as_deref() == Some("chunk1")));

    let wrong: Vec<lls_api_vector_io::Chunk> = serde_json::from_value(json!([{"content": "x", "embedding": [0.1, 0.2]}])).unwrap();
    let e = h.api().insert_chunks(&h.ctx, &id, wrong, None).await.unwrap_err();
    assert_eq!(e.param(), Some("chunks[0].embedding"));
    let image: Vec<lls_api_vector_io::Chunk> = serde_json::from_value(json!([{"content": {"type": "image", "image": {}}}])).unwrap();
    assert!(h.api().insert_chunks(&h.ctx, &id, image, None).await.is_err());
    let bad_doc: Vec<lls_api_vector_io::Chunk> = serde_json::from_value(json!([{"content": "x", "metadata": {"document_id": 3}}])).unwrap();
    assert!(h.api().insert_chunks(&h.ctx, &id, bad_doc, None).await.is_err());
    assert!(h.api().insert_chunks(&h.ctx, &id, chunks(), Some(0)).await.is_err());
    let bad_mode: QueryParams = serde_json::from_value(json!({"mode": "semantic"})).unwrap();
    assert!(h.api().query_chunks(&h.ctx, &id, &json!("q"), bad_mode).await.is_err());
    assert!(h.api().query_chunks(&h.ctx, "vs_nope", &json!("q"), QueryParams::default()).await.is_err());
}

#[tokio::test]
async fn chunks_with_a_ttl_expire() {
    let h = Harness::with(Setup { providers: vec![("vec", false)], ..Setup::default() }).await;
    let vs = h.create(json!({})).await.unwrap();
    h.api().insert_chunks(&h.ctx, &vs.id, chunks(), Some(60)).await.unwrap();
    let keyword: QueryParams = serde_json::from_value(json!({"mode": "keyword", "max_chunks": 10})).unwrap();
    assert_eq!(h.api().query_chunks(&h.ctx, &vs.id, &json!("python"), keyword.clone()).await.unwrap().chunks.len(), 1);
    assert_eq!(h.service.sweep_expired(lls_api_common::unix_now()).await.unwrap(), 0);
    assert_eq!(h.service.sweep_expired(lls_api_common::unix_now() + 61).await.unwrap(), 1);
    let all: QueryParams = serde_json::from_value(json!({"max_chunks": 10})).unwrap();
    assert!(h.api().query_chunks(&h.ctx, &vs.id, &json!("python"), all).await.unwrap().chunks.is_empty());
    assert!(h.api().query_chunks(&h.ctx, &vs.id, &json!("python"), keyword).await.unwrap().chunks.is_empty());
}

async fn wait_for_batch(h: &Harness, store: &str, batch: &str) -> lls_api_vector_io::VectorStoreFileBatchObject {
    for _ in 0..500 {
        let b = h.api().retrieve_file_batch(&h.ctx, store, batch).await.unwrap();
        if b.status != FileStatus::InProgress {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("batch {batch} did not finish");
}

#[tokio::test]
async fn file_batches_run_in_the_background() {
    let h = Harness::new().await;
    let vs = h.create(json!({})).await.unwrap();
    let ids: Vec<String> = (0..5).map(|i| h.files.add(&format!("b{i}.txt"), format!("batch file {i}").as_bytes())).collect();
    let mut with_bad = ids.clone();
    with_bad.push("invalid_file_id".into());
    *h.files.delay.lock() = Duration::from_millis(50);
    let body = json!({"file_ids": with_bad, "attributes": {"src": "batch"}});
    let batch = h.api().create_file_batch(&h.ctx, &vs.id, serde_json::from_value(body).unwrap()).await.unwrap();
    assert_eq!(batch.status, FileStatus::InProgress);
    assert_eq!((batch.file_counts.in_progress, batch.file_counts.total), (6, 6));
    assert!(batch.id.starts_with("batch_"));
    let done = wait_for_batch(&h, &vs.id, &batch.id).await;
    assert_eq!(done.status, FileStatus::Completed);
    assert_eq!((done.file_counts.completed, done.file_counts.failed), (5, 1));
    let files = h.api().list_files_in_batch(&h.ctx, &vs.id, &batch.id, ListFilesQuery::default()).await.unwrap();
    assert_eq!(files.data.len(), 6);
    assert!(files.data.iter().all(|f| f.attributes["src"] == "batch"));
    let failed = ListFilesQuery { filter: Some(FileStatus::Failed), ..Default::default() };
    assert_eq!(h.api().list_files_in_batch(&h.ctx, &vs.id, &batch.id, failed).await.unwrap().data[0].id, "invalid_file_id");
    let e = h.api().cancel_file_batch(&h.ctx, &vs.id, &batch.id).await.unwrap_err();
    assert!(e.message().contains("Cannot cancel batch"), "{e}");

    let all_bad = json!({"file_ids": ["nope-1", "nope-2"]});
    let batch = h.api().create_file_batch(&h.ctx, &vs.id, serde_json::from_value(all_bad).unwrap()).await.unwrap();
    assert_eq!(wait_for_batch(&h, &vs.id, &batch.id).await.status, FileStatus::Failed);

    assert!(h.api().retrieve_file_batch(&h.ctx, &vs.id, "batch_nope").await.is_err());
    let other = h.create(json!({})).await.unwrap();
    let e = h.api().retrieve_file_batch(&h.ctx, &other.id, &batch.id).await.unwrap_err();
    assert!(e.message().contains("does not belong"), "{e}");
    assert!(h.api().create_file_batch(&h.ctx, &vs.id, serde_json::from_value(json!({"file_ids": []})).unwrap()).await.is_err());
}

#[tokio::test]
async fn cancelling_a_batch_stops_files_not_started() {
    let h = Harness::new().await;
    let vs = h.create(json!({})).await.unwrap();
    let ids: Vec<String> = (0..16).map(|i| h.files.add(&format!("c{i}.txt"), format!("cancel file {i}").as_bytes())).collect();
    *h.files.delay.lock() = Duration::from_millis(200);
    let batch = h.api().create_file_batch(&h.ctx, &vs.id, serde_json::from_value(json!({"file_ids": ids})).unwrap()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let cancelled = h.api().cancel_file_batch(&h.ctx, &vs.id, &batch.id).await.unwrap();
    assert_eq!(cancelled.status, FileStatus::Cancelled);
    // A batch runs 6 files at once: those are under way, the other 10 are not started.
    assert!(cancelled.file_counts.cancelled >= 10, "{:?}", cancelled.file_counts);
    h.service.idle().await;
    let b = h.api().retrieve_file_batch(&h.ctx, &vs.id, &batch.id).await.unwrap();
    assert_eq!(b.status, FileStatus::Cancelled);
    assert_eq!(b.file_counts.in_progress, 0);
    assert_eq!(b.file_counts.completed + b.file_counts.cancelled, 16);
}

#[tokio::test]
async fn a_restart_keeps_everything_and_resumes_batches() {
    let h = Harness::new().await;
    let vs = h.create(json!({"name": "kept"})).await.unwrap();
    let file = h.files.add("a.txt", b"The secret string is foobazbar.");
    h.attach(&vs.id, json!({"file_id": file, "attributes": {"k": "v"}})).await.unwrap();
    let ids: Vec<String> = (0..6).map(|i| h.files.add(&format!("r{i}.txt"), format!("resumed file {i}").as_bytes())).collect();
    *h.files.delay.lock() = Duration::from_millis(100);
    let batch = h.api().create_file_batch(&h.ctx, &vs.id, serde_json::from_value(json!({"file_ids": ids})).unwrap()).await.unwrap();
    // "crash": a second service opens the same state while the first is still mid-batch
    let h2 = h.restart(Defaults { provider_id: None, embedding_model: Some(EMBED.into()) }).await;
    *h2.files.delay.lock() = Duration::ZERO;
    let again = h2.api().retrieve_vector_store(&h2.ctx, &vs.id).await.unwrap();
    assert_eq!(again.name.as_deref(), Some("kept"));
    assert_eq!(h2.api().retrieve_file(&h2.ctx, &vs.id, &file).await.unwrap().attributes["k"], "v");
    assert_eq!(h2.api().file_contents(&h2.ctx, &vs.id, &file).await.unwrap().content.len(), 1);
    let done = wait_for_batch(&h2, &vs.id, &batch.id).await;
    assert_eq!((done.status, done.file_counts.completed), (FileStatus::Completed, 6));
    let page = h2.search(&vs.id, json!({"query": "secret string", "max_num_results": 1})).await.unwrap();
    assert!(page.data[0].content[0].text.contains("foobazbar"));
    let vs2 = h2.api().retrieve_vector_store(&h2.ctx, &vs.id).await.unwrap();
    assert_eq!((vs2.file_counts.completed, vs2.file_counts.total), (7, 7));
    h.service.idle().await;
}

#[tokio::test]
async fn a_file_deleted_during_ingestion_leaves_no_chunks() {
    let h = Harness::new().await;
    let vs = h.create(json!({})).await.unwrap();
    let file = h.files.add("slow.txt", b"The secret string is foobazbar.");
    *h.files.delay.lock() = Duration::from_millis(200);
    let api = h.service.clone();
    let (ctx, store, f) = (h.ctx.clone(), vs.id.clone(), file.clone());
    let attach = tokio::spawn(async move {
        lls_api_vector_io::VectorStores::attach_file(&api, &ctx, &store, serde_json::from_value(json!({"file_id": f})).unwrap()).await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let listed = h.api().retrieve_file(&h.ctx, &vs.id, &file).await.unwrap();
    assert_eq!(listed.status, FileStatus::InProgress);
    h.api().delete_file(&h.ctx, &vs.id, &file).await.unwrap();
    attach.await.unwrap().unwrap();
    let all: QueryParams = serde_json::from_value(json!({"max_chunks": 10})).unwrap();
    assert!(h.api().query_chunks(&h.ctx, &vs.id, &json!("secret"), all).await.unwrap().chunks.is_empty());
    assert_eq!(h.api().retrieve_vector_store(&h.ctx, &vs.id).await.unwrap().file_counts.total, 0);
    let value: Value = serde_json::to_value(h.api().list_files(&h.ctx, &vs.id, ListFilesQuery::default()).await.unwrap()).unwrap();
    assert_eq!(value["data"], json!([]));
}
