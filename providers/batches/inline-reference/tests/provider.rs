//! What the batches provider promises beyond the API's suite: a batch survives a restart and
//! resumes without rerunning what finished; with several replicas on one store exactly one runs
//! a batch, and a live replica takes over one whose replica is gone; batches are their
//! creator's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers of an integration test crate

use std::sync::Arc;
use std::time::Duration;

use lls_api_batches::{BatchObject, BatchStatus, Batches, CreateBatchRequest, ListBatchesQuery};
use lls_api_common::replicas::Presence;
use lls_api_common::store::KvStore;
use lls_api_common::{ErrorKind, RequestContext, Tasks};
use lls_api_files::Files;
use lls_batches_inline_reference::{Parts, ReferenceBatches, ReferenceBatchesConfig};
use lls_testkit::callers::{caller_ctx, default_policy};
use lls_testkit::fake_inference::{FakeInference, FixedModels};
use lls_testkit::memory_files::MemoryFiles;
use serde_json::{Value, json};

struct Shared {
    kv: Arc<dyn KvStore>,
    files: Arc<MemoryFiles>,
}

async fn shared() -> Shared {
    let stores = lls_testkit::stores::memory_stores();
    let kv = stores
        .kv(&ReferenceBatchesConfig::new("kv_default", "batches").kvstore)
        .await
        .unwrap();
    Shared {
        kv,
        files: MemoryFiles::new(),
    }
}

fn parts(s: &Shared, inference: &Arc<FakeInference>, tasks: &Tasks) -> Parts {
    let mut config = ReferenceBatchesConfig::new("kv_default", "batches");
    config.max_concurrent_requests_per_batch = 4;
    Parts {
        config,
        kv: s.kv.clone(),
        inference: inference.clone(),
        files: s.files.clone(),
        models: FixedModels::new(&["chat", "slow-40"]),
        responses: None,
        tasks: tasks.clone(),
    }
}

async fn input(s: &Shared, model: &str, n: usize) -> String {
    let lines: Vec<String> = (0..n)
        .map(|i| {
            json!({"custom_id": format!("r{i}"), "method": "POST", "url": "/v1/chat/completions",
                   "body": {"model": model, "messages": [{"role": "user", "content": format!("n {i}")}]}})
            .to_string()
        })
        .collect();
    s.files.put("in.jsonl", lines.join("\n")).await.unwrap()
}

fn create(file: &str) -> CreateBatchRequest {
    CreateBatchRequest {
        input_file_id: file.into(),
        endpoint: "/v1/chat/completions".into(),
        completion_window: "24h".into(),
        metadata: None,
        idempotency_key: None,
    }
}

