//! The [`VectorStores`] trait: every OpenAI vector store operation plus the native chunk
//! insert and query, implemented once above the index-level [`crate::VectorIo`] providers.
//! The HTTP routes, the RAG tool runtime and the Responses API's `file_search` all call it.

use async_trait::async_trait;
use lls_api_common::{RequestContext, Result};
use serde_json::Value;

use crate::chunk::{Chunk, QueryChunksResponse};
use crate::file::{
    AttachFileRequest, CreateFileBatchRequest, ListFilesQuery, UpdateFileRequest,
    VectorStoreFileBatchObject, VectorStoreFileContents, VectorStoreFileDeleted,
    VectorStoreFileObject,
};
use crate::native::QueryParams;
use crate::search::{SearchRequest, SearchResultsPage};
use crate::store::{
    CreateVectorStoreRequest, ListPage, ListQuery, UpdateVectorStoreRequest, VectorStoreDeleted,
    VectorStoreObject,
};

/// Vector stores as clients see them. An unknown store id is an invalid-request error carrying
/// 0.3.5's message (its clients expect a 400 there); an unknown file or batch likewise.
#[async_trait]
pub trait VectorStores: Send + Sync {
    /// Creates a store on a vector_io provider and attaches `file_ids` before answering.
    async fn create_vector_store(
        &self,
        ctx: &RequestContext,
        request: CreateVectorStoreRequest,
    ) -> Result<VectorStoreObject>;

    async fn list_vector_stores(
        &self,
        ctx: &RequestContext,
        query: ListQuery,
    ) -> Result<ListPage<VectorStoreObject>>;

    async fn retrieve_vector_store(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
    ) -> Result<VectorStoreObject>;

    async fn update_vector_store(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        request: UpdateVectorStoreRequest,
    ) -> Result<VectorStoreObject>;

    /// Deletes the store, its index, and every record of its files and batches.
    async fn delete_vector_store(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
    ) -> Result<VectorStoreDeleted>;

    async fn search_vector_store(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        request: SearchRequest,
    ) -> Result<SearchResultsPage>;

    /// Parses, chunks, embeds and indexes a file; answers with its final status. A file that
    /// cannot be ingested is answered (and recorded) as `failed` with a `last_error`.
    async fn attach_file(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        request: AttachFileRequest,
    ) -> Result<VectorStoreFileObject>;

    async fn list_files(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        query: ListFilesQuery,
    ) -> Result<ListPage<VectorStoreFileObject>>;

    async fn retrieve_file(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        file_id: &str,
    ) -> Result<VectorStoreFileObject>;

    async fn file_contents(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        file_id: &str,
    ) -> Result<VectorStoreFileContents>;

    async fn update_file(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        file_id: &str,
        request: UpdateFileRequest,
    ) -> Result<VectorStoreFileObject>;

    /// Detaches a file and removes its chunks from the index.
    async fn delete_file(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        file_id: &str,
    ) -> Result<VectorStoreFileDeleted>;

    /// Starts ingesting the files in the background; answers at once with `in_progress`.
    async fn create_file_batch(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        request: CreateFileBatchRequest,
    ) -> Result<VectorStoreFileBatchObject>;

    async fn retrieve_file_batch(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        batch_id: &str,
    ) -> Result<VectorStoreFileBatchObject>;

    async fn list_files_in_batch(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        batch_id: &str,
        query: ListFilesQuery,
    ) -> Result<ListPage<VectorStoreFileObject>>;

    /// Stops a batch: files not started yet are `cancelled`; files being ingested finish.
    async fn cancel_file_batch(
        &self,
        ctx: &RequestContext,
        vector_store_id: &str,
        batch_id: &str,
    ) -> Result<VectorStoreFileBatchObject>;

    /// Native insert: embeds chunks that carry no embedding (with the store's model), gives
    /// chunks without an id a deterministic one, and indexes them. With `ttl_seconds` the
    /// chunks are removed again after that many seconds.
    async fn insert_chunks(
        &self,
        ctx: &RequestContext,
        vector_db_id: &str,
        chunks: Vec<Chunk>,
        ttl_seconds: Option<i64>,
    ) -> Result<()>;

    /// Native query: `query` is `InterleavedContent`; see [`QueryParams`] for the defaults.
    async fn query_chunks(
        &self,
        ctx: &RequestContext,
        vector_db_id: &str,
        query: &Value,
        params: QueryParams,
    ) -> Result<QueryChunksResponse>;
}
