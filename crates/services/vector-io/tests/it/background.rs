//! File ingestion as supervised background work: a request that is dropped (client timeout or
//! disconnect) does not stop it, and shutdown stops it at a safe point, leaving the file
//! `in_progress` for the next start to resume.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]


use std::time::{Duration, Instant};

use lls_api_vector_io::FileStatus;
use lls_service_vector_io::Defaults;
use serde_json::json;
use crate::support::{EMBED, Harness};

const TEXT: &[u8] = b"The secret string is foobazbar.";


#[tokio::test]
async fn a_dropped_attach_still_completes() {
    let h = Harness::new().await;
    let vs = h.create(json!({})).await.unwrap();
    let id = h.files.add("a.txt", TEXT);
    *h.files.delay.lock() = Duration::from_millis(300);
    // The client gives up midway: its request future is dropped.
    let attach = h.attach(&vs.id, json!({"file_id": id}));
    assert!(tokio::time::timeout(Duration::from_millis(50), attach).await.is_err());
    assert_eq!(h.file(&vs.id, &id).await.status, FileStatus::InProgress);
    let done = h.settled(&vs.id, &id).await;
    assert_eq!(done.status, FileStatus::Completed, "{:?}", done.last_error);
    let page = h.search(&vs.id, json!({"query": "secret string"})).await.unwrap();
    assert!(page.data[0].content[0].text.contains("foobazbar"));
}

#[tokio::test]
async fn a_dropped_create_with_file_ids_still_ingests_them() {
    let h = Harness::new().await;
    let ids: Vec<String> = (0..3).map(|i| h.files.add(&format!("{i}.txt"), TEXT)).collect();
    *h.files.delay.lock() = Duration::from_millis(300);
    let create = h.create(json!({"name": "dropped", "file_ids": ids}));
    assert!(tokio::time::timeout(Duration::from_millis(100), create).await.is_err());
    let stores = h.api().list_vector_stores(&h.ctx, serde_json::from_value(json!({})).unwrap()).await.unwrap();
    let vs = stores.data.into_iter().find(|s| s.name.as_deref() == Some("dropped")).unwrap();
    for id in &ids {
        assert_eq!(h.settled(&vs.id, id).await.status, FileStatus::Completed);
    }
}

#[tokio::test]
async fn the_request_still_waits_for_the_outcome() {
    let h = Harness::new().await;
    let vs = h.create(json!({})).await.unwrap();
    let id = h.files.add("a.txt", TEXT);
    *h.files.delay.lock() = Duration::from_millis(100);
    let attached = h.attach(&vs.id, json!({"file_id": id})).await.unwrap();
    assert_eq!(attached.status, FileStatus::Completed);
    let missing = h.attach(&vs.id, json!({"file_id": "file-missing"})).await.unwrap();
    assert_eq!(missing.status, FileStatus::Failed);
}

#[tokio::test]
async fn shutdown_stops_ingestion_and_a_restart_resumes_it() {
    let h = Harness::new().await;
    let vs = h.create(json!({})).await.unwrap();
    let id = h.files.add("a.txt", TEXT);
    *h.files.delay.lock() = Duration::from_secs(30);
    let api = h.service.clone();
    let (ctx, store, f) = (h.ctx.clone(), vs.id.clone(), id.clone());
    let attach = tokio::spawn(async move {
        lls_api_vector_io::VectorStores::attach_file(&api, &ctx, &store, serde_json::from_value(json!({"file_id": f})).unwrap()).await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    h.tasks.shutdown(Duration::from_secs(10)).await;
    assert!(started.elapsed() < Duration::from_secs(2), "shutdown waited {:?}", started.elapsed());
    // The waiting request learns where the file stands: still in progress, nothing indexed.
    assert_eq!(attach.await.unwrap().unwrap().status, FileStatus::InProgress);
    assert_eq!(h.file(&vs.id, &id).await.status, FileStatus::InProgress);
    assert!(h.search(&vs.id, json!({"query": "secret string"})).await.unwrap().data.is_empty());

    let h2 = h.restart(Defaults { provider_id: None, embedding_model: Some(EMBED.into()) }).await;
    *h2.files.delay.lock() = Duration::ZERO;
    assert_eq!(h2.settled(&vs.id, &id).await.status, FileStatus::Completed);
    let page = h2.search(&vs.id, json!({"query": "secret string"})).await.unwrap();
    assert!(page.data[0].content[0].text.contains("foobazbar"));
}

#[tokio::test]
async fn shutdown_leaves_unstarted_batch_files_for_the_next_start() {
    let h = Harness::new().await;
    let vs = h.create(json!({})).await.unwrap();
    let ids: Vec<String> = (0..6).map(|i| h.files.add(&format!("{i}.txt"), TEXT)).collect();
    *h.files.delay.lock() = Duration::from_secs(30);
    let batch = h.api().create_file_batch(&h.ctx, &vs.id, serde_json::from_value(json!({"file_ids": ids})).unwrap()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    h.tasks.shutdown(Duration::from_secs(10)).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    for id in &ids {
        assert_eq!(h.file(&vs.id, id).await.status, FileStatus::InProgress);
    }
    let h2 = h.restart(Defaults { provider_id: None, embedding_model: Some(EMBED.into()) }).await;
    *h2.files.delay.lock() = Duration::ZERO;
    for id in &ids {
        assert_eq!(h2.settled(&vs.id, id).await.status, FileStatus::Completed);
    }
    let done = h2.api().retrieve_file_batch(&h2.ctx, &vs.id, &batch.id).await.unwrap();
    assert_eq!((done.status, done.file_counts.completed), (FileStatus::Completed, 6));
}
