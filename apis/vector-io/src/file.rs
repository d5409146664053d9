//! Files in a vector store and file batches: OpenAI's vector store file object, chunking
//! strategies, statuses and errors, and the request and answer shapes of the file routes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::search::VectorStoreContent;
use crate::store::FileCounts;

/// How a file is cut into chunks.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChunkingStrategy {
    /// 800-token windows overlapping by 400 (OpenAI's defaults).
    #[default]
    Auto,
    Static {
        #[serde(rename = "static")]
        config: StaticChunking,
    },
}

/// `chunking_strategy.static`: `max_chunk_size_tokens` in 100..=4096, `chunk_overlap_tokens` at
/// most half of it. Missing fields take 0.3.5's defaults (800 and 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StaticChunking {
    #[serde(default = "default_overlap")]
    pub chunk_overlap_tokens: usize,
    #[serde(default = "default_max_chunk")]
    #[schemars(range(min = 100, max = 4096))]
    pub max_chunk_size_tokens: usize,
}

fn default_overlap() -> usize {
    400
}

fn default_max_chunk() -> usize {
    800
}

/// Where a file (or a batch) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    InProgress,
    Completed,
    Cancelled,
    Failed,
}

/// Why a file failed, in OpenAI's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LastErrorCode {
    /// Embedding, the vector database or storage failed.
    ServerError,
    RateLimitExceeded,
    /// The file's type cannot be turned into text.
    UnsupportedFile,
    /// The file is missing, empty, or holds no text.
    InvalidFile,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileLastError {
    pub code: LastErrorCode,
    pub message: String,
}

/// OpenAI's vector store file object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VectorStoreFileObject {
    /// The file's id in the files API.
    pub id: String,
    /// Always `"vector_store.file"`.
    pub object: String,
    pub attributes: Map<String, Value>,
    pub chunking_strategy: ChunkingStrategy,
    pub created_at: i64,
    pub last_error: Option<FileLastError>,
    pub status: FileStatus,
    /// Bytes of chunk text stored for the file.
    pub usage_bytes: u64,
    pub vector_store_id: String,
}

/// `POST /v1/vector_stores/{id}/files`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AttachFileRequest {
    #[schemars(length(min = 1))]
    pub file_id: String,
    /// Copied into every chunk's metadata (so filters and search results see them).
    #[serde(default)]
    pub attributes: Option<Map<String, Value>>,
    #[serde(default)]
    pub chunking_strategy: Option<ChunkingStrategy>,
    /// Anything else the client sent (e.g. `embedding_model` in `extra_body`); ignored, the
    /// store's embedding model is used.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /v1/vector_stores/{id}/files/{file_id}`: replaces the attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UpdateFileRequest {
    pub attributes: Map<String, Value>,
}

/// `GET /v1/vector_stores/{id}/files` and `.../file_batches/{batch_id}/files` parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListFilesQuery {
    #[serde(default)]
    #[schemars(range(min = 1, max = crate::store::ListQuery::MAX_LIMIT))]
    pub limit: Option<usize>,
    #[serde(default)]
    pub order: Option<lls_api_common::store::Order>,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
    /// Only files with this status.
    #[serde(default)]
    pub filter: Option<FileStatus>,
}

impl ListFilesQuery {
    /// The cursor part of the query.
    pub fn page(&self) -> crate::store::ListQuery {
        crate::store::ListQuery {
            limit: self.limit,
            order: self.order,
            after: self.after.clone(),
            before: self.before.clone(),
        }
    }
}

/// `GET /v1/vector_stores/{id}/files/{file_id}/content`: one text item per stored chunk, in
/// 0.3.5's shape (`file_id`, `filename`, `attributes`, `content`) and, beside it, as OpenAI's
/// one page of file content (`object`, `data`, `has_more`, `next_page`), so both
/// `llama-stack-client` and the `openai` SDK's `vector_stores.files.content()` read the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VectorStoreFileContents {
    pub file_id: String,
    pub filename: String,
    pub attributes: Map<String, Value>,
    pub content: Vec<VectorStoreContent>,
    /// Always `"vector_store.file_content.page"`.
    pub object: String,
    /// The same items as `content`.
    pub data: Vec<VectorStoreContent>,
    /// Always `false`: the whole file is one page.
    pub has_more: bool,
    /// Always `null`.
    pub next_page: Option<String>,
}

impl VectorStoreFileContents {
    pub fn new(file_id: String, filename: String, attributes: Map<String, Value>, content: Vec<VectorStoreContent>) -> Self {
        VectorStoreFileContents {
            file_id,
            filename,
            attributes,
            data: content.clone(),
            content,
            object: "vector_store.file_content.page".into(),
            has_more: false,
            next_page: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VectorStoreFileDeleted {
    pub id: String,
    /// Always `"vector_store.file.deleted"`.
    pub object: String,
    pub deleted: bool,
}

/// `POST /v1/vector_stores/{id}/file_batches`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateFileBatchRequest {
    #[schemars(length(min = 1), inner(length(min = 1)))]
    pub file_ids: Vec<String>,
    #[serde(default)]
    pub attributes: Option<Map<String, Value>>,
    #[serde(default)]
    pub chunking_strategy: Option<ChunkingStrategy>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// OpenAI's vector store file batch object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VectorStoreFileBatchObject {
    pub id: String,
    /// Always `"vector_store.file_batch"`.
    pub object: String,
    pub created_at: i64,
    pub vector_store_id: String,
    pub status: FileStatus,
    pub file_counts: FileCounts,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chunking_strategies_round_trip_in_openai_shape() {
        let s: ChunkingStrategy = serde_json::from_value(
            json!({"type": "static", "static": {"max_chunk_size_tokens": 200}}),
        )
        .unwrap();
        assert_eq!(
            s,
            ChunkingStrategy::Static {
                config: StaticChunking {
                    chunk_overlap_tokens: 400,
                    max_chunk_size_tokens: 200
                }
            }
        );
        assert_eq!(
            serde_json::to_value(ChunkingStrategy::Auto).unwrap(),
            json!({"type": "auto"})
        );
        assert_eq!(
            serde_json::to_value(s).unwrap()["static"]["max_chunk_size_tokens"],
            200
        );
        assert!(serde_json::from_value::<ChunkingStrategy>(json!({"type": "other"})).is_err());
    }

    #[test]
    fn list_files_query_reads_the_filter() {
        let q: ListFilesQuery =
            serde_json::from_value(json!({"filter": "failed", "limit": 2})).unwrap();
        assert_eq!(q.filter, Some(FileStatus::Failed));
        assert_eq!(q.page().limit, Some(2));
    }
}
