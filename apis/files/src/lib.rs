//! The files API (`/v1/files`): OpenAI's file object, the upload, list and delete shapes, and the
//! [`Files`] trait a files provider (`inline::localfs`, …) implements. Other APIs (vector stores,
//! batches) read uploaded files through the same trait.

use async_trait::async_trait;
use bytes::Bytes;
use lls_api_common::store::Order;
use lls_api_common::{Error, RequestContext, Result};
use serde::{Deserialize, Serialize};

/// What a file is for. 0.3.5 accepts only these two on upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilePurpose {
    Assistants,
    Batch,
}

impl FilePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            FilePurpose::Assistants => "assistants",
            FilePurpose::Batch => "batch",
        }
    }

    /// Parses a form or query value, naming the accepted values when it is not one of them.
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "assistants" => Ok(FilePurpose::Assistants),
            "batch" => Ok(FilePurpose::Batch),
            other => Err(Error::invalid(format!(
                "Invalid purpose '{other}': expected one of 'assistants', 'batch'"
            ))
            .with_param("purpose")),
        }
    }
}

/// OpenAI's `expires_after`: the file expires `seconds` after its `anchor` (always `created_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiresAfter {
    pub anchor: ExpiresAnchor,
    pub seconds: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiresAnchor {
    CreatedAt,
}

impl ExpiresAfter {
    /// OpenAI's bounds: one hour to thirty days.
    pub const MIN_SECONDS: i64 = 3600;
    pub const MAX_SECONDS: i64 = 2_592_000;

    pub fn validate(&self) -> Result<()> {
        if !(Self::MIN_SECONDS..=Self::MAX_SECONDS).contains(&self.seconds) {
            return Err(Error::invalid(format!(
                "expires_after.seconds must be between {} and {} (got {})",
                Self::MIN_SECONDS,
                Self::MAX_SECONDS,
                self.seconds
            ))
            .with_param("expires_after"));
        }
        Ok(())
    }
}

/// OpenAI's file object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileObject {
    pub id: String,
    /// Always `"file"`.
    pub object: String,
    pub bytes: u64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub filename: String,
    pub purpose: FilePurpose,
}

/// An upload as the HTTP layer received it (multipart already parsed).
#[derive(Debug, Clone)]
pub struct UploadFile {
    pub filename: String,
    /// The part's declared content type, if any.
    pub content_type: Option<String>,
    pub content: Bytes,
    pub purpose: FilePurpose,
    pub expires_after: Option<ExpiresAfter>,
}

/// `GET /v1/files` parameters.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListFilesQuery {
    pub after: Option<String>,
    pub limit: Option<usize>,
    #[serde(default)]
    pub order: Order,
    pub purpose: Option<FilePurpose>,
}

/// OpenAI's list page of files. `first_id`/`last_id` are `""` for an empty page, as 0.3.5 sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileList {
    pub object: String,
    pub data: Vec<FileObject>,
    pub has_more: bool,
    pub first_id: String,
    pub last_id: String,
}

impl FileList {
    pub fn new(data: Vec<FileObject>, has_more: bool) -> Self {
        let first_id = data.first().map(|f| f.id.clone()).unwrap_or_default();
        let last_id = data.last().map(|f| f.id.clone()).unwrap_or_default();
        FileList { object: "list".into(), data, has_more, first_id, last_id }
    }
}

/// `DELETE /v1/files/{id}`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDeleted {
    pub id: String,
    /// Always `"file"`.
    pub object: String,
    pub deleted: bool,
}

/// A file's bytes, with what is needed to serve them.
#[derive(Debug, Clone)]
pub struct FileContent {
    pub file: FileObject,
    pub content: Bytes,
}

/// A files provider. Ids are `file-<32 hex>`; an unknown id is [`Error::resource_not_found`].
#[async_trait]
pub trait Files: Send + Sync {
    async fn upload(&self, ctx: &RequestContext, file: UploadFile) -> Result<FileObject>;
    async fn list(&self, ctx: &RequestContext, query: ListFilesQuery) -> Result<FileList>;
    async fn retrieve(&self, ctx: &RequestContext, file_id: &str) -> Result<FileObject>;
    async fn delete(&self, ctx: &RequestContext, file_id: &str) -> Result<FileDeleted>;
    async fn content(&self, ctx: &RequestContext, file_id: &str) -> Result<FileContent>;
    /// The largest upload accepted, so the HTTP layer can refuse bigger bodies early (413).
    fn max_upload_bytes(&self) -> u64;
}
