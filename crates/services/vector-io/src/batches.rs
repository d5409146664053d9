//! File batches: created `in_progress` with a record per file, processed in the background a
//! few files at a time by the replica that created them, cancellable. Files a replica left
//! unfinished (it stopped or died) are taken over file by file (`work.rs`). A batch's counts and
//! status are read from its files' records, so they can never drift from them.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use lls_api_common::{Error, RequestContext, Result, unix_now};
use lls_api_vector_io::{
    CreateFileBatchRequest, FileCounts, FileStatus, ListFilesQuery, ListPage, VectorStoreFileBatchObject,
    VectorStoreFileObject,
};

use crate::files::sorted;
use crate::ingestion::chunking_params;
use crate::pagination::{Bounds, paginate};
use crate::records::{BatchRow, FileRow, keys};
use crate::service::{Inner, StoreState};

/// Files of one batch ingested at once. 0.3.5 takes 3; a file's steps alternate between CPU
/// (parsing, chunking, JSON) and waiting (embeddings, writes), and at 3 a 2-core server was
/// ~40% idle during `cargo xtask bench rag`'s batch of 100 files (6: 4,864 → 5,247 chunks/s).
const FILES_AT_ONCE: usize = 6;
/// A running batch logs its progress at most this often.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Batches are forgotten a week after creation, as in 0.3.5.
const BATCH_LIFETIME_SECONDS: i64 = 7 * 24 * 60 * 60;

impl Inner {
    pub async fn create_batch(
        self: &Arc<Self>,
        ctx: &RequestContext,
        store_id: &str,
        request: CreateFileBatchRequest,
    ) -> Result<VectorStoreFileBatchObject> {
        let strategy = request.chunking_strategy.unwrap_or_default();
        chunking_params(strategy)?;
        request.validate()?;
        let handle = self.store(store_id).await?;
        if request.file_ids.is_empty() {
            return Err(Error::invalid("file_ids must list at least one file").with_param("file_ids"));
        }
        let mut seen = HashSet::new();
        let file_ids: Vec<String> = request.file_ids.into_iter().filter(|f| seen.insert(f.clone())).collect();
        let now = unix_now();
        let batch = BatchRow {
            id: format!("batch_{}", uuid::Uuid::new_v4()),
            created_at: now,
            vector_store_id: store_id.to_owned(),
            file_ids: file_ids.clone(),
            attributes: request.attributes.unwrap_or_default(),
            chunking_strategy: strategy,
            expires_at: now + BATCH_LIFETIME_SECONDS,
            cancelled: false,
        };
        {
            let mut state = handle.lock().await;
            if state.deleted {
                return Err(self.not_served(store_id));
            }
            for file_id in &file_ids {
                if state.files.get(file_id).is_some_and(|f| matches!(f.object.status, FileStatus::Completed | FileStatus::InProgress)) {
                    continue;
                }
                let row = FileRow {
                    object: VectorStoreFileObject {
                        id: file_id.clone(),
                        object: "vector_store.file".into(),
                        attributes: batch.attributes.clone(),
                        chunking_strategy: strategy,
                        created_at: now,
                        last_error: None,
                        status: FileStatus::InProgress,
                        usage_bytes: 0,
                        vector_store_id: store_id.to_owned(),
                    },
                    filename: String::new(),
                    attached_ns: self.now_ns(),
                    batch_id: Some(batch.id.clone()),
                    worker: Some(self.presence.id().to_owned()),
                };
                self.record_in_progress(store_id, &row).await?;
                state.files.insert(file_id.clone(), row);
            }
            self.records.put(&keys::batch(&batch.id), &batch).await?;
        }
        let object = self.retrieve_batch(store_id, &batch.id).await?;
        self.tasks.spawn("vector store file batch", process_batch(self.clone(), ctx.clone(), batch.id));
        Ok(object)
    }

    /// The batch, checked to exist, be current, and belong to the store (0.3.5's 400s).
    async fn batch(&self, store_id: &str, batch_id: &str) -> Result<BatchRow> {
        self.row(store_id).await?;
        let batch = self
            .records
            .get::<BatchRow>(&keys::batch(batch_id))
            .await?
            .ok_or_else(|| Error::invalid(format!("File batch {batch_id} not found")).with_param("batch_id"))?;
        if unix_now() > batch.expires_at {
            return Err(Error::invalid(format!("File batch {batch_id} has expired after 7 days from creation")));
        }
        if batch.vector_store_id != store_id {
            return Err(Error::invalid(format!("File batch {batch_id} does not belong to vector store {store_id}")));
        }
        Ok(batch)
    }

    pub async fn retrieve_batch(&self, store_id: &str, batch_id: &str) -> Result<VectorStoreFileBatchObject> {
        let batch = self.batch(store_id, batch_id).await?;
        let handle = self.store(store_id).await?;
        let state = handle.lock().await;
        Ok(batch_object(&batch, &state))
    }

    pub async fn list_batch_files(
        &self,
        store_id: &str,
        batch_id: &str,
        query: ListFilesQuery,
    ) -> Result<ListPage<VectorStoreFileObject>> {
        let page = query.page();
        page.limit()?;
        let batch = self.batch(store_id, batch_id).await?;
        let handle = self.store(store_id).await?;
        let state = handle.lock().await;
        let rows = batch
            .file_ids
            .iter()
            .filter_map(|id| state.files.get(id))
            .filter(|f| query.filter.is_none_or(|s| f.object.status == s));
        paginate(sorted(rows, page.order()), |o: &VectorStoreFileObject| &o.id, &page, Bounds::Page)
    }

