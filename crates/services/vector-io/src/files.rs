//! Files in a store: attach (and the ingestion bookkeeping shared with batches and startup
//! resume), list, retrieve, update attributes, delete, and contents.

use std::cmp::Reverse;
use std::sync::Arc;

use lls_api_common::store::Order;
use lls_api_common::{RequestContext, Result, unix_now};
use lls_api_vector_io::{
    AttachFileRequest, FileLastError, FileStatus, LastErrorCode, ListFilesQuery, ListPage, UpdateFileRequest,
    VectorStoreContent, VectorStoreFileContents, VectorStoreFileDeleted, VectorStoreFileObject,
};
use crate::ingestion::{chunking_params, ingest_file, remove_chunks};
use crate::pagination::{Bounds, paginate};
use crate::records::{FileRow, keys};
use crate::service::{Inner, StoreHandle, StoreState, file_not_in_store};

impl Inner {
    /// Attaches and ingests a file, answering with its final status. Attaching a file that is
    /// completed or being ingested answers its record; a failed or cancelled one is retried.
    ///
    /// Ingestion runs as a supervised background task that outlives the request: the caller
    /// waits for it (as 0.3.5 does), but a client that disconnects or times out does not stop
    /// it, and the file still reaches `completed` or `failed`.
    pub async fn attach_file(
        self: &Arc<Self>,
        ctx: &RequestContext,
        store_id: &str,
        request: AttachFileRequest,
    ) -> Result<VectorStoreFileObject> {
        let strategy = request.chunking_strategy.unwrap_or_default();
        chunking_params(strategy)?;
        request.validate()?;
        let handle = self.store(store_id).await?;
        {
            let mut state = handle.lock().await;
            if state.deleted {
                return Err(self.not_served(store_id));
            }
            if let Some(existing) = state.files.get(&request.file_id)
                && matches!(existing.object.status, FileStatus::Completed | FileStatus::InProgress)
            {
                return Ok(existing.object.clone());
            }
            let row = FileRow {
                object: VectorStoreFileObject {
                    id: request.file_id.clone(),
                    object: "vector_store.file".into(),
                    attributes: request.attributes.unwrap_or_default(),
                    chunking_strategy: strategy,
                    created_at: unix_now(),
                    last_error: None,
                    status: FileStatus::InProgress,
                    usage_bytes: 0,
                    vector_store_id: store_id.to_owned(),
                },
                filename: String::new(),
                attached_ns: self.now_ns(),
                batch_id: None,
                worker: Some(self.presence.id().to_owned()),
            };
            self.record_in_progress(store_id, &row).await?;
            state.files.insert(request.file_id.clone(), row);
            state.ingesting.insert(request.file_id.clone());
        }
        let (done, outcome) = tokio::sync::oneshot::channel();
        let (inner, task_ctx, task_handle, file_id) = (self.clone(), ctx.clone(), handle.clone(), request.file_id.clone());
        self.tasks.spawn("vector store file ingestion", async move {
            let _ = done.send(inner.ingest_claimed(&task_ctx, &task_handle, &file_id).await);
        });
        match outcome.await {
            Ok(result) => result,
            // The task ended without answering (it panicked): the record says where the file is.
            Err(_) => self.retrieve_file(store_id, &request.file_id).await,
        }
    }

