//! [`FileCatalog`]: the `Files` implementation over a [`BlobStore`] and one metadata row per
//! file in a SQL table with its owner, expiry enforced on every read and swept in the
//! background. Callers see only the files the access policy lets them read
//! (`authorized_sql`); another tenant's file answers like a missing one.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::access::Action;
use lls_api_common::authorized_sql::{fetch_for, fetch_readable_one, fetch_readable_page_where};
use lls_api_common::store::{Column, ColumnType, Filter, OWNER_COLUMNS, Order, PageQuery, Row, SqlStore, owner_columns};
use lls_api_common::{Error, RequestContext, Result, Tasks};
use lls_api_files::{
    FileContent, FileDeleted, FileList, FileObject, FilePurpose, Files, ListFilesQuery, UploadFile, UploadStream,
};
use serde_json::Value;

use crate::blobs::{BlobStore, is_file_id};
use crate::settings::CatalogSettings;

/// The largest and default page of `GET /v1/files`, as upstream.
pub const MAX_LIST_LIMIT: usize = 10_000;

/// How often expired files are deleted in the background (reads never return them either way).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// Rows examined per step of a sweep.
const SWEEP_BATCH: usize = 500;

/// Seconds since the epoch as the provider sees them; tests move it forward.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The metadata columns, then the [`OWNER_COLUMNS`].
const COLUMNS: [Column; 8] = [
    Column::primary_key("id", ColumnType::Text),
    Column::new("filename", ColumnType::Text),
    Column::new("purpose", ColumnType::Text),
    Column::new("bytes", ColumnType::Integer),
    Column::new("created_at", ColumnType::Integer),
    Column::new("expires_at", ColumnType::Integer),
    OWNER_COLUMNS[0],
    OWNER_COLUMNS[1],
];

/// What every upload is called when the client names no file.
const DEFAULT_FILENAME: &str = "uploaded_file";

/// A files provider: bytes in `B`, metadata in a SQL table.
pub struct FileCatalog<B: BlobStore> {
    inner: Arc<Inner<B>>,
}

struct Inner<B> {
    blobs: B,
    store: Arc<dyn SqlStore>,
    table: String,
    ttl_secs: i64,
    max_bytes: u64,
    clock: Clock,
}

fn not_found(id: &str) -> Error {
    Error::resource_not_found("File", id, "client.files.list()")
}

impl<B: BlobStore> FileCatalog<B> {
    /// Creates the metadata table if needed; [`Self::start_sweeper`] starts the sweep.
    pub async fn open(blobs: B, store: Arc<dyn SqlStore>, settings: &CatalogSettings, clock: Clock) -> Result<Self> {
        store.create_table(&settings.table, &COLUMNS).await?;
        let inner = Arc::new(Inner {
            blobs,
            store,
            table: settings.table.clone(),
            ttl_secs: settings.ttl_secs,
            max_bytes: settings.max_file_size_bytes,
            clock,
        });
        Ok(FileCatalog { inner })
    }

    /// The byte store.
    pub fn blobs(&self) -> &B {
        &self.inner.blobs
    }

    /// Deletes expired files every [`SWEEP_INTERVAL`] in a task supervised by `tasks`; it ends
    /// when shutdown begins (between sweeps) or when the provider is dropped.
    pub fn start_sweeper(&self, tasks: &Tasks) {
        tasks.spawn("sweep expired files", sweep_forever(Arc::downgrade(&self.inner), tasks.clone()));
    }

    /// Deletes every expired file now; returns how many.
    pub async fn sweep_expired(&self) -> Result<usize> {
        self.inner.sweep_expired().await
    }
}

async fn sweep_forever<B: BlobStore>(inner: std::sync::Weak<Inner<B>>, tasks: Tasks) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = tasks.stopping() => return,
            _ = tick.tick() => {}
        }
        let Some(inner) = inner.upgrade() else { return };
        match inner.sweep_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(location = %inner.blobs.location(), "deleted {n} expired files"),
            Err(e) => tracing::warn!(location = %inner.blobs.location(), "sweeping expired files failed: {e}"),
        }
    }
}

