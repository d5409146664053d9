//! Two service instances on one kv store and one vector database, as two server replicas on
//! one PostgreSQL: what one creates, changes or deletes, the other sees at once, and files a
//! stopped replica left in progress are finished by another, each chunk once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use lls_api_vector_io::FileStatus;
use lls_service_vector_io::Defaults;
use serde_json::json;

use crate::support::{EMBED, Harness};

const TEXT: &[u8] = b"The secret string is foobazbar.";

fn defaults() -> Defaults {
    Defaults { provider_id: None, embedding_model: Some(EMBED.into()) }
}


#[tokio::test]
async fn replicas_see_each_others_stores_files_and_batches_at_once() {
    let a = Harness::new().await;
    let b = a.restart(defaults()).await;
    let vs = a.create(json!({"name": "shared"})).await.unwrap();
    assert_eq!(b.api().retrieve_vector_store(&b.ctx, &vs.id).await.unwrap().name.as_deref(), Some("shared"));
    let listed = b.api().list_vector_stores(&b.ctx, serde_json::from_value(json!({})).unwrap()).await.unwrap();
    assert_eq!(listed.data.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [vs.id.as_str()]);

    let f = a.files.add("a.txt", TEXT);
    assert_eq!(b.attach(&vs.id, json!({"file_id": f})).await.unwrap().status, FileStatus::Completed);
    assert_eq!(a.file(&vs.id, &f).await.status, FileStatus::Completed);
    let counted = a.api().retrieve_vector_store(&a.ctx, &vs.id).await.unwrap();
    assert_eq!(counted.file_counts.completed, 1);
    let hits = a.search(&vs.id, json!({"query": "secret string"})).await.unwrap();
    assert_eq!(hits.data[0].file_id, f);

    let renamed = b.api().update_vector_store(&b.ctx, &vs.id, serde_json::from_value(json!({"name": "renamed"})).unwrap());
    renamed.await.unwrap();
    assert_eq!(a.api().retrieve_vector_store(&a.ctx, &vs.id).await.unwrap().name.as_deref(), Some("renamed"));

    let g = a.files.add("b.txt", TEXT);
    let batch = a.api().create_file_batch(&a.ctx, &vs.id, serde_json::from_value(json!({"file_ids": [g]})).unwrap());
    let batch = batch.await.unwrap();
    a.settled(&vs.id, &g).await;
    let seen = b.api().retrieve_file_batch(&b.ctx, &vs.id, &batch.id).await.unwrap();
    assert_eq!((seen.status, seen.file_counts.completed), (FileStatus::Completed, 1));

    b.api().delete_file(&b.ctx, &vs.id, &f).await.unwrap();
    let gone = a.api().retrieve_file(&a.ctx, &vs.id, &f).await.unwrap_err();
    assert!(gone.message().contains("not found"), "{gone}");
    b.api().delete_vector_store(&b.ctx, &vs.id).await.unwrap();
    let gone = a.api().retrieve_vector_store(&a.ctx, &vs.id).await.unwrap_err();
    assert!(gone.message().contains("not served"), "{gone}");
    assert!(a.api().list_vector_stores(&a.ctx, serde_json::from_value(json!({})).unwrap()).await.unwrap().data.is_empty());
}

#[tokio::test]
async fn a_live_replicas_work_is_left_to_it() {
    let a = Harness::new().await;
    let vs = a.create(json!({})).await.unwrap();
    let ids: Vec<String> = (0..3).map(|i| a.files.add(&format!("{i}.txt"), TEXT)).collect();
    *a.files.delay.lock() = Duration::from_millis(500);
    a.api().create_file_batch(&a.ctx, &vs.id, serde_json::from_value(json!({"file_ids": ids})).unwrap()).await.unwrap();
    let b = a.restart(defaults()).await;
    assert_eq!(b.service.take_over_abandoned().await.unwrap(), 0);
    for id in &ids {
        assert_eq!(b.settled(&vs.id, id).await.status, FileStatus::Completed);
    }
}

#[tokio::test]
async fn a_batch_a_stopped_replica_left_is_finished_by_another_each_chunk_once() {
    let a = Harness::new().await;
    let vs = a.create(json!({})).await.unwrap();
    let texts: Vec<String> = (0..8).map(|i| format!("Document {i} says the code is {}.", 1000 + i)).collect();
    let ids: Vec<String> = texts.iter().enumerate().map(|(i, t)| a.files.add(&format!("{i}.txt"), t.as_bytes())).collect();
    // B runs alongside A, before A stops.
    let b = a.restart(defaults()).await;
    *a.files.delay.lock() = Duration::from_secs(30);
    let batch = a.api().create_file_batch(&a.ctx, &vs.id, serde_json::from_value(json!({"file_ids": ids})).unwrap());
    let batch = batch.await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    a.tasks.shutdown(Duration::from_secs(5)).await;
    *a.files.delay.lock() = Duration::ZERO;
    for id in &ids {
        assert_eq!(b.file(&vs.id, id).await.status, FileStatus::InProgress);
    }

    assert_eq!(b.service.take_over_abandoned().await.unwrap(), ids.len());
    // Claimed once: a second sweep (or a third replica) finds nothing to take.
    assert_eq!(b.service.take_over_abandoned().await.unwrap(), 0);
    let c = b.restart(defaults()).await;
    assert_eq!(c.service.take_over_abandoned().await.unwrap(), 0);
    for id in &ids {
        assert_eq!(b.settled(&vs.id, id).await.status, FileStatus::Completed);
    }
    let done = c.api().retrieve_file_batch(&c.ctx, &vs.id, &batch.id).await.unwrap();
    assert_eq!((done.status, done.file_counts.completed), (FileStatus::Completed, ids.len() as u64));
    let hits = c.search(&vs.id, json!({"query": "the code is", "max_num_results": 50})).await.unwrap();
    let mut found: Vec<&str> = hits.data.iter().map(|h| h.file_id.as_str()).collect();
    found.sort_unstable();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(found, expected, "each file's one chunk, once");
    c.service.idle().await;
}