    /// Ingests a file whose in-progress record this caller has claimed (in `ingesting`, and as
    /// its worker), then records the outcome. Chunks of a file deleted meanwhile (here or by
    /// another replica) are removed again; a file another replica finished meanwhile keeps that
    /// outcome. Interrupted by shutdown, the file is left `in_progress` (as recorded), for a
    /// replica or the next start to take over.
    pub async fn ingest_claimed(&self, ctx: &RequestContext, handle: &StoreHandle, file_id: &str) -> Result<VectorStoreFileObject> {
        let prepared = {
            let state = handle.lock().await;
            let row = state.files.get(file_id).cloned();
            row.map(|r| (self.target(&state.row), r))
        };
        let Some((target, row)) = prepared else {
            handle.lock().await.ingesting.remove(file_id);
            return Err(file_not_in_store(file_id, &handle.lock().await.row.id));
        };
        let outcome = match &target {
            Ok(target) => match chunking_params(row.object.chunking_strategy) {
                Ok(params) => {
                    let started = std::time::Instant::now();
                    log_file_start(&row, file_id);
                    let ingested = ingest_file(self, ctx, target, file_id, &row.object.attributes, params).await;
                    log_file_end(&row, file_id, &ingested, started.elapsed());
                    (ingested.filename, ingested.outcome)
                }
                Err(e) => (String::new(), Some(Err(FileLastError { code: LastErrorCode::ServerError, message: e.to_string() }))),
            },
            Err(e) => (String::new(), Some(Err(FileLastError { code: LastErrorCode::ServerError, message: e.to_string() }))),
        };
        let (filename, outcome) = outcome;
        let mut state = handle.lock().await;
        state.ingesting.remove(file_id);
        let Some(outcome) = outcome else {
            tracing::info!(file = %file_id, "vector store file ingestion interrupted by shutdown; another replica or the next start takes it over");
            return Ok(state.files.get(file_id).map_or(row.object, |f| f.object.clone()));
        };
        let store_id = state.row.id.clone();
        // What the records say now: another replica may have deleted the store or the file,
        // or finished the file, while this one worked.
        let current = if self.records.get::<crate::records::StoreRow>(&keys::store(&store_id)).await?.is_some() {
            self.records.get::<FileRow>(&keys::file(&store_id, file_id)).await?
        } else {
            None
        };
        match &current {
            Some(f) => {
                state.files.insert(file_id.to_owned(), f.clone());
            }
            None => {
                state.files.remove(file_id);
            }
        }
        if let Some(done) = current.as_ref().filter(|f| matches!(f.object.status, FileStatus::Completed | FileStatus::Failed)) {
            let object = done.object.clone();
            drop(state);
            self.finish_work(&store_id, file_id).await?;
            return Ok(object);
        }
        let gone = state.deleted || current.is_none();
        if gone {
            drop(state);
            if let (Ok(target), Ok(_)) = (&target, &outcome) {
                let chunks = self.records.contents(&store_id, file_id).await.unwrap_or_default();
                let ids: Vec<String> = chunks.iter().filter_map(|c| c.chunk_id.clone()).collect();
                remove_chunks(target, &ids).await;
                self.records.delete(&keys::contents(&store_id, file_id)).await?;
            }
            self.finish_work(&store_id, file_id).await?;
            let mut object = row.object;
            apply(&mut object, &outcome);
            return Ok(object);
        }
        let mut updated = current.unwrap_or(row);
        apply(&mut updated.object, &outcome);
        updated.worker = None;
        if !filename.is_empty() {
            updated.filename = filename;
        }
        self.records.put(&keys::file(&store_id, file_id), &updated).await?;
        self.finish_work(&store_id, file_id).await?;
        let object = updated.object.clone();
        state.files.insert(file_id.to_owned(), updated);
        Ok(object)
    }

    pub async fn list_files(&self, store_id: &str, query: ListFilesQuery) -> Result<ListPage<VectorStoreFileObject>> {
        let page = query.page();
        page.limit()?;
        let handle = self.store(store_id).await?;
        let state = handle.lock().await;
        let rows = sorted(state.files.values().filter(|f| query.filter.is_none_or(|s| f.object.status == s)), page.order());
        paginate(rows, |o: &VectorStoreFileObject| &o.id, &page, Bounds::Window)
    }

    pub async fn retrieve_file(&self, store_id: &str, file_id: &str) -> Result<VectorStoreFileObject> {
        let handle = self.store(store_id).await?;
        let state = handle.lock().await;
        file_of(&state, file_id).map(|f| f.object.clone())
    }

    /// Replaces the attributes on the record (chunks already indexed keep the ones they had).
    pub async fn update_file(&self, store_id: &str, file_id: &str, request: UpdateFileRequest) -> Result<VectorStoreFileObject> {
        request.validate()?;
        let handle = self.store(store_id).await?;
        let mut state = handle.lock().await;
        let mut row = file_of(&state, file_id)?.clone();
        row.object.attributes = request.attributes;
        self.records.put(&keys::file(store_id, file_id), &row).await?;
        let object = row.object.clone();
        state.files.insert(file_id.to_owned(), row);
        Ok(object)
    }