fn int(row: &Row, column: &str) -> Option<i64> {
    row.get(column).and_then(Value::as_i64)
}

fn text<'a>(row: &'a Row, column: &str) -> Result<&'a str> {
    row.get(column)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::internal(format!("files metadata row lacks '{column}'")))
}

fn to_object(row: &Row) -> Result<FileObject> {
    Ok(FileObject {
        id: text(row, "id")?.to_owned(),
        object: "file".into(),
        bytes: int(row, "bytes").and_then(|b| u64::try_from(b).ok()).unwrap_or_default(),
        created_at: int(row, "created_at").unwrap_or_default(),
        expires_at: int(row, "expires_at"),
        filename: text(row, "filename")?.to_owned(),
        purpose: FilePurpose::parse(text(row, "purpose")?)?,
    })
}

/// The metadata row of `f`, created for `ctx`'s caller.
fn to_row(f: &FileObject, ctx: &RequestContext) -> Row {
    let mut row = Row::new();
    row.insert("id".into(), f.id.clone().into());
    row.insert("filename".into(), f.filename.clone().into());
    row.insert("purpose".into(), f.purpose.as_str().into());
    row.insert("bytes".into(), f.bytes.into());
    row.insert("created_at".into(), f.created_at.into());
    row.insert("expires_at".into(), f.expires_at.into());
    row.extend(owner_columns(ctx.owner().as_ref()).map(|(column, value)| (column.to_owned(), value)));
    row
}

impl<B: BlobStore> Inner<B> {
    fn now(&self) -> i64 {
        (self.clock)()
    }

    fn expired(&self, f: &FileObject, now: i64) -> bool {
        f.expires_at.is_some_and(|at| at <= now)
    }

    /// The live file `id`, for `action` by `ctx`'s caller: missing when the caller may not
    /// read it, a 403 when it may read but not do `action`. An expired one is deleted on the
    /// way and reported missing.
    async fn lookup(&self, ctx: &RequestContext, id: &str, action: Action) -> Result<FileObject> {
        if !is_file_id(id) {
            return Err(not_found(id));
        }
        let filter = Filter::eq("id", id);
        let row = match action {
            Action::Read => fetch_readable_one(&*self.store, &self.table, &filter, ctx).await?,
            _ => fetch_for(&*self.store, &self.table, &filter, ctx, action).await?,
        };
        let file = to_object(&row.ok_or_else(|| not_found(id))?)?;
        if self.expired(&file, self.now()) {
            self.remove(id).await?;
            return Err(not_found(id));
        }
        Ok(file)
    }

    /// Deletes the row, then the bytes: once the row is gone no reader can find the file.
    async fn remove(&self, id: &str) -> Result<()> {
        self.store.delete(&self.table, &Filter::eq("id", id)).await?;
        self.blobs.remove(id).await
    }

    async fn upload(&self, ctx: &RequestContext, file: UploadStream<'_>) -> Result<FileObject> {
        if let Some(e) = &file.expires_after {
            e.validate()?;
        }
        let id = format!("file-{}", uuid::Uuid::now_v7().simple());
        let stored = self.blobs.write(&id, file.content, self.max_bytes).await?;
        let created_at = self.now();
        let lifetime = file.expires_after.map_or(self.ttl_secs, |e| e.seconds);
        let filename = if file.filename.is_empty() { DEFAULT_FILENAME.to_owned() } else { file.filename };
        let object = FileObject {
            id,
            object: "file".into(),
            bytes: stored.bytes(),
            created_at,
            expires_at: Some(created_at.saturating_add(lifetime)),
            filename,
            purpose: file.purpose,
        };
        // If the insert fails (or this future is dropped), `stored` removes the bytes.
        self.store.insert(&self.table, &[to_row(&object, ctx)]).await?;
        stored.keep();
        Ok(object)
    }

