//! One batch's run: validate its input, send its requests through the inference API
//! (`max_concurrent_requests_per_batch` at a time), flush what finished to the store every
//! quarter second (so a restart or a takeover runs only what was not flushed), then write the
//! output and error files and end the batch. A cancel (this replica's token, or the store's
//! cancel key, checked at each flush) or the end of the completion window stops the requests
//! and ends the batch with the results it has, as OpenAI does; a shutdown stops it without
//! ending it, for the next run to resume.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use lls_api_agents::CreateResponseRequest;
use lls_api_batches::{
    BatchError, BatchErrors, BatchStatus, BatchUsage, InputTokensDetails, OutputTokensDetails,
    RequestCounts,
};
use lls_api_common::access::{AccessPolicy, Action, Caller, OwnerFilter, ProtectedResource, User};
use lls_api_common::{Error, ErrorKind, RequestContext, Result, unix_now};
use lls_api_files::{FilePurpose, UploadFile};
use lls_api_inference::{ChatCompletionRequest, CompletionRequest, EmbeddingsRequest, Output};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::ResponseBody;
use crate::input::{self, Input, Limits, Request};
use crate::provider::Inner;
use crate::records::{Finished, StoredBatch, Tokens};

/// How often finished requests are flushed (and a cancel or the window's end noticed).
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// Finished requests that make a flush before its time.
const FLUSH_AT: usize = 512;
/// A running batch logs its progress at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Why the requests stopped.
enum Stop {
    Done,
    Cancelled,
    Expired,
    ShuttingDown,
}

