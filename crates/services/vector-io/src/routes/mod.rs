//! The vector stores routes: OpenAI's `/v1/vector_stores` (each with its `/v1/openai/v1`
//! alias) and the native `/v1/vector-io` insert and query.

mod vector_io;
mod vector_stores;

use axum::routing::{delete, get, post};
use lls_api_common::Api;
use lls_api_vector_io::{
    AttachFileRequest, CreateFileBatchRequest, CreateVectorStoreRequest, InsertChunksRequest, ListFilesQuery, ListPage, ListQuery,
    QueryChunksRequest, QueryChunksResponse, SearchRequest, SearchResultsPage, UpdateFileRequest, UpdateVectorStoreRequest,
    VectorStoreDeleted, VectorStoreFileBatchObject, VectorStoreFileContents, VectorStoreFileDeleted, VectorStoreFileObject,
    VectorStoreObject,
};
use lls_http::{RouteBook, op};

pub(crate) use vector_stores::AppState;

pub(crate) fn book() -> RouteBook<AppState> {
    use vector_stores as vs;
    const STORES: &str = "/v1/vector_stores";
    const STORE: &str = "/v1/vector_stores/{vector_store_id}";
    const FILES: &str = "/v1/vector_stores/{vector_store_id}/files";
    const FILE: &str = "/v1/vector_stores/{vector_store_id}/files/{file_id}";
    const BATCHES: &str = "/v1/vector_stores/{vector_store_id}/file_batches";
    const BATCH: &str = "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}";
    let api = Api::VectorIo;
    RouteBook::new()
        .add_with_alias(
            op("POST", STORES, api, "openai_create_vector_store", "Create a vector store.")
                .body::<CreateVectorStoreRequest>()
                .returns::<VectorStoreObject>(),
            post(vs::create),
        )
        .add_with_alias(
            op("GET", STORES, api, "openai_list_vector_stores", "List vector stores.")
                .query::<ListQuery>()
                .returns::<ListPage<VectorStoreObject>>(),
            get(vs::list),
        )
        .add_with_alias(
            op("GET", STORE, api, "openai_retrieve_vector_store", "Retrieve a vector store.").returns::<VectorStoreObject>(),
            get(vs::retrieve),
        )
        .add_with_alias(
            op("POST", STORE, api, "openai_update_vector_store", "Update a vector store.")
                .body::<UpdateVectorStoreRequest>()
                .returns::<VectorStoreObject>(),
            post(vs::update),
        )
        .add_with_alias(
            op("DELETE", STORE, api, "openai_delete_vector_store", "Delete a vector store.").returns::<VectorStoreDeleted>(),
            delete(vs::delete),
        )
        .add_with_alias(
            op("POST", "/v1/vector_stores/{vector_store_id}/search", api, "openai_search_vector_store", "Search a vector store.")
                .body::<SearchRequest>()
                .returns::<SearchResultsPage>(),
            post(vs::search),
        )
        .add_with_alias(
            op("POST", FILES, api, "openai_attach_file_to_vector_store", "Attach a file to a vector store.")
                .body::<AttachFileRequest>()
                .returns::<VectorStoreFileObject>(),
            post(vs::attach_file),
        )
        .add_with_alias(
            op("GET", FILES, api, "openai_list_files_in_vector_store", "List the files of a vector store.")
                .query::<ListFilesQuery>()
                .returns::<ListPage<VectorStoreFileObject>>(),
            get(vs::list_files),
        )
        .add_with_alias(
            op("GET", FILE, api, "openai_retrieve_vector_store_file", "Retrieve a vector store file.").returns::<VectorStoreFileObject>(),
            get(vs::retrieve_file),
        )
        .add_with_alias(
            op("POST", FILE, api, "openai_update_vector_store_file", "Update a vector store file's attributes.")
                .body::<UpdateFileRequest>()
                .returns::<VectorStoreFileObject>(),
            post(vs::update_file),
        )
        .add_with_alias(
            op("DELETE", FILE, api, "openai_delete_vector_store_file", "Detach a file from a vector store.")
                .returns::<VectorStoreFileDeleted>(),
            delete(vs::delete_file),
        )
        .add_with_alias(
            op(
                "GET",
                "/v1/vector_stores/{vector_store_id}/files/{file_id}/content",
                api,
                "openai_retrieve_vector_store_file_contents",
                "The chunks of a vector store file.",
            )
            .returns::<VectorStoreFileContents>(),
            get(vs::file_contents),
        )
        .add_with_alias(
            op("POST", BATCHES, api, "openai_create_vector_store_file_batch", "Create a file batch.")
                .body::<CreateFileBatchRequest>()
                .returns::<VectorStoreFileBatchObject>(),
            post(vs::create_batch),
        )
        .add_with_alias(
            op("GET", BATCH, api, "openai_retrieve_vector_store_file_batch", "Retrieve a file batch.")
                .returns::<VectorStoreFileBatchObject>(),
            get(vs::retrieve_batch),
        )
        .add_with_alias(
            op(
                "GET",
                "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/files",
                api,
                "openai_list_files_in_vector_store_file_batch",
                "List the files of a file batch.",
            )
            .query::<ListFilesQuery>()
            .returns::<ListPage<VectorStoreFileObject>>(),
            get(vs::list_batch_files),
        )
        .add_with_alias(
            op(
                "POST",
                "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel",
                api,
                "openai_cancel_vector_store_file_batch",
                "Cancel a file batch.",
            )
            .returns::<VectorStoreFileBatchObject>(),
            post(vs::cancel_batch),
        )
        .add(
            op("POST", "/v1/vector-io/insert", api, "insert_chunks", "Insert chunks into a vector store.")
                .body::<InsertChunksRequest>()
                .returns::<()>(),
            post(vector_io::insert),
        )
        .add(
            op("POST", "/v1/vector-io/query", api, "query_chunks", "Query chunks of a vector store.")
                .body::<QueryChunksRequest>()
                .returns::<QueryChunksResponse>(),
            post(vector_io::query),
        )
}
