//! `inline::reference` as the batches API: creating, reading, listing and cancelling batches
//! (kept in the provider's kv namespace, `records`), and the scheduling of their runs: a batch
//! runs on the replica that created it, at most `max_concurrent_batches` at once per replica;
//! every replica sweeps the batches every few seconds and at startup, and exactly one takes over
//! a batch whose replica is gone (`lls_api_common::replicas`), which resumes it where its last
//! flushed results end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use lls_api_agents::Responses;
use lls_api_batches::{
    BatchObject, BatchStatus, Batches, COMPLETION_WINDOW_SECONDS, CreateBatchRequest, DEFAULT_PAGE,
    ListBatchesQuery, ListBatchesResponse, MAX_PAGE,
};
use lls_api_common::access::{Action, ProtectedResource};
use lls_api_common::replicas::{HEARTBEAT_EVERY, Presence};
use lls_api_common::store::page_limit;
use lls_api_common::{BuildContext, Error, ErrorKind, RequestContext, Result, Tasks, unix_now};
use lls_api_files::Files;
use lls_api_inference::Inference;
use lls_api_models::Models;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::ReferenceBatchesConfig;
use crate::records::{REPLICAS, Records, StoredBatch};

/// The resource type access rules name batches by.
pub const RESOURCE_TYPE: &str = "batch";

/// The batches provider.
pub struct ReferenceBatches {
    inner: Arc<Inner>,
}

/// What the provider and its runs share.
pub(crate) struct Inner {
    pub(crate) config: ReferenceBatchesConfig,
    pub(crate) records: Records,
    pub(crate) inference: Arc<dyn Inference>,
    pub(crate) files: Arc<dyn Files>,
    pub(crate) models: Arc<dyn Models>,
    /// The Responses API, when the stack serves it (for `/v1/responses` batches).
    pub(crate) responses: Option<Arc<dyn Responses>>,
    pub(crate) presence: Arc<Presence>,
    pub(crate) tasks: Tasks,
    /// One permit per batch this replica may run at once.
    slots: Arc<Semaphore>,
    /// The batches scheduled here (running or waiting for a slot), and how to cancel each.
    running: Mutex<HashMap<String, CancellationToken>>,
}

/// What a batches provider is built from (the registry's dependencies, or a test's doubles).
pub struct Parts {
    pub config: ReferenceBatchesConfig,
    pub kv: Arc<dyn lls_api_common::store::KvStore>,
    pub inference: Arc<dyn Inference>,
    pub files: Arc<dyn Files>,
    pub models: Arc<dyn Models>,
    /// The Responses API, for `/v1/responses` batches (`None`: such batches are refused).
    pub responses: Option<Arc<dyn Responses>>,
    pub tasks: Tasks,
}

impl ReferenceBatches {
    /// The registry's build function: needs inference (with models) and files.
    pub async fn build(
        ctx: BuildContext,
        config: ReferenceBatchesConfig,
    ) -> Result<Arc<dyn Batches>> {
        let missing = |api: &str| {
            Error::invalid(format!(
                "provider '{}' (inline::reference batches) needs {api} in run.yaml",
                ctx.provider_id
            ))
        };
        let inference = ctx
            .deps
            .get::<lls_api_inference::InferenceApi>()
            .ok_or_else(|| missing("an inference provider"))?;
        let models = ctx
            .deps
            .get::<lls_api_models::ModelsApi>()
            .ok_or_else(|| missing("an inference provider"))?;
        let files = ctx
            .deps
            .get::<lls_api_files::FilesApi>()
            .ok_or_else(|| missing("a files provider"))?;
        let responses = ctx
            .deps
            .get::<lls_api_agents::AgentsApi>()
            .map(|agents| agents.responses());
        let kv = ctx.stores.kv(&config.kvstore).await?;
        let parts = Parts {
            config,
            kv,
            inference,
            files,
            models,
            responses,
            tasks: ctx.tasks.clone(),
        };
        let provider = ReferenceBatches::start(parts).await?;
        Ok(Arc::new(provider))
    }