impl Inner {
    /// Runs batch `id` from where its stored state says it is.
    pub(crate) async fn run(self: &Arc<Self>, id: &str, cancel: &CancellationToken) -> Result<()> {
        let Some(mut batch) = self.records.raw_batch(id).await? else {
            return Ok(());
        };
        if batch.object.status.is_terminal() {
            return Ok(());
        }
        if cancel.is_cancelled() || self.records.cancel_requested(id).await?.is_some() {
            return self.end(&mut batch, BatchStatus::Cancelled).await;
        }
        if expired(&batch) {
            return self.end(&mut batch, BatchStatus::Expired).await;
        }
        let requests = match self.read_input(&batch).await? {
            Input::Valid(requests) => requests,
            Input::Invalid(errors) => return self.fail(&mut batch, errors).await,
        };
        let resumed = batch.object.status != BatchStatus::Validating;
        tracing::info!(
            batch = %id, endpoint = %batch.object.endpoint, requests = requests.len(),
            "{}", if resumed { "batch resumed" } else { "batch started" }
        );
        if batch.object.status == BatchStatus::Validating {
            batch.object.status = BatchStatus::InProgress;
            batch.object.in_progress_at = Some(unix_now());
            batch.object.request_counts = Some(RequestCounts {
                total: requests.len() as u64,
                completed: 0,
                failed: 0,
            });
            batch.object.model = requests
                .first()
                .and_then(|r| r.body.get("model"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            self.records.put_batch(&batch).await?;
        }
        match self.execute(&mut batch, requests, cancel).await? {
            Stop::Done => self.end(&mut batch, BatchStatus::Completed).await,
            Stop::Cancelled => self.end(&mut batch, BatchStatus::Cancelled).await,
            Stop::Expired => self.end(&mut batch, BatchStatus::Expired).await,
            Stop::ShuttingDown => Ok(()),
        }
    }

    /// The input file's requests, or why the batch fails. A file the creator could not read,
    /// or that is gone, fails the batch; a files backend that does not answer is an error
    /// (the run is retried).
    async fn read_input(&self, batch: &StoredBatch) -> Result<Input> {
        let file_id = &batch.object.input_file_id;
        let missing = || {
            Input::Invalid(vec![BatchError::new(
                "invalid_request",
                None,
                format!("Cannot find file {file_id}."),
                Some("input_file_id"),
            )])
        };
        if batch.input_unreadable {
            return Ok(missing());
        }
        let content = match self.files.content(&on_behalf_of(batch), file_id).await {
            Ok(content) => content.content,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::NotFound | ErrorKind::InvalidRequest | ErrorKind::Forbidden
                ) =>
            {
                return Ok(missing());
            }
            Err(e) => return Err(e),
        };
        let limits = Limits {
            max_requests: self.config.max_requests_per_batch,
            max_line_bytes: self.config.max_line_bytes,
        };
        Ok(input::check(
            &content,
            &batch.object.endpoint,
            limits,
            self.models.as_ref(),
        )
        .await)
    }

    /// Sends the requests not yet finished, flushing results as they come.
    async fn execute(
        self: &Arc<Self>,
        batch: &mut StoredBatch,
        requests: Vec<Request>,
        cancel: &CancellationToken,
    ) -> Result<Stop> {
        let id = batch.object.id.clone();
        let (finished, mut page) = self.records.results(&id).await?;
        let done: HashSet<u64> = finished.iter().map(|f| f.line).collect();
        let mut tally = Tally::default();
        finished.iter().for_each(|f| tally.add(f));
        let todo: Vec<Request> = requests
            .into_iter()
            .filter(|r| !done.contains(&r.line))
            .collect();
        let endpoint = batch.object.endpoint.clone();
        let ctx = on_behalf_of(batch);
        let id_for_requests = id.clone();
        // The requests (the producer) and the flushing (the consumer) are polled side by side,
        // so requests keep going while a flush waits for the store, and a request paused while
        // holding a pooled connection can never starve the flush of one.
        let mut pending: Vec<Finished> = Vec::new();
        let stop = {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Finished>(FLUSH_AT);
            let concurrency = self.config.max_concurrent_requests_per_batch;
            let producer = async move {
                let mut answers = futures::stream::iter(todo)
                    .map(|request| {
                        let (inner, ctx, endpoint, id) = (
                            self.clone(),
                            ctx.clone(),
                            endpoint.clone(),
                            id_for_requests.clone(),
                        );
                        async move { inner.answer(&ctx, &id, &endpoint, request).await }
                    })
                    .buffer_unordered(concurrency);
                while let Some(finished) = answers.next().await {
                    if tx.send(finished).await.is_err() {
                        break;
                    }
                }
            };
            let consumer = async {
                let mut logged = std::time::Instant::now();
                let mut tick = tokio::time::interval(FLUSH_EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        biased;
                        () = cancel.cancelled() => break Ok::<Stop, Error>(Stop::Cancelled),
                        () = self.tasks.stopping() => break Ok(Stop::ShuttingDown),
                        finished = rx.recv() => match finished {
                            Some(finished) => {
                                pending.push(finished);
                                if pending.len() >= FLUSH_AT {
                                    self.flush(batch, &mut pending, &mut page, &mut tally).await?;
                                }
                            }
                            None => break Ok(Stop::Done),
                        },
                        _ = tick.tick() => {
                            self.flush(batch, &mut pending, &mut page, &mut tally).await?;
                            if logged.elapsed() >= PROGRESS_EVERY {
                                logged = std::time::Instant::now();
                                let counts = batch.object.request_counts.unwrap_or_default();
                                tracing::info!(
                                    batch = %id, completed = counts.completed, failed = counts.failed, total = counts.total,
                                    "batch in progress"
                                );
                            }
                            if self.records.cancel_requested(&id).await?.is_some() {
                                break Ok(Stop::Cancelled);
                            }
                            if expired(batch) {
                                break Ok(Stop::Expired);
                            }
                        }
                    }
                }
            };
            tokio::pin!(producer);
            tokio::pin!(consumer);
            let mut produced = false;
            // Ends when the consumer does; the producer (and the requests in flight) are dropped then.
            loop {
                tokio::select! {
                    stop = &mut consumer => break stop,
                    () = &mut producer, if !produced => produced = true,
                }
            }
        }?;
        self.flush(batch, &mut pending, &mut page, &mut tally)
            .await?;
        Ok(stop)
    }

    /// Stores what finished since the last flush as one page, then the batch's counts.
    async fn flush(
        &self,
        batch: &mut StoredBatch,
        pending: &mut Vec<Finished>,
        page: &mut u64,
        tally: &mut Tally,
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        self.records
            .put_results(&batch.object.id, *page, pending)
            .await?;
        *page += 1;
        pending.iter().for_each(|f| tally.add(f));
        pending.clear();
        tally.apply(batch);
        self.records.put_batch(batch).await
    }

