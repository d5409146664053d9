//! The files API (`/v1/files`): OpenAI's file object, the upload, list and delete shapes, and the
//! [`Files`] trait a files provider (`inline::localfs`, …) implements. Other APIs (vector stores,
//! batches) read uploaded files through the same trait.

pub mod limits;
mod layered;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;
use lls_api_common::store::Order;
use lls_api_common::{Error, ErrorKind, RequestContext, Result};
use serde::{Deserialize, Serialize};

/// What a file is for. 0.3.5 accepts only `assistants` and `batch` on upload; `batch_output`
/// marks the files a batch writes (its results and errors), as OpenAI does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilePurpose {
    Assistants,
    Batch,
    BatchOutput,
}

impl FilePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            FilePurpose::Assistants => "assistants",
            FilePurpose::Batch => "batch",
            FilePurpose::BatchOutput => "batch_output",
        }
    }

    /// Parses a stored or query value (every purpose), naming the accepted values when it is
    /// not one of them.
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "assistants" => Ok(FilePurpose::Assistants),
            "batch" => Ok(FilePurpose::Batch),
            "batch_output" => Ok(FilePurpose::BatchOutput),
            other => Err(Error::invalid(format!(
                "Invalid purpose '{other}': expected one of 'assistants', 'batch', 'batch_output'"
            ))
            .with_param("purpose")),
        }
    }

    /// Parses the purpose of an upload: only what a client may upload (`batch_output` files
    /// are written by batches).
    pub fn parse_upload(value: &str) -> Result<Self> {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExpiresAfter {
    pub anchor: ExpiresAnchor,
    #[schemars(range(min = ExpiresAfter::MIN_SECONDS, max = ExpiresAfter::MAX_SECONDS))]
    pub seconds: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// `POST /v1/files`'s `multipart/form-data` body, as the OpenAPI document describes it (the
/// route reads the parts as they stream in rather than into this type). Fields other than
/// these are read and ignored; `expires_after` may also come as `expires_after[anchor]` and
/// `expires_after[seconds]`, as OpenAI's SDKs send it.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(extend(
    "dependentRequired" = {
        "expires_after[anchor]": ["expires_after[seconds]"],
        "expires_after[seconds]": ["expires_after[anchor]"]
    },
    "not" = {"required": ["expires_after", "expires_after[anchor]"]}
))]
pub struct UploadFileForm {
    /// The file's bytes; its part's filename becomes the file's `filename`.
    #[schemars(schema_with = "binary_schema")]
    pub file: Bytes,
    pub purpose: FilePurpose,
    /// JSON `{"anchor": "created_at", "seconds": N}`.
    pub expires_after: Option<ExpiresAfter>,
    #[schemars(rename = "expires_after[anchor]")]
    pub expires_after_anchor: Option<ExpiresAnchor>,
    #[schemars(rename = "expires_after[seconds]", range(min = ExpiresAfter::MIN_SECONDS, max = ExpiresAfter::MAX_SECONDS))]
    pub expires_after_seconds: Option<i64>,
}

/// Raw bytes in JSON Schema 2020-12 terms (OpenAPI 3.1's `format: binary`).
fn binary_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "contentMediaType": "application/octet-stream"})
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

/// An upload whose bytes arrive as a stream: the HTTP layer hands the multipart part over as it
/// is read, so a provider can write it out without holding the whole file in memory.
pub struct UploadStream<'a> {
    pub filename: String,
    /// The part's declared content type, if any.
    pub content_type: Option<String>,
    pub purpose: FilePurpose,
    pub expires_after: Option<ExpiresAfter>,
    /// The bytes; an `Err` item aborts the upload with that error.
    pub content: BoxStream<'a, Result<Bytes>>,
}

impl std::fmt::Debug for UploadStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadStream")
            .field("filename", &self.filename)
            .field("purpose", &self.purpose)
            .field("expires_after", &self.expires_after)
            .finish_non_exhaustive()
    }
}

impl UploadFile {
    /// The same upload as a one-chunk stream.
    pub fn into_stream(self) -> UploadStream<'static> {
        UploadStream {
            filename: self.filename,
            content_type: self.content_type,
            purpose: self.purpose,
            expires_after: self.expires_after,
            content: futures::stream::once(async move { Ok(self.content) }).boxed(),
        }
    }
}

/// The 413 answer to an upload larger than `max_bytes`.
pub fn file_too_large(max_bytes: u64) -> Error {
    Error::new(
        ErrorKind::PayloadTooLarge,
        format!("File is too large: the maximum upload size is {max_bytes} bytes ({})", human_size(max_bytes)),
    )
    .with_param("file")
}

fn human_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// `GET /v1/files` parameters.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct ListFilesQuery {
    /// The id of the file to list after.
    pub after: Option<String>,
    /// 1 to 10,000 (OpenAI's bounds).
    #[schemars(range(min = 1, max = 10_000))]
    pub limit: Option<usize>,
    #[serde(default)]
    pub order: Order,
    pub purpose: Option<FilePurpose>,
}