    /// Removes the file's chunks from the index, then its records. If the provider fails, the
    /// file stays attached.
    pub async fn delete_file(&self, store_id: &str, file_id: &str) -> Result<VectorStoreFileDeleted> {
        let handle = self.store(store_id).await?;
        let mut state = handle.lock().await;
        file_of(&state, file_id)?;
        if !state.ingesting.contains(file_id) {
            let chunks = self.records.contents(store_id, file_id).await?;
            let ids: Vec<String> = chunks.iter().filter_map(|c| c.chunk_id.clone()).collect();
            if !ids.is_empty() {
                let provider = self.provider(&state.row)?;
                provider
                    .provider
                    .delete_chunks(store_id, &ids)
                    .await
                    .map_err(|e| e.with_provider(state.row.provider_id.clone()))?;
            }
            self.records.delete(&keys::contents(store_id, file_id)).await?;
        }
        self.records.delete(&keys::file(store_id, file_id)).await?;
        self.finish_work(store_id, file_id).await?;
        state.files.remove(file_id);
        Ok(VectorStoreFileDeleted { id: file_id.to_owned(), object: "vector_store.file.deleted".into(), deleted: true })
    }

    pub async fn file_contents(&self, store_id: &str, file_id: &str) -> Result<VectorStoreFileContents> {
        let handle = self.store(store_id).await?;
        let (filename, attributes) = {
            let state = handle.lock().await;
            let row = file_of(&state, file_id)?;
            (row.filename.clone(), row.object.attributes.clone())
        };
        let chunks = self.records.contents(store_id, file_id).await?;
        let content = chunks.iter().flat_map(|c| VectorStoreContent::from_content(&c.content)).collect();
        Ok(VectorStoreFileContents::new(file_id.to_owned(), filename, attributes, content))
    }
}

/// Records the outcome of an ingestion on the file object.
fn apply(object: &mut VectorStoreFileObject, outcome: &std::result::Result<u64, FileLastError>) {
    match outcome {
        Ok(usage) => {
            object.status = FileStatus::Completed;
            object.usage_bytes = *usage;
            object.last_error = None;
        }
        Err(e) => {
            object.status = FileStatus::Failed;
            object.usage_bytes = 0;
            object.last_error = Some(e.clone());
        }
    }
}

pub(crate) fn file_of<'a>(state: &'a StoreState, file_id: &str) -> Result<&'a FileRow> {
    lls_api_common::limits::check_chars("file_id", file_id, lls_api_vector_io::limits::MAX_ID)?;
    state.files.get(file_id).ok_or_else(|| file_not_in_store(file_id, &state.row.id))
}

/// Files by `created_at` in `order`; files attached in the same second keep attach order (as
/// 0.3.5's stable sort does for both orders).
pub(crate) fn sorted<'a>(rows: impl Iterator<Item = &'a FileRow>, order: Order) -> Vec<VectorStoreFileObject> {
    let mut rows: Vec<&FileRow> = rows.collect();
    match order {
        Order::Desc => rows.sort_by_key(|f| (Reverse(f.object.created_at), f.attached_ns)),
        Order::Asc => rows.sort_by_key(|f| (f.object.created_at, f.attached_ns)),
    }
    rows.into_iter().map(|f| f.object.clone()).collect()
}

/// A file of a batch logs at debug (its batch logs start, progress and end at info); a file
/// attached on its own logs at info.
fn log_file_start(row: &FileRow, file_id: &str) {
    let store = row.object.vector_store_id.as_str();
    if row.batch_id.is_some() {
        tracing::debug!(vector_store = %store, file = %file_id, "ingesting vector store file");
    } else {
        tracing::info!(vector_store = %store, file = %file_id, "ingesting vector store file");
    }
}

fn log_file_end(row: &FileRow, file_id: &str, ingested: &crate::ingestion::Ingested, took: std::time::Duration) {
    let store = row.object.vector_store_id.as_str();
    let ms = took.as_millis() as u64;
    let filename = ingested.filename.as_str();
    match &ingested.outcome {
        Some(Ok(bytes)) if row.batch_id.is_some() => {
            tracing::debug!(vector_store = %store, file = %file_id, filename, bytes, ms, "vector store file ingested");
        }
        Some(Ok(bytes)) => tracing::info!(vector_store = %store, file = %file_id, filename, bytes, ms, "vector store file ingested"),
        Some(Err(e)) => tracing::warn!(vector_store = %store, file = %file_id, filename, ms, "vector store file ingestion failed: {}", e.message),
        None => {}
    }
}