    /// One request's result line.
    async fn answer(
        &self,
        ctx: &RequestContext,
        batch_id: &str,
        endpoint: &str,
        request: Request,
    ) -> Finished {
        let request_id = format!(
            "batch_req_{}_{}",
            batch_id.trim_start_matches("batch_"),
            request.line
        );
        let answer = self.call(ctx, endpoint, request.body).await;
        let (ok, status, body, tokens, error) = match answer {
            Ok(bytes) => {
                let tokens = tokens_of(&bytes);
                match String::from_utf8(bytes.to_vec())
                    .ok()
                    .and_then(|text| RawValue::from_string(text).ok())
                {
                    Some(raw) => (true, 200, raw, tokens, None),
                    None => {
                        let e = Error::new(
                            ErrorKind::UpstreamError,
                            "the endpoint's answer is not JSON",
                        );
                        (false, 502, raw_json(&e.body()), Tokens::default(), Some(e))
                    }
                }
            }
            Err(e) => (
                false,
                e.kind().http_status(),
                raw_json(&e.body()),
                Tokens::default(),
                Some(e),
            ),
        };
        let body = match self.config.response_body {
            ResponseBody::Object => body,
            ResponseBody::JsonString => raw_json(&Value::String(body.get().to_owned())),
        };
        let line = ResultLine {
            id: &request_id,
            custom_id: &request.custom_id,
            response: ResultResponse {
                status_code: status,
                request_id: &request_id,
                body: &body,
            },
            error: error.as_ref().map(|e| LineError {
                code: e.code().unwrap_or(e.kind().as_str()).to_owned(),
                message: e.to_string(),
            }),
        };
        let text = serde_json::to_string(&line).unwrap_or_default();
        Finished {
            line: request.line,
            ok,
            text,
            tokens,
        }
    }

    /// Sends one body to the endpoint, as `/v1/...` would; the answer's JSON bytes.
    async fn call(
        &self,
        ctx: &RequestContext,
        endpoint: &str,
        body: Map<String, Value>,
    ) -> Result<Bytes> {
        let body = Value::Object(body);
        match endpoint {
            "/v1/chat/completions" => {
                let request: ChatCompletionRequest = serde_json::from_value(body)?;
                match self.inference.chat_completion(ctx, request).await? {
                    Output::Complete(answer) => answer.to_bytes(),
                    Output::Stream(_) => Err(Error::invalid(
                        "Streaming is not supported in batch processing",
                    )
                    .with_param("stream")),
                }
            }
            "/v1/completions" => {
                let request: CompletionRequest = serde_json::from_value(body)?;
                match self.inference.completion(ctx, request).await? {
                    Output::Complete(answer) => answer.to_bytes(),
                    Output::Stream(_) => Err(Error::invalid(
                        "Streaming is not supported in batch processing",
                    )
                    .with_param("stream")),
                }
            }
            "/v1/responses" => {
                let request: CreateResponseRequest = serde_json::from_value(body)?;
                let responses = self
                    .responses
                    .as_ref()
                    .ok_or_else(|| Error::invalid("this stack does not serve the Responses API"))?;
                let mut events = responses.create_response(ctx, request).await?;
                while let Some(emitted) = events.next().await {
                    if let Some(cause) = emitted.cause {
                        return Err(cause);
                    }
                    if let Some(response) = emitted.event.terminal_response() {
                        return Ok(Bytes::from(serde_json::to_vec(response)?));
                    }
                }
                Err(Error::new(
                    ErrorKind::UpstreamError,
                    "the response ended without a final event",
                ))
            }
            _ => {
                let request: EmbeddingsRequest = serde_json::from_value(body)?;
                self.inference.embeddings(ctx, request).await?.to_bytes()
            }
        }
    }

    /// The input did not validate: the batch fails with OpenAI's per-line errors.
    async fn fail(&self, batch: &mut StoredBatch, errors: Vec<BatchError>) -> Result<()> {
        let first = errors.first().map(|e| e.message.as_str()).unwrap_or_default();
        tracing::info!(batch = %batch.object.id, errors = errors.len(), "batch failed: {first}");
        batch.object.status = BatchStatus::Failed;
        batch.object.failed_at = Some(unix_now());
        batch.object.errors = Some(BatchErrors::new(errors));
        self.records.put_batch(batch).await?;
        self.records.clear_cancel(&batch.object.id).await
    }

