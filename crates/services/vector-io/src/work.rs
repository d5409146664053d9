//! Ingestion as work shared by replicas. A file that turns `in_progress` gets a work record
//! (`work:{store}:{file}`) and names the replica ingesting it (`FileRow::worker`). Every
//! replica sweeps the work records every few seconds: a file whose replica is gone (killed, or
//! stopped before finishing) is claimed by exactly one live replica (`Presence::claim`), which
//! records itself as the worker and ingests the file again. Chunk ids are derived from the file
//! and its text and providers insert by chunk id, so a file ingested again has each chunk once.
//! The work record goes when the file leaves `in_progress`.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::StreamExt;
use lls_api_common::replicas::HEARTBEAT_EVERY;
use lls_api_common::{RequestContext, Result, Tasks};
use lls_api_vector_io::FileStatus;

use crate::records::{BatchRow, FileRow, WorkRow, keys};
use crate::service::{Inner, StoreHandle};

/// Files taken over and ingested at once by one sweep.
const TAKEN_AT_ONCE: usize = 3;

impl Inner {
    /// Records `row` (`in_progress`, naming this replica) with its work record first, so the
    /// sweeper can always find an in-progress file.
    pub(crate) async fn record_in_progress(&self, store_id: &str, row: &FileRow) -> Result<()> {
        let file_id = &row.object.id;
        let work = WorkRow { vector_store_id: store_id.to_owned(), file_id: file_id.clone() };
        self.records.put(&keys::work(store_id, file_id), &work).await?;
        self.records.put(&keys::file(store_id, file_id), row).await
    }

    /// The file left `in_progress`: no replica has to do anything more for it.
    pub(crate) async fn finish_work(&self, store_id: &str, file_id: &str) -> Result<()> {
        self.records.delete(&keys::work(store_id, file_id)).await
    }

    /// Gives files left `in_progress` without a work record (by a version that kept none) one,
    /// naming no replica, so the sweeper takes them over.
    pub(crate) async fn record_unowned_work(&self) -> Result<()> {
        for row in self.records.all::<FileRow>("file:").await? {
            let store_id = row.object.vector_store_id.clone();
            let key = keys::work(&store_id, &row.object.id);
            if row.object.status == FileStatus::InProgress && self.records.get::<WorkRow>(&key).await?.is_none() {
                self.records.put(&key, &WorkRow { vector_store_id: store_id, file_id: row.object.id.clone() }).await?;
            }
        }
        Ok(())
    }

    /// Claims the files whose replica is gone and ingests them in the background; answers how
    /// many it claimed.
    pub(crate) async fn take_over_abandoned(self: &Arc<Self>) -> Result<usize> {
        let mut claimed: Vec<(StoreHandle, String)> = Vec::new();
        for work in self.records.all::<WorkRow>(keys::WORK).await? {
            if self.tasks.is_stopping() {
                break;
            }
            if let Some(handle) = self.take_over(&work).await? {
                claimed.push((handle, work.file_id));
            }
        }
        let count = claimed.len();
        if count > 0 {
            tracing::info!("taking over the ingestion of {count} vector store files no running replica does");
            let inner = self.clone();
            self.tasks.spawn("vector store ingestion taken over", async move {
                let ctx = RequestContext::default();
                futures::stream::iter(claimed)
                    .for_each_concurrent(TAKEN_AT_ONCE, |(handle, file_id)| {
                        let (inner, ctx) = (&inner, &ctx);
                        async move {
                            if let Err(e) = inner.ingest_claimed(ctx, &handle, &file_id).await {
                                tracing::warn!(file = %file_id, "ingestion taken over failed: {e}");
                            }
                        }
                    })
                    .await;
            });
        }
        Ok(count)
    }

    /// Takes one work record over if its replica is gone and this replica wins the claim:
    /// answers the store, with the file recorded as this replica's and claimed in `ingesting`.
    async fn take_over(&self, work: &WorkRow) -> Result<Option<StoreHandle>> {
        let (store_id, file_id) = (&work.vector_store_id, &work.file_id);
        let file_key = keys::file(store_id, file_id);
        let Some(row) = self.records.get::<FileRow>(&file_key).await? else {
            self.finish_work(store_id, file_id).await?;
            return Ok(None);
        };
        if row.object.status != FileStatus::InProgress {
            self.finish_work(store_id, file_id).await?;
            return Ok(None);
        }
        let worker = row.worker.clone().unwrap_or_default();
        if self.presence.is_live(&worker).await? || !self.presence.claim(&file_key, &worker).await? {
            return Ok(None);
        }
        let Ok(handle) = self.store(store_id).await else {
            self.finish_work(store_id, file_id).await?;
            return Ok(None);
        };
        let mut state = handle.lock().await;
        let Some(mut row) = state.files.get(file_id).cloned().filter(|f| f.object.status == FileStatus::InProgress) else {
            drop(state);
            self.finish_work(store_id, file_id).await?;
            return Ok(None);
        };
        let batch = match &row.batch_id {
            Some(b) => self.records.get::<BatchRow>(&keys::batch(b)).await?,
            None => None,
        };
        if batch.is_some_and(|b| b.cancelled) {
            row.object.status = FileStatus::Cancelled;
            row.worker = None;
            self.records.put(&file_key, &row).await?;
            state.files.insert(file_id.clone(), row);
            drop(state);
            self.finish_work(store_id, file_id).await?;
            return Ok(None);
        }
        row.worker = Some(self.presence.id().to_owned());
        self.records.put(&file_key, &row).await?;
        state.files.insert(file_id.clone(), row);
        state.ingesting.insert(file_id.clone());
        drop(state);
        Ok(Some(handle))
    }
}

/// Takes over abandoned ingestion every [`HEARTBEAT_EVERY`] until the service is dropped or the
/// stack stops.
pub(crate) fn spawn_takeover_sweeper(tasks: &Tasks, inner: Weak<Inner>) {
    let stop = tasks.stop_token();
    tasks.spawn("take over abandoned vector store ingestion", async move {
        let mut tick = tokio::time::interval(HEARTBEAT_EVERY.max(Duration::from_secs(1)));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let Some(inner) = inner.upgrade() else { return };
            if let Err(e) = inner.take_over_abandoned().await {
                tracing::warn!("taking over abandoned vector store ingestion failed: {e}");
            }
            drop::<Arc<Inner>>(inner);
        }
    });
}
