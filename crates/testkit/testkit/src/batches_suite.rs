//! The conformance suite of the batches API: scenario functions taking a [`BatchesHarness`],
//! and [`batches_conformance!`](crate::batches_conformance) to turn them into one test each
//! inside a provider crate. The harness's inference and files are what the provider was built
//! with; its models must include `chat_model`, `embedding_model` and `slow_model` (whose
//! requests take long enough to cancel a batch in the middle: the test kit's
//! [`FakeInference`](crate::fake_inference::FakeInference) serves `slow-<ms>`).

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use bytes::Bytes;
use lls_api_batches::{BatchObject, BatchStatus, Batches, CreateBatchRequest, ListBatchesQuery};
use lls_api_common::{ErrorKind, RequestContext};
use lls_api_files::{FilePurpose, Files, UploadFile};
use serde_json::{Value, json};

pub use crate::scenario::{Outcome, ScenarioResult, TestResult};
use crate::scenario::{Runtime, Scenario, Suite};

/// What a provider crate's setup gives the suite. `_guard` keeps the backends alive.
pub struct BatchesHarness {
    pub provider: Arc<dyn Batches>,
    /// The files API the provider reads inputs from and writes results to.
    pub files: Arc<dyn Files>,
    pub ctx: RequestContext,
    pub chat_model: String,
    pub embedding_model: String,
    /// A model whose answers take a while (at least ~100 ms each).
    pub slow_model: String,
    pub _guard: Box<dyn Any + Send>,
}

impl std::fmt::Debug for BatchesHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchesHarness").field("chat_model", &self.chat_model).finish_non_exhaustive()
    }
}

/// Every scenario runs with any harness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features;

impl BatchesHarness {
    pub fn features(&self) -> Features {
        Features
    }

    async fn upload(&self, lines: &[Value]) -> anyhow::Result<String> {
        let text: Vec<String> = lines.iter().map(Value::to_string).collect();
        self.upload_text(&text.join("\n")).await
    }

    async fn upload_text(&self, text: &str) -> anyhow::Result<String> {
        let upload = UploadFile {
            filename: "input.jsonl".into(),
            content_type: None,
            content: Bytes::from(text.to_owned()),
            purpose: FilePurpose::Batch,
            expires_after: None,
        };
        Ok(self.files.upload(&self.ctx, upload).await.map_err(|e| anyhow!("uploading the input: {e}"))?.id)
    }

    async fn create(&self, input_file_id: &str, endpoint: &str) -> anyhow::Result<BatchObject> {
        self.create_with(input_file_id, endpoint, None, None).await
    }

    async fn create_with(&self, input_file_id: &str, endpoint: &str, metadata: Option<Value>, key: Option<&str>) -> anyhow::Result<BatchObject> {
        let request = CreateBatchRequest {
            input_file_id: input_file_id.into(),
            endpoint: endpoint.into(),
            completion_window: "24h".into(),
            metadata,
            idempotency_key: key.map(str::to_owned),
        };
        self.provider.create_batch(&self.ctx, request).await.map_err(|e| anyhow!("create_batch: {e}"))
    }