    /// Ends the batch as `status` (completed, cancelled or expired) with the results it has:
    /// the output and error files first (each recorded as soon as it is written, so a rerun
    /// does not write it twice), then the status.
    async fn end(&self, batch: &mut StoredBatch, status: BatchStatus) -> Result<()> {
        let id = batch.object.id.clone();
        let now = unix_now();
        if status == BatchStatus::Completed && batch.object.status != BatchStatus::Finalizing {
            batch.object.status = BatchStatus::Finalizing;
            batch.object.finalizing_at = Some(now);
            self.records.put_batch(batch).await?;
        }
        let (mut finished, _) = self.records.results(&id).await?;
        finished.sort_by_key(|f| f.line);
        let mut tally = Tally::default();
        finished.iter().for_each(|f| tally.add(f));
        if status != BatchStatus::Completed {
            // Cancelled or expired before it started: the counts say so.
            if batch.object.request_counts.is_none() {
                batch.object.request_counts = Some(RequestCounts::default());
            }
        }
        tally.apply(batch);
        for ok in [true, false] {
            let recorded = if ok {
                &batch.object.output_file_id
            } else {
                &batch.object.error_file_id
            };
            let lines: Vec<&str> = finished
                .iter()
                .filter(|f| f.ok == ok)
                .map(|f| f.text.as_str())
                .collect();
            if recorded.is_some() || lines.is_empty() {
                continue;
            }
            let mut content = lines.join("\n");
            content.push('\n');
            let upload = UploadFile {
                filename: format!("{id}_{}.jsonl", if ok { "output" } else { "error" }),
                content_type: Some("application/jsonl".into()),
                content: Bytes::from(content),
                purpose: FilePurpose::BatchOutput,
                expires_after: None,
            };
            let file = match self.files.upload(&on_behalf_of(batch), upload).await {
                Ok(file) => file,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::InvalidRequest | ErrorKind::PayloadTooLarge
                    ) =>
                {
                    let error = BatchError::new(
                        "output_failed",
                        None,
                        format!("Could not write the batch's results: {e}"),
                        None,
                    );
                    return self.fail(batch, vec![error]).await;
                }
                Err(e) => return Err(e),
            };
            if ok {
                batch.object.output_file_id = Some(file.id);
            } else {
                batch.object.error_file_id = Some(file.id);
            }
            self.records.put_batch(batch).await?;
        }
        let at = unix_now();
        // A cancel that came while the results were being written wins: the client was told
        // `cancelling`, so the batch ends `cancelled` (with every result in its files).
        let status = if status == BatchStatus::Completed && self.records.cancel_requested(&id).await?.is_some() {
            BatchStatus::Cancelled
        } else {
            status
        };
        match status {
            BatchStatus::Cancelled => {
                batch
                    .object
                    .cancelling_at
                    .get_or_insert(self.records.cancel_requested(&id).await?.unwrap_or(at));
                batch.object.cancelled_at = Some(at);
            }
            BatchStatus::Expired => batch.object.expired_at = Some(at),
            _ => batch.object.completed_at = Some(at),
        }
        batch.object.status = status;
        self.records.put_batch(batch).await?;
        let counts = batch.object.request_counts.unwrap_or_default();
        tracing::info!(
            batch = %id, status = ?status, completed = counts.completed, failed = counts.failed, total = counts.total,
            seconds = at - batch.object.in_progress_at.unwrap_or(batch.object.created_at),
            "batch ended"
        );
        self.records.clear_cancel(&id).await?;
        if let Err(e) = self.records.drop_results(&id).await {
            tracing::warn!(batch = %id, error = %e, "could not drop a finished batch's result pages");
        }
        Ok(())
    }
}

/// Whether the batch's completion window has passed.
fn expired(batch: &StoredBatch) -> bool {
    batch.object.expires_at.is_some_and(|at| unix_now() >= at)
}