    /// Joins the replicas on `parts.kv` and starts the sweeper, which at once resumes the
    /// batches a restart interrupted.
    pub async fn start(parts: Parts) -> Result<Self> {
        let presence = Presence::join(parts.kv.clone(), &parts.tasks, REPLICAS).await?;
        let provider = ReferenceBatches::with_presence(parts, presence);
        let (inner, stop) = (provider.inner.clone(), provider.inner.tasks.stop_token());
        provider.inner.tasks.spawn("batches sweeper", async move {
            loop {
                if let Err(e) = inner.sweep().await {
                    tracing::warn!(error = %e, "could not sweep the batches for work to resume");
                }
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(HEARTBEAT_EVERY) => {}
                }
            }
        });
        Ok(provider)
    }

    /// A provider with the given presence and no sweeper (tests drive [`ReferenceBatches::sweep`]).
    pub fn with_presence(parts: Parts, presence: Arc<Presence>) -> Self {
        let slots = Arc::new(Semaphore::new(parts.config.max_concurrent_batches));
        ReferenceBatches {
            inner: Arc::new(Inner {
                records: Records::new(parts.kv),
                config: parts.config,
                inference: parts.inference,
                files: parts.files,
                models: parts.models,
                responses: parts.responses,
                presence,
                tasks: parts.tasks,
                slots,
                running: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// One sweep: schedules the unfinished batches this replica should run (see the module doc).
    pub async fn sweep(&self) -> Result<()> {
        self.inner.sweep().await
    }

    /// Batches scheduled on this replica, running or waiting.
    pub fn scheduled(&self) -> usize {
        self.inner
            .running
            .lock()
            .map(|r| r.len())
            .unwrap_or_default()
    }
}

impl Inner {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs batch `id` here in the background (once: a batch already scheduled is left alone).
    pub(crate) fn schedule(self: &Arc<Self>, id: &str) {
        let token = CancellationToken::new();
        {
            let mut running = self.running();
            if running.contains_key(id) {
                return;
            }
            running.insert(id.to_owned(), token.clone());
        }
        let (inner, id) = (self.clone(), id.to_owned());
        self.tasks.spawn("batch run", async move {
            let permit = tokio::select! {
                permit = inner.slots.clone().acquire_owned() => permit.ok(),
                () = inner.tasks.stopping() => None,
            };
            if let Some(_permit) = permit
                && let Err(e) = inner.run(&id, &token).await
            {
                // The sweeper schedules it again (it still names this replica).
                tracing::warn!(batch = %id, error = %e, "batch run stopped; it is retried by the next sweep");
            }
            inner.running().remove(&id);
        });
    }

    async fn sweep(self: &Arc<Self>) -> Result<()> {
        for batch in self.records.all_batches().await? {
            if self.tasks.is_stopping() {
                break;
            }
            let id = &batch.object.id;
            if batch.object.status.is_terminal() || self.running().contains_key(id) {
                continue;
            }
            let me = self.presence.id().to_owned();
            if batch.worker == me {
                self.schedule(id);
                continue;
            }
            if self.presence.is_live(&batch.worker).await?
                || !self
                    .presence
                    .claim(&format!("batch:{id}"), &batch.worker)
                    .await?
            {
                continue;
            }
            let Some(mut raw) = self.records.raw_batch(id).await? else {
                continue;
            };
            tracing::info!(batch = %id, from = %raw.worker, "taking over a batch whose replica is gone");
            raw.worker = me;
            self.records.put_batch(&raw).await?;
            self.schedule(id);
        }
        Ok(())
    }

    /// The batch if `ctx` may do `action` to it; otherwise (or when there is none) not found.
    async fn authorized(
        &self,
        ctx: &RequestContext,
        id: &str,
        action: Action,
    ) -> Result<StoredBatch> {
        let not_found =
            || Error::not_found(format!("Batch '{id}' not found.")).with_param("batch_id");
        let batch = self.records.batch(id).await?.ok_or_else(not_found)?;
        ctx.authorize(
            action,
            &ProtectedResource::new(RESOURCE_TYPE, id, batch.owner.as_ref()),
        )
        .map_err(|r| r.or_not_found(not_found))?;
        Ok(batch)
    }

    /// Waits for the batch another request is creating under the same idempotency key.
    async fn created_elsewhere(&self, id: &str) -> Result<StoredBatch> {
        for _ in 0..50 {
            if let Some(batch) = self.records.raw_batch(id).await? {
                return Ok(batch);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "A batch with this idempotency key ('{id}') is being created by another request; retry shortly."
            ),
        ))
    }
}

/// The id a batch gets: from the creator and the idempotency key when there is one (so the
/// same key always names the same batch, and two users' keys never collide), else random.
fn batch_id(ctx: &RequestContext, idempotency_key: Option<&str>) -> String {
    match idempotency_key {
        Some(key) => {
            let mut hash = Sha256::new();
            if let Some(user) = ctx.user() {
                hash.update(user.principal.as_bytes());
                hash.update([0]);
            }
            hash.update(key.as_bytes());
            let digest = hash.finalize();
            let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
            format!("batch_{hex}")
        }
        None => format!("batch_{}", uuid::Uuid::new_v4().simple()),
    }
}

/// Whether a second create with the same key asks for the same batch.
fn same_request(
    batch: &BatchObject,
    request: &CreateBatchRequest,
    metadata: &Option<std::collections::BTreeMap<String, String>>,
) -> bool {
    batch.input_file_id == request.input_file_id
        && batch.endpoint == request.endpoint
        && batch.completion_window == request.completion_window
        && batch.metadata == *metadata
}

#[async_trait]
impl Batches for ReferenceBatches {
    async fn create_batch(
        &self,
        ctx: &RequestContext,
        request: CreateBatchRequest,
    ) -> Result<BatchObject> {
        let metadata = request.validate()?;
        if request.endpoint == "/v1/responses" && self.inner.responses.is_none() {
            return Err(Error::invalid(
                "Invalid value: '/v1/responses'. This stack does not serve the Responses API (run.yaml has no agents provider).",
            )
            .with_param("endpoint")
            .with_code("invalid_value"));
        }
        ctx.check(
            Action::Create,
            &ProtectedResource::new(RESOURCE_TYPE, "", None),
        )?;
        let inner = &self.inner;
        let id = batch_id(ctx, request.idempotency_key.as_deref());
        if let Some(key) = request.idempotency_key.as_deref() {
            let existing = match inner.records.raw_batch(&id).await? {
                Some(batch) => Some(batch),
                None if !inner.records.claim_creation(&id).await? => {
                    Some(inner.created_elsewhere(&id).await?)
                }
                None => None,
            };
            if let Some(existing) = existing {
                if !same_request(&existing.object, &request, &metadata) {
                    return Err(Error::conflict(format!(
                        "Conflict: idempotency key '{key}' was previously used with different parameters. Either use a new \
                         idempotency key or send the same parameters as the original request."
                    ))
                    .with_param("idempotency_key")
                    .with_code("idempotency_key_conflict"));
                }
                return Ok(inner
                    .records
                    .batch(&id)
                    .await?
                    .map(|b| b.object)
                    .unwrap_or(existing.object));
            }
        }
        let input_unreadable = match inner.files.retrieve(ctx, &request.input_file_id).await {
            Ok(_) => false,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::NotFound | ErrorKind::InvalidRequest | ErrorKind::Forbidden
                ) =>
            {
                true
            }
            Err(e) => return Err(e),
        };
        let now = unix_now();
        let object = BatchObject {
            id: id.clone(),
            object: "batch".into(),
            endpoint: request.endpoint.clone(),
            errors: None,
            input_file_id: request.input_file_id.clone(),
            completion_window: request.completion_window.clone(),
            status: BatchStatus::Validating,
            output_file_id: None,
            error_file_id: None,
            created_at: now,
            in_progress_at: None,
            expires_at: Some(now + COMPLETION_WINDOW_SECONDS),
            finalizing_at: None,
            completed_at: None,
            failed_at: None,
            expired_at: None,
            cancelling_at: None,
            cancelled_at: None,
            request_counts: Some(Default::default()),
            metadata,
            model: None,
            usage: None,
        };
        let stored = StoredBatch {
            object,
            owner: ctx.owner(),
            worker: inner.presence.id().to_owned(),
            input_unreadable,
        };
        inner.records.put_batch(&stored).await?;
        inner.schedule(&id);
        Ok(stored.object)
    }

    async fn retrieve_batch(&self, ctx: &RequestContext, batch_id: &str) -> Result<BatchObject> {
        Ok(self
            .inner
            .authorized(ctx, batch_id, Action::Read)
            .await?
            .object)
    }

    async fn cancel_batch(&self, ctx: &RequestContext, batch_id: &str) -> Result<BatchObject> {
        let batch = self.inner.authorized(ctx, batch_id, Action::Update).await?;
        match batch.object.status {
            BatchStatus::Cancelling | BatchStatus::Cancelled => return Ok(batch.object),
            status if status.is_terminal() => {
                return Err(Error::conflict(format!(
                    "Cannot cancel batch '{batch_id}' with status '{}'",
                    status.as_str()
                )));
            }
            _ => {}
        }
        self.inner
            .records
            .request_cancel(batch_id, unix_now())
            .await?;
        if let Some(token) = self.inner.running().get(batch_id) {
            token.cancel();
        }
        Ok(self
            .inner
            .records
            .batch(batch_id)
            .await?
            .map(|b| b.object)
            .unwrap_or(batch.object))
    }

    async fn list_batches(
        &self,
        ctx: &RequestContext,
        query: ListBatchesQuery,
    ) -> Result<ListBatchesResponse> {
        let limit = page_limit(query.limit, DEFAULT_PAGE, MAX_PAGE)?;
        let mut batches: Vec<BatchObject> = self
            .inner
            .records
            .all_batches()
            .await?
            .into_iter()
            .filter(|b| {
                ctx.can(
                    Action::Read,
                    &ProtectedResource::new(RESOURCE_TYPE, &b.object.id, b.owner.as_ref()),
                )
            })
            .map(|b| b.object)
            .collect();
        batches.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        let start = match query.after.as_deref() {
            Some(after) => batches
                .iter()
                .position(|b| b.id == after)
                .map_or(0, |i| i + 1),
            None => 0,
        };
        let rest = batches.split_off(start.min(batches.len()));
        let has_more = rest.len() > limit;
        let data: Vec<BatchObject> = rest.into_iter().take(limit).collect();
        Ok(ListBatchesResponse {
            object: "list".into(),
            first_id: data.first().map(|b| b.id.clone()),
            last_id: data.last().map(|b| b.id.clone()),
            has_more,
            data,
        })
    }
}