    async fn list(&self, ctx: &RequestContext, query: ListFilesQuery) -> Result<FileList> {
        let limit = query.limit.unwrap_or(MAX_LIST_LIMIT);
        if !(1..=MAX_LIST_LIMIT).contains(&limit) {
            return Err(Error::invalid(format!("limit must be between 1 and {MAX_LIST_LIMIT} (got {limit})")).with_param("limit"));
        }
        let filter = match query.purpose {
            Some(p) => Filter::eq("purpose", p.as_str()),
            None => Filter::all(),
        };
        let page_query = PageQuery {
            filter,
            order_by: "created_at".into(),
            order: query.order,
            id_column: "id".into(),
            after: query.after,
            limit: Some(limit),
        };
        let now = self.now();
        let mut expired = Vec::new();
        // Expired rows are skipped (and deleted after the walk, which pages past them by id).
        let mut live = |row: &Row| match (int(row, "expires_at"), row.get("id").and_then(Value::as_str)) {
            (Some(at), Some(id)) if at <= now => {
                expired.push(id.to_owned());
                false
            }
            _ => true,
        };
        let page = fetch_readable_page_where(&*self.store, &self.table, &page_query, ctx, &mut live).await?;
        for id in expired {
            self.remove(&id).await?;
        }
        let files = page.rows.iter().map(to_object).collect::<Result<Vec<_>>>()?;
        Ok(FileList::new(files, page.has_more))
    }

    async fn content(&self, ctx: &RequestContext, id: &str) -> Result<FileContent> {
        let file = self.lookup(ctx, id, Action::Read).await?;
        match self.blobs.read(id).await? {
            Some(content) => Ok(FileContent { file, content }),
            None => {
                tracing::warn!(file_id = id, location = %self.blobs.location(), "the bytes of a file are missing; deleting its metadata");
                self.remove(id).await?;
                Err(not_found(id))
            }
        }
    }

    async fn sweep_expired(&self) -> Result<usize> {
        let now = self.now();
        let mut removed = 0;
        loop {
            let page = self
                .store
                .fetch_page(
                    &self.table,
                    &PageQuery {
                        filter: Filter::all(),
                        order_by: "expires_at".into(),
                        order: Order::Asc,
                        id_column: "id".into(),
                        after: None,
                        limit: Some(SWEEP_BATCH),
                    },
                )
                .await?;
            let mut step = 0;
            for row in &page.rows {
                if int(row, "expires_at").is_some_and(|at| at <= now) {
                    self.remove(text(row, "id")?).await?;
                    step += 1;
                }
            }
            removed += step;
            if step < SWEEP_BATCH {
                return Ok(removed);
            }
        }
    }
}

#[async_trait]
impl<B: BlobStore> Files for FileCatalog<B> {
    async fn upload(&self, ctx: &RequestContext, file: UploadFile) -> Result<FileObject> {
        self.inner.upload(ctx, file.into_stream()).await
    }

    async fn upload_stream(&self, ctx: &RequestContext, file: UploadStream<'_>) -> Result<FileObject> {
        self.inner.upload(ctx, file).await
    }

    async fn list(&self, ctx: &RequestContext, query: ListFilesQuery) -> Result<FileList> {
        self.inner.list(ctx, query).await
    }

    async fn retrieve(&self, ctx: &RequestContext, file_id: &str) -> Result<FileObject> {
        self.inner.lookup(ctx, file_id, Action::Read).await
    }

    async fn delete(&self, ctx: &RequestContext, file_id: &str) -> Result<FileDeleted> {
        self.inner.lookup(ctx, file_id, Action::Delete).await?;
        self.inner.remove(file_id).await?;
        Ok(FileDeleted { id: file_id.to_owned(), object: "file".into(), deleted: true })
    }

    async fn content(&self, ctx: &RequestContext, file_id: &str) -> Result<FileContent> {
        self.inner.content(ctx, file_id).await
    }

    fn max_upload_bytes(&self) -> u64 {
        self.inner.max_bytes
    }
}