async fn wait(
    provider: &dyn Batches,
    id: &str,
    until: impl Fn(&BatchObject) -> bool,
) -> BatchObject {
    for _ in 0..1200 {
        let b = provider
            .retrieve_batch(&RequestContext::default(), id)
            .await
            .unwrap();
        if until(&b) {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("batch {id} never got there");
}

async fn output_ids(s: &Shared, batch: &BatchObject) -> Vec<String> {
    let content = s
        .files
        .content(
            &RequestContext::default(),
            batch.output_file_id.as_deref().unwrap(),
        )
        .await
        .unwrap();
    std::str::from_utf8(&content.content)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["custom_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_a_batch_without_rerunning_flushed_requests() {
    let s = shared().await;
    let file = input(&s, "slow-40", 60).await;
    let (first_calls, first_tasks) = (FakeInference::new(), Tasks::new());
    let first = ReferenceBatches::start(parts(&s, &first_calls, &first_tasks))
        .await
        .unwrap();
    let id = first
        .create_batch(&RequestContext::default(), create(&file))
        .await
        .unwrap()
        .id;
    wait(&first, &id, |b| {
        b.request_counts.is_some_and(|c| c.completed >= 12)
    })
    .await;
    first_tasks.shutdown(Duration::from_secs(5)).await;
    let stopped = first
        .retrieve_batch(&RequestContext::default(), &id)
        .await
        .unwrap();
    assert_eq!(
        stopped.status,
        BatchStatus::InProgress,
        "a shutdown leaves the batch to resume"
    );
    let flushed = stopped.request_counts.unwrap().completed;
    assert!((12..60).contains(&flushed), "{flushed} flushed");

    let (second_calls, second_tasks) = (FakeInference::new(), Tasks::new());
    let second = ReferenceBatches::start(parts(&s, &second_calls, &second_tasks))
        .await
        .unwrap();
    let done = wait(&second, &id, |b| b.status.is_terminal()).await;
    assert_eq!(done.status, BatchStatus::Completed);
    assert_eq!(done.request_counts.unwrap().completed, 60);
    assert_eq!(
        second_calls.calls(),
        60 - flushed,
        "only what was not flushed runs again"
    );
    let mut ids = output_ids(&s, &done).await;
    assert_eq!(ids.len(), 60);
    ids.dedup();
    assert_eq!(ids.len(), 60, "each request once, in input order");
    second_tasks.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_live_replicas_only_the_creator_runs_a_batch() {
    let s = shared().await;
    let file = input(&s, "slow-40", 20).await;
    let (a_calls, a_tasks, b_calls, b_tasks) = (
        FakeInference::new(),
        Tasks::new(),
        FakeInference::new(),
        Tasks::new(),
    );
    let a = ReferenceBatches::start(parts(&s, &a_calls, &a_tasks))
        .await
        .unwrap();
    let b = ReferenceBatches::start(parts(&s, &b_calls, &b_tasks))
        .await
        .unwrap();
    let id = a
        .create_batch(&RequestContext::default(), create(&file))
        .await
        .unwrap()
        .id;
    b.sweep().await.unwrap();
    let done = wait(&b, &id, |x| x.status.is_terminal()).await;
    assert_eq!(done.status, BatchStatus::Completed);
    assert_eq!((a_calls.calls(), b_calls.calls()), (20, 0));
    a_tasks.shutdown(Duration::from_secs(5)).await;
    b_tasks.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_replica_takes_over_a_batch_whose_replica_is_gone() {
    let s = shared().await;
    let file = input(&s, "slow-40", 30).await;
    // A replica that never announced itself: to the others it looks gone.
    let (gone_calls, gone_tasks) = (FakeInference::new(), Tasks::new());
    let gone = ReferenceBatches::with_presence(
        parts(&s, &gone_calls, &gone_tasks),
        Arc::new(Presence::new(s.kv.clone(), "replicas:")),
    );
    let id = gone
        .create_batch(&RequestContext::default(), create(&file))
        .await
        .unwrap()
        .id;
    wait(&gone, &id, |b| {
        b.request_counts.is_some_and(|c| c.completed >= 4)
    })
    .await;
    gone_tasks.shutdown(Duration::from_secs(5)).await;

    let (live_calls, live_tasks) = (FakeInference::new(), Tasks::new());
    let live = ReferenceBatches::start(parts(&s, &live_calls, &live_tasks))
        .await
        .unwrap();
    let (other_calls, other_tasks) = (FakeInference::new(), Tasks::new());
    let other = ReferenceBatches::start(parts(&s, &other_calls, &other_tasks))
        .await
        .unwrap();
    other.sweep().await.unwrap();
    let done = wait(&live, &id, |b| b.status.is_terminal()).await;
    assert_eq!(done.status, BatchStatus::Completed);
    assert_eq!(done.request_counts.unwrap().completed, 30);
    assert_eq!(output_ids(&s, &done).await.len(), 30);
    let ran = live_calls.calls() + other_calls.calls();
    assert!(
        ran > 0 && ran < 30,
        "the rest ran once, by one replica: {} + {}",
        live_calls.calls(),
        other_calls.calls()
    );
    assert!(
        live_calls.calls() == 0 || other_calls.calls() == 0,
        "both replicas ran it"
    );
    live_tasks.shutdown(Duration::from_secs(5)).await;
    other_tasks.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_and_their_files_are_their_creators() {
    let s = shared().await;
    let file = input(&s, "chat", 2).await;
    let (calls, tasks) = (FakeInference::new(), Tasks::new());
    let provider = ReferenceBatches::start(parts(&s, &calls, &tasks))
        .await
        .unwrap();
    let alice = caller_ctx("alice", &[("roles", &["a"])], default_policy());
    let bob = caller_ctx("bob", &[("roles", &["b"])], default_policy());
    let id = provider
        .create_batch(&alice, create(&file))
        .await
        .unwrap()
        .id;
    for result in [
        provider.retrieve_batch(&bob, &id).await,
        provider.cancel_batch(&bob, &id).await,
    ] {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound);
    }
    assert!(
        provider
            .list_batches(&bob, ListBatchesQuery::default())
            .await
            .unwrap()
            .data
            .is_empty()
    );
    assert_eq!(
        provider
            .list_batches(&alice, ListBatchesQuery::default())
            .await
            .unwrap()
            .data
            .len(),
        1
    );
    let done = wait(&provider, &id, |b| b.status.is_terminal()).await;
    assert_eq!(done.status, BatchStatus::Completed);
    // The same key from two users names two batches.
    let keyed = |ctx: &RequestContext| {
        let mut r = create(&file);
        r.idempotency_key = Some("same".into());
        (ctx.clone(), r)
    };
    let (ctx, r) = keyed(&alice);
    let a = provider.create_batch(&ctx, r).await.unwrap();
    let (ctx, r) = keyed(&bob);
    let b = provider.create_batch(&ctx, r).await.unwrap();
    assert_ne!(a.id, b.id);
    tasks.shutdown(Duration::from_secs(5)).await;
}