/// The counts and token usage of the finished requests.
#[derive(Default)]
struct Tally {
    completed: u64,
    failed: u64,
    tokens: Tokens,
}

impl Tally {
    fn add(&mut self, f: &Finished) {
        if f.ok {
            self.completed += 1;
        } else {
            self.failed += 1;
        }
        self.tokens.input += f.tokens.input;
        self.tokens.output += f.tokens.output;
        self.tokens.cached += f.tokens.cached;
        self.tokens.reasoning += f.tokens.reasoning;
    }

    fn apply(&self, batch: &mut StoredBatch) {
        let counts = batch
            .object
            .request_counts
            .get_or_insert_with(Default::default);
        counts.completed = self.completed;
        counts.failed = self.failed;
        counts.total = counts.total.max(self.completed + self.failed);
        let t = self.tokens;
        batch.object.usage = Some(BatchUsage {
            input_tokens: t.input,
            output_tokens: t.output,
            total_tokens: t.input + t.output,
            input_tokens_details: InputTokensDetails {
                cached_tokens: t.cached,
            },
            output_tokens_details: OutputTokensDetails {
                reasoning_tokens: t.reasoning,
            },
        });
    }
}

/// An output or error file line, in OpenAI's format.
#[derive(Serialize)]
struct ResultLine<'a> {
    id: &'a str,
    custom_id: &'a str,
    response: ResultResponse<'a>,
    error: Option<LineError>,
}

#[derive(Serialize)]
struct ResultResponse<'a> {
    status_code: u16,
    request_id: &'a str,
    body: &'a RawValue,
}

#[derive(Serialize)]
struct LineError {
    code: String,
    message: String,
}

fn raw_json(value: &Value) -> Box<RawValue> {
    // A `Value` always serialises; the fallback is never reached.
    serde_json::value::to_raw_value(value)
        .unwrap_or_else(|_| RawValue::from_string("null".into()).unwrap_or_default())
}

/// The token counts of an OpenAI answer (chat, completion or embeddings).
fn tokens_of(bytes: &[u8]) -> Tokens {
    #[derive(Deserialize)]
    struct Answer {
        usage: Option<Usage>,
    }
    #[derive(Deserialize)]
    struct Usage {
        #[serde(default)]
        prompt_tokens: u64,
        #[serde(default)]
        completion_tokens: u64,
        prompt_tokens_details: Option<Cached>,
        completion_tokens_details: Option<Reasoning>,
    }
    #[derive(Deserialize)]
    struct Cached {
        #[serde(default)]
        cached_tokens: u64,
    }
    #[derive(Deserialize)]
    struct Reasoning {
        #[serde(default)]
        reasoning_tokens: u64,
    }
    match serde_json::from_slice::<Answer>(bytes)
        .ok()
        .and_then(|a| a.usage)
    {
        Some(u) => Tokens {
            input: u.prompt_tokens,
            output: u.completion_tokens,
            cached: u.prompt_tokens_details.map_or(0, |d| d.cached_tokens),
            reasoning: u
                .completion_tokens_details
                .map_or(0, |d| d.reasoning_tokens),
        },
        None => Tokens::default(),
    }
}

/// The context a batch's work runs in: the server's rights, acting for the batch's creator
/// (so the files it writes are the creator's, as the input was).
fn on_behalf_of(batch: &StoredBatch) -> RequestContext {
    match &batch.owner {
        Some(owner) => RequestContext::default().with_caller(Arc::new(Caller {
            user: owner.clone(),
            policy: Arc::new(ServerWork),
        })),
        None => RequestContext::default(),
    }
}

/// The policy of the server's own work for a user: everything allowed (the creator's rights
/// were checked when the batch was created).
#[derive(Debug)]
struct ServerWork;

impl AccessPolicy for ServerWork {
    fn is_allowed(&self, _: Action, _: &ProtectedResource<'_>, _: &User) -> bool {
        true
    }

    fn denied(&self, action: Action, resource: &ProtectedResource<'_>, _: &User) -> Error {
        Error::new(
            ErrorKind::Forbidden,
            format!("{} of {} refused", action.as_str(), resource.qualified_id()),
        )
    }

    fn sql_filter(&self, _: &User) -> Option<OwnerFilter> {
        None
    }
}