/// OpenAI's list page of files. `first_id`/`last_id` are `""` for an empty page, as 0.3.5 sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Uploads bytes as they arrive. Providers that can write incrementally override this; the
    /// default collects the stream (refusing more than [`Files::max_upload_bytes`] with 413) and
    /// calls [`Files::upload`].
    async fn upload_stream(&self, ctx: &RequestContext, file: UploadStream<'_>) -> Result<FileObject> {
        let max = self.max_upload_bytes();
        let UploadStream { filename, content_type, purpose, expires_after, mut content } = file;
        let mut collected = BytesMut::new();
        while let Some(chunk) = content.next().await {
            let chunk = chunk?;
            if (collected.len() + chunk.len()) as u64 > max {
                return Err(file_too_large(max));
            }
            collected.extend_from_slice(&chunk);
        }
        let file = UploadFile { filename, content_type, content: collected.freeze(), purpose, expires_after };
        self.upload(ctx, file).await
    }
    async fn list(&self, ctx: &RequestContext, query: ListFilesQuery) -> Result<FileList>;
    async fn retrieve(&self, ctx: &RequestContext, file_id: &str) -> Result<FileObject>;
    async fn delete(&self, ctx: &RequestContext, file_id: &str) -> Result<FileDeleted>;
    async fn content(&self, ctx: &RequestContext, file_id: &str) -> Result<FileContent>;
    /// The largest upload accepted, so the HTTP layer can refuse bigger bodies early (413).
    fn max_upload_bytes(&self) -> u64;
}

/// The files API: one provider serves every request; dependents get it as `dyn Files`.
#[derive(Debug)]
pub struct FilesApi;

impl lls_api_common::ApiSpec for FilesApi {
    const API: lls_api_common::Api = lls_api_common::Api::Files;
    type Provider = dyn Files;
    type Service = dyn Files;

    fn layer(provider: std::sync::Arc<dyn Files>, calls: &lls_api_common::CallStack) -> std::sync::Arc<dyn Files> {
        std::sync::Arc::new(layered::Layered { inner: provider, calls: calls.clone() })
    }
}

/// Registers a files provider; `build` must return `Arc<dyn Files>`.
#[macro_export]
macro_rules! register_provider {
    ($($body:tt)*) => {
        $crate::__common::__register_provider! { spec: $crate::FilesApi, $($body)* }
    };
}

#[doc(hidden)]
pub use lls_api_common as __common;

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    /// Accepts uploads of up to 8 bytes and echoes what it got.
    struct Echo;

    #[async_trait]
    impl Files for Echo {
        async fn upload(&self, _: &RequestContext, file: UploadFile) -> Result<FileObject> {
            Ok(FileObject {
                id: "file-0".into(),
                object: "file".into(),
                bytes: file.content.len() as u64,
                created_at: 0,
                expires_at: None,
                filename: String::from_utf8(file.content.to_vec()).unwrap(),
                purpose: file.purpose,
            })
        }
        async fn list(&self, _: &RequestContext, _: ListFilesQuery) -> Result<FileList> {
            Ok(FileList::new(Vec::new(), false))
        }
        async fn retrieve(&self, _: &RequestContext, id: &str) -> Result<FileObject> {
            Err(Error::resource_not_found("File", id, "client.files.list()"))
        }
        async fn delete(&self, _: &RequestContext, id: &str) -> Result<FileDeleted> {
            Err(Error::resource_not_found("File", id, "client.files.list()"))
        }
        async fn content(&self, _: &RequestContext, id: &str) -> Result<FileContent> {
            Err(Error::resource_not_found("File", id, "client.files.list()"))
        }
        fn max_upload_bytes(&self) -> u64 {
            8
        }
    }

    fn stream(chunks: Vec<Result<&'static str>>) -> UploadStream<'static> {
        UploadStream {
            filename: "f.txt".into(),
            content_type: None,
            purpose: FilePurpose::Batch,
            expires_after: None,
            content: futures::stream::iter(chunks.into_iter().map(|c| c.map(|s| Bytes::from_static(s.as_bytes())))).boxed(),
        }
    }

    #[test]
    fn default_upload_stream_collects_within_the_limit() {
        let ctx = RequestContext::default();
        let f = block_on(Echo.upload_stream(&ctx, stream(vec![Ok("abc"), Ok("defgh")]))).unwrap();
        assert_eq!((f.bytes, f.filename.as_str(), f.purpose), (8, "abcdefgh", FilePurpose::Batch));
        let err = block_on(Echo.upload_stream(&ctx, stream(vec![Ok("abcde"), Ok("fghi")]))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PayloadTooLarge);
        assert_eq!(err.message(), "File is too large: the maximum upload size is 8 bytes (8 B)");
        let err = block_on(Echo.upload_stream(&ctx, stream(vec![Ok("a"), Err(Error::invalid("cut")), Ok("b")]))).unwrap_err();
        assert_eq!(err.message(), "cut");
    }

    #[test]
    fn purposes_and_expiry_bounds() {
        assert_eq!(FilePurpose::parse("batch").unwrap(), FilePurpose::Batch);
        assert!(FilePurpose::parse("fine-tune").unwrap_err().message().contains("'assistants', 'batch'"));
        let ok = ExpiresAfter { anchor: ExpiresAnchor::CreatedAt, seconds: 3600 };
        assert!(ok.validate().is_ok());
        assert!(ExpiresAfter { seconds: 3599, ..ok }.validate().is_err());
        assert!(ExpiresAfter { seconds: 2_592_001, ..ok }.validate().is_err());
        assert_eq!(human_size(512 * 1024 * 1024), "512 MiB");
        assert_eq!(human_size(3 * 1024), "3 KiB");
    }

    #[test]
    fn empty_list_has_empty_ids() {
        let l = FileList::new(Vec::new(), false);
        assert_eq!((l.first_id.as_str(), l.last_id.as_str(), l.object.as_str()), ("", "", "list"));
    }
}