    /// Files not started yet become `cancelled`; those being ingested finish.
    pub async fn cancel_batch(&self, store_id: &str, batch_id: &str) -> Result<VectorStoreFileBatchObject> {
        let mut batch = self.batch(store_id, batch_id).await?;
        let handle = self.store(store_id).await?;
        let mut state = handle.lock().await;
        let current = batch_object(&batch, &state);
        if current.status != FileStatus::InProgress {
            let status = serde_json::to_value(current.status)?;
            return Err(Error::invalid(format!(
                "Cannot cancel batch {batch_id} with status {}",
                status.as_str().unwrap_or_default()
            )));
        }
        batch.cancelled = true;
        self.records.put(&keys::batch(batch_id), &batch).await?;
        for file_id in &batch.file_ids {
            let pending = state.files.get(file_id).filter(|f| {
                f.object.status == FileStatus::InProgress
                    && f.batch_id.as_deref() == Some(batch_id)
                    && !state.ingesting.contains(file_id)
            });
            if let Some(row) = pending.cloned() {
                let mut row = row;
                row.object.status = FileStatus::Cancelled;
                row.worker = None;
                self.records.put(&keys::file(store_id, file_id), &row).await?;
                self.finish_work(store_id, file_id).await?;
                state.files.insert(file_id.clone(), row);
            }
        }
        Ok(batch_object(&batch, &state))
    }

    /// Claims and ingests one file of a batch, unless the batch was cancelled or the file is
    /// no longer this batch's to ingest.
    async fn process_batch_file(&self, ctx: &RequestContext, batch_id: &str, store_id: &str, file_id: &str) {
        // After shutdown began, files not started stay `in_progress` for the next start.
        if self.tasks.is_stopping() {
            return;
        }
        match self.records.get::<BatchRow>(&keys::batch(batch_id)).await {
            Ok(Some(b)) if !b.cancelled => {}
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(batch = %batch_id, "could not read the file batch; its files are taken over later: {e}");
                return;
            }
        }
        let Ok(handle) = self.store(store_id).await else { return };
        {
            let mut state = handle.lock().await;
            let me = self.presence.id();
            let ours = !state.deleted
                && !state.ingesting.contains(file_id)
                && state.files.get(file_id).is_some_and(|f| {
                    f.object.status == FileStatus::InProgress
                        && f.batch_id.as_deref() == Some(batch_id)
                        && f.worker.as_deref() == Some(me)
                });
            if !ours {
                return;
            }
            state.ingesting.insert(file_id.to_owned());
        }
        if let Err(e) = self.ingest_claimed(ctx, &handle, file_id).await {
            tracing::warn!(batch = %batch_id, file = %file_id, "file batch ingestion failed: {e}");
        }
    }
}

/// Processes a batch's files, a few at a time.
async fn process_batch(inner: Arc<Inner>, ctx: RequestContext, batch_id: String) {
    let batch = match inner.records.get::<BatchRow>(&keys::batch(&batch_id)).await {
        Ok(Some(batch)) => batch,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(batch = %batch_id, "could not read the file batch; its files are taken over later: {e}");
            return;
        }
    };
    let store_id = batch.vector_store_id.as_str();
    let total = batch.file_ids.len();
    let started = std::time::Instant::now();
    tracing::info!(batch = %batch_id, vector_store = %store_id, files = total, "vector store file batch started");
    let progress = parking_lot::Mutex::new((0usize, started));
    futures::stream::iter(batch.file_ids.iter())
        .for_each_concurrent(FILES_AT_ONCE, |file_id| async {
            inner.process_batch_file(&ctx, &batch.id, store_id, file_id).await;
            let mut p = progress.lock();
            p.0 += 1;
            if p.1.elapsed() >= PROGRESS_EVERY && p.0 < total {
                p.1 = std::time::Instant::now();
                tracing::info!(batch = %batch_id, vector_store = %store_id, done = p.0, files = total, "vector store file batch in progress");
            }
        })
        .await;
    let counts = match inner.store(store_id).await {
        Ok(handle) => batch_object(&batch, &*handle.lock().await).file_counts,
        Err(_) => FileCounts::default(),
    };
    let ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        batch = %batch_id, vector_store = %store_id, files = total, completed = counts.completed, failed = counts.failed,
        cancelled = counts.cancelled, in_progress = counts.in_progress, ms, "vector store file batch ended"
    );
}

/// The batch object, with counts from its files' records.
fn batch_object(batch: &BatchRow, state: &StoreState) -> VectorStoreFileBatchObject {
    let mut counts = FileCounts::default();
    for f in batch.file_ids.iter().filter_map(|id| state.files.get(id)) {
        counts.add(f.object.status);
    }
    let status = if batch.cancelled {
        FileStatus::Cancelled
    } else if counts.in_progress > 0 {
        FileStatus::InProgress
    } else if counts.failed > 0 && counts.completed == 0 {
        FileStatus::Failed
    } else {
        FileStatus::Completed
    };
    VectorStoreFileBatchObject {
        id: batch.id.clone(),
        object: "vector_store.file_batch".into(),
        created_at: batch.created_at,
        vector_store_id: batch.vector_store_id.clone(),
        status,
        file_counts: counts,
    }
}