    /// Polls until the batch ends; fails after 30 s.
    async fn ended(&self, id: &str) -> anyhow::Result<BatchObject> {
        for _ in 0..600 {
            let batch = self.provider.retrieve_batch(&self.ctx, id).await.map_err(|e| anyhow!("retrieve_batch: {e}"))?;
            if batch.status.is_terminal() {
                return Ok(batch);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("batch {id} did not end within 30 s")
    }

    async fn lines(&self, file_id: Option<&str>) -> anyhow::Result<Vec<Value>> {
        let id = file_id.context("the batch has no such file")?;
        let content = self.files.content(&self.ctx, id).await.map_err(|e| anyhow!("reading {id}: {e}"))?;
        let text = std::str::from_utf8(&content.content)?;
        text.lines().filter(|l| !l.is_empty()).map(|l| serde_json::from_str(l).context("a result line is not JSON")).collect()
    }

    fn chat(&self, custom_id: &str, text: &str) -> Value {
        json!({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": self.chat_model, "messages": [{"role": "user", "content": text}]}})
    }
}

/// The suite (the scenarios [`batches_conformance!`](crate::batches_conformance) must generate).
pub const SUITE: Suite<Features> = Suite {
    api: "batches",
    scenarios: &[
        Scenario::always("chat_batch_completes_with_results_in_input_order"),
        Scenario::always("embeddings_and_completions_batches_complete"),
        Scenario::always("a_refused_request_goes_to_the_error_file"),
        Scenario::always("invalid_lines_fail_the_batch_with_line_errors"),
        Scenario::always("a_missing_input_file_fails_the_batch"),
        Scenario::always("bad_create_requests_are_refused_before_a_batch_exists"),
        Scenario::always("cancel_ends_a_running_batch_with_partial_results"),
        Scenario::always("ended_batches_cannot_be_cancelled_and_unknown_ids_are_not_found"),
        Scenario::always("idempotency_key_returns_the_batch_or_conflicts"),
        Scenario::always("list_pages_newest_first"),
    ],
    timeout: Duration::from_secs(120),
    runtime: Runtime::MultiThread { workers: 2 },
};

/// A chat batch completes: `request_counts`, one output line per request in input order, each
/// OpenAI's line shape with the answer as `response.body`; no error file.
pub async fn chat_batch_completes_with_results_in_input_order(h: &BatchesHarness) -> ScenarioResult {
    let lines: Vec<Value> = (0..12).map(|i| h.chat(&format!("req-{i}"), &format!("hello {i}"))).collect();
    let file = h.upload(&lines).await?;
    let created = h.create_with(&file, "/v1/chat/completions", Some(json!({"team": "a"})), None).await?;
    ensure!(created.status == BatchStatus::Validating, "created as {:?}", created.status);
    ensure!(created.expires_at == Some(created.created_at + 24 * 3600), "expires_at {:?}", created.expires_at);
    let batch = h.ended(&created.id).await?;
    ensure!(batch.status == BatchStatus::Completed, "ended {:?}: {:?}", batch.status, batch.errors);
    let counts = batch.request_counts.context("no request_counts")?;
    ensure!((counts.total, counts.completed, counts.failed) == (12, 12, 0), "counts {counts:?}");
    ensure!(batch.error_file_id.is_none(), "an error file without errors");
    ensure!(batch.in_progress_at.is_some() && batch.finalizing_at.is_some() && batch.completed_at.is_some(), "timestamps {batch:?}");
    ensure!(batch.metadata.as_ref().and_then(|m| m.get("team")).map(String::as_str) == Some("a"), "metadata {:?}", batch.metadata);
    let output = h.lines(batch.output_file_id.as_deref()).await?;
    let ids: Vec<&str> = output.iter().filter_map(|l| l["custom_id"].as_str()).collect();
    let want: Vec<String> = (0..12).map(|i| format!("req-{i}")).collect();
    ensure!(ids == want.iter().map(String::as_str).collect::<Vec<_>>(), "custom_ids {ids:?}");
    for line in &output {
        ensure!(line["response"]["status_code"] == 200, "status {line}");
        ensure!(line["error"].is_null(), "error on a success line {line}");
        let body = &line["response"]["body"];
        let body = if let Some(text) = body.as_str() { serde_json::from_str(text)? } else { body.clone() };
        ensure!(body["choices"][0]["message"]["content"].is_string(), "body {body}");
        ensure!(line["id"].as_str().is_some_and(|id| id.starts_with("batch_req_")), "id {line}");
    }
    let usage = batch.usage.context("no usage")?;
    ensure!(usage.total_tokens == usage.input_tokens + usage.output_tokens && usage.input_tokens > 0, "usage {usage:?}");
    Ok(Outcome::Passed)
}

/// Embeddings (string and list inputs) and completions batches complete.
pub async fn embeddings_and_completions_batches_complete(h: &BatchesHarness) -> ScenarioResult {
    let lines = [
        json!({"custom_id": "one", "method": "POST", "url": "/v1/embeddings", "body": {"model": h.embedding_model, "input": "hello"}}),
        json!({"custom_id": "three", "method": "POST", "url": "/v1/embeddings", "body": {"model": h.embedding_model, "input": ["a", "b", "c"]}}),
    ];
    let batch = h.ended(&h.create(&h.upload(&lines).await?, "/v1/embeddings").await?.id).await?;
    ensure!(batch.status == BatchStatus::Completed, "embeddings batch {:?}: {:?}", batch.status, batch.errors);
    let output = h.lines(batch.output_file_id.as_deref()).await?;
    let sizes: Vec<usize> = output
        .iter()
        .map(|l| {
            let body = &l["response"]["body"];
            let body: Value = body.as_str().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_else(|| body.clone());
            body["data"].as_array().map_or(0, Vec::len)
        })
        .collect();
    ensure!(sizes == [1, 3], "embeddings per line {sizes:?}");
    let completion = [json!({"custom_id": "c", "method": "POST", "url": "/v1/completions", "body": {"model": h.chat_model, "prompt": "Say hi", "max_tokens": 5}})];
    let batch = h.ended(&h.create(&h.upload(&completion).await?, "/v1/completions").await?.id).await?;
    ensure!(batch.status == BatchStatus::Completed, "completions batch {:?}: {:?}", batch.status, batch.errors);
    ensure!(h.lines(batch.output_file_id.as_deref()).await?.len() == 1, "one completion line");
    Ok(Outcome::Passed)
}

/// A request the endpoint refuses fails alone: the batch completes, its line is in the error
/// file with the status `/v1/...` would answer and an `error`.
pub async fn a_refused_request_goes_to_the_error_file(h: &BatchesHarness) -> ScenarioResult {
    let lines = [
        h.chat("good", "hi"),
        json!({"custom_id": "bad", "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": h.chat_model, "messages": [{"rolez": "user", "contentz": "x"}]}}),
    ];
    let batch = h.ended(&h.create(&h.upload(&lines).await?, "/v1/chat/completions").await?.id).await?;
    ensure!(batch.status == BatchStatus::Completed, "ended {:?}: {:?}", batch.status, batch.errors);
    let counts = batch.request_counts.context("no counts")?;
    ensure!((counts.completed, counts.failed) == (1, 1), "counts {counts:?}");
    let errors = h.lines(batch.error_file_id.as_deref()).await?;
    ensure!(errors.len() == 1 && errors[0]["custom_id"] == "bad", "error file {errors:?}");
    ensure!(errors[0]["response"]["status_code"] == 400, "status {}", errors[0]);
    ensure!(errors[0]["error"]["message"].is_string(), "error {}", errors[0]);
    ensure!(h.lines(batch.output_file_id.as_deref()).await?.len() == 1, "one output line");
    Ok(Outcome::Passed)
}

/// Bad lines fail the batch before any request runs: OpenAI's codes, 1-based lines, params.
pub async fn invalid_lines_fail_the_batch_with_line_errors(h: &BatchesHarness) -> ScenarioResult {
    let text = [
        h.chat("a", "hi").to_string(),
        "{not json".to_owned(),
        json!({"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "no-such-model", "messages": []}}).to_string(),
        json!({"custom_id": "c", "method": "POST", "url": "/v1/embeddings", "body": {"model": h.chat_model, "messages": []}}).to_string(),
        json!({"custom_id": "d", "method": "POST", "url": "/v1/chat/completions", "body": {"model": h.chat_model, "messages": [], "stream": true}}).to_string(),
    ]
    .join("\n");
    let batch = h.ended(&h.create(&h.upload_text(&text).await?, "/v1/chat/completions").await?.id).await?;
    ensure!(batch.status == BatchStatus::Failed && batch.failed_at.is_some(), "ended {:?}", batch.status);
    let errors = batch.errors.context("no errors")?.data;
    let got: Vec<(&str, Option<u64>)> = errors.iter().map(|e| (e.code.as_str(), e.line)).collect();
    let want = [("invalid_json_line", Some(2)), ("model_not_found", Some(3)), ("invalid_url", Some(4)), ("streaming_unsupported", Some(5))];
    ensure!(got == want, "errors {got:?}");
    ensure!(batch.output_file_id.is_none(), "a failed batch wrote results");
    Ok(Outcome::Passed)
}

/// An input file that is not there: the batch fails naming it.
pub async fn a_missing_input_file_fails_the_batch(h: &BatchesHarness) -> ScenarioResult {
    let batch = h.ended(&h.create("file-00000000000000000000000000000000", "/v1/chat/completions").await?.id).await?;
    ensure!(batch.status == BatchStatus::Failed, "ended {:?}", batch.status);
    let errors = batch.errors.context("no errors")?.data;
    ensure!(errors.len() == 1 && errors[0].message.to_lowercase().contains("cannot find file"), "errors {errors:?}");
    Ok(Outcome::Passed)
}

/// Endpoint, window and metadata are refused with a 400 naming the field; nothing is created.
pub async fn bad_create_requests_are_refused_before_a_batch_exists(h: &BatchesHarness) -> ScenarioResult {
    let file = h.upload(&[h.chat("a", "hi")]).await?;
    let before = h.provider.list_batches(&h.ctx, ListBatchesQuery::default()).await.map_err(|e| anyhow!("{e}"))?.data.len();
    for (endpoint, window, metadata, param) in [
        ("/v1/nope", "24h", None, "endpoint"),
        ("/v1/chat/completions", "1h", None, "completion_window"),
        ("/v1/chat/completions", "24h", Some(json!({"tags": ["x"]})), "metadata.tags"),
    ] {
        let request = CreateBatchRequest {
            input_file_id: file.clone(),
            endpoint: endpoint.into(),
            completion_window: window.into(),
            metadata,
            idempotency_key: None,
        };
        match h.provider.create_batch(&h.ctx, request).await {
            Err(e) if e.kind() == ErrorKind::InvalidRequest && e.param() == Some(param) => {}
            other => bail!("{param}: {other:?}"),
        }
    }
    let after = h.provider.list_batches(&h.ctx, ListBatchesQuery::default()).await.map_err(|e| anyhow!("{e}"))?.data.len();
    ensure!(before == after, "a refused create made a batch");
    Ok(Outcome::Passed)
}

/// Cancelling a running batch answers `cancelling` at once; it ends `cancelled` with the
/// results it had written to its files and the counts saying so.
pub async fn cancel_ends_a_running_batch_with_partial_results(h: &BatchesHarness) -> ScenarioResult {
    let lines: Vec<Value> = (0..200)
        .map(|i| json!({"custom_id": format!("s{i}"), "method": "POST", "url": "/v1/chat/completions",
                         "body": {"model": h.slow_model, "messages": [{"role": "user", "content": "hi"}]}}))
        .collect();
    let created = h.create(&h.upload(&lines).await?, "/v1/chat/completions").await?;
    for _ in 0..200 {
        let b = h.provider.retrieve_batch(&h.ctx, &created.id).await.map_err(|e| anyhow!("{e}"))?;
        if b.request_counts.is_some_and(|c| c.completed > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let cancelling = h.provider.cancel_batch(&h.ctx, &created.id).await.map_err(|e| anyhow!("cancel_batch: {e}"))?;
    ensure!(matches!(cancelling.status, BatchStatus::Cancelling | BatchStatus::Cancelled), "cancel answered {:?}", cancelling.status);
    ensure!(cancelling.cancelling_at.is_some(), "no cancelling_at");
    let batch = h.ended(&created.id).await?;
    ensure!(batch.status == BatchStatus::Cancelled && batch.cancelled_at.is_some(), "ended {:?}", batch.status);
    let counts = batch.request_counts.context("no counts")?;
    ensure!(counts.total == 200 && counts.completed > 0 && counts.completed < 200, "counts {counts:?}");
    let output = h.lines(batch.output_file_id.as_deref()).await?;
    ensure!(output.len() as u64 == counts.completed, "{} output lines for {} completed", output.len(), counts.completed);
    Ok(Outcome::Passed)
}

/// A completed batch cannot be cancelled (409); unknown ids are 404 for retrieve and cancel.
pub async fn ended_batches_cannot_be_cancelled_and_unknown_ids_are_not_found(h: &BatchesHarness) -> ScenarioResult {
    let batch = h.ended(&h.create(&h.upload(&[h.chat("a", "hi")]).await?, "/v1/chat/completions").await?.id).await?;
    ensure!(batch.status == BatchStatus::Completed, "ended {:?}", batch.status);
    match h.provider.cancel_batch(&h.ctx, &batch.id).await {
        Err(e) if e.kind() == ErrorKind::Conflict && e.message().to_lowercase().contains("cannot cancel") => {}
        other => bail!("cancel of a completed batch: {other:?}"),
    }
    for result in [
        h.provider.retrieve_batch(&h.ctx, "batch-nonexistent").await,
        h.provider.cancel_batch(&h.ctx, "batch-nonexistent").await,
    ] {
        match result {
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            other => bail!("an unknown batch: {other:?}"),
        }
    }
    Ok(Outcome::Passed)
}

/// The same idempotency key and parameters (metadata in any order) answer the same batch;
/// other parameters are a 409 and leave the batch as it was.
pub async fn idempotency_key_returns_the_batch_or_conflicts(h: &BatchesHarness) -> ScenarioResult {
    let key = format!("key-{}", uuid::Uuid::new_v4());
    let first = h.create_with("bogus-1", "/v1/chat/completions", Some(json!({"a": "1", "b": "2"})), Some(&key)).await?;
    let again = h.create_with("bogus-1", "/v1/chat/completions", Some(json!({"b": "2", "a": "1"})), Some(&key)).await?;
    ensure!(first.id == again.id && first.created_at == again.created_at, "{} vs {}", first.id, again.id);
    let request = CreateBatchRequest {
        input_file_id: "bogus-2".into(),
        endpoint: "/v1/chat/completions".into(),
        completion_window: "24h".into(),
        metadata: None,
        idempotency_key: Some(key),
    };
    match h.provider.create_batch(&h.ctx, request).await {
        Err(e) if e.kind() == ErrorKind::Conflict => {}
        other => bail!("other parameters with the same key: {other:?}"),
    }
    let kept = h.provider.retrieve_batch(&h.ctx, &first.id).await.map_err(|e| anyhow!("{e}"))?;
    ensure!(kept.input_file_id == "bogus-1", "the batch changed: {kept:?}");
    let other = h.create_with("bogus-1", "/v1/chat/completions", None, None).await?;
    ensure!(other.id != first.id, "no key, yet the same batch");
    Ok(Outcome::Passed)
}

/// Listing is newest first, `after` continues, `limit` bounds, `has_more` is exact.
pub async fn list_pages_newest_first(h: &BatchesHarness) -> ScenarioResult {
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(h.create("file-00000000000000000000000000000000", "/v1/chat/completions").await?.id);
        // created_at has one-second resolution: the order among equal times is by id, so only
        // membership is checked for these three.
    }
    let page = h.provider.list_batches(&h.ctx, ListBatchesQuery { after: None, limit: Some(2) }).await.map_err(|e| anyhow!("{e}"))?;
    ensure!(page.data.len() == 2 && page.has_more, "first page {} has_more {}", page.data.len(), page.has_more);
    ensure!(page.first_id.as_deref() == Some(page.data[0].id.as_str()), "first_id");
    let all = h.provider.list_batches(&h.ctx, ListBatchesQuery { after: None, limit: Some(100) }).await.map_err(|e| anyhow!("{e}"))?;
    ensure!(ids.iter().all(|id| all.data.iter().any(|b| &b.id == id)), "a created batch is not listed");
    ensure!(all.data.windows(2).all(|w| w[0].created_at >= w[1].created_at), "not newest first");
    let rest = h
        .provider
        .list_batches(&h.ctx, ListBatchesQuery { after: page.last_id.clone(), limit: Some(100) })
        .await
        .map_err(|e| anyhow!("{e}"))?;
    ensure!(rest.data.len() + 2 == all.data.len() && !rest.has_more, "after: {} of {}", rest.data.len(), all.data.len());
    match h.provider.list_batches(&h.ctx, ListBatchesQuery { after: None, limit: Some(0) }).await {
        Err(e) if e.kind() == ErrorKind::InvalidRequest => {}
        other => bail!("limit 0: {other:?}"),
    }
    Ok(Outcome::Passed)
}

/// Expands into one `#[test]` per scenario of the batches suite inside a module
/// `batches_conformance`, plus `scenario_count`. `$setup` is an async block evaluating to a
/// [`BatchesHarness`]; it runs anew for every test.
#[macro_export]
macro_rules! batches_conformance {
    ($setup:expr $(,)?) => {
        $crate::__conformance_tests!(
            mod batches_conformance, suite batches_suite, setup $setup,
            |h: $crate::batches_suite::BatchesHarness| (&h),
            features ::std::result::Result::Ok(h.features());
            chat_batch_completes_with_results_in_input_order,
            embeddings_and_completions_batches_complete,
            a_refused_request_goes_to_the_error_file,
            invalid_lines_fail_the_batch_with_line_errors,
            a_missing_input_file_fails_the_batch,
            bad_create_requests_are_refused_before_a_batch_exists,
            cancel_ends_a_running_batch_with_partial_results,
            ended_batches_cannot_be_cancelled_and_unknown_ids_are_not_found,
            idempotency_key_returns_the_batch_or_conflicts,
            list_pages_newest_first,
        );
    };
}
