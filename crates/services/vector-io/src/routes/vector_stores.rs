//! `/v1/vector_stores`: OpenAI's vector stores API (stores, search, files, file batches) over
//! the stack's vector stores service. Handlers only parse, call the service and render.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use lls_api_common::Error;
use lls_api_vector_io::{
    AttachFileRequest, CreateFileBatchRequest, CreateVectorStoreRequest, ListFilesQuery, ListPage, ListQuery,
    SearchRequest, SearchResultsPage, UpdateFileRequest, UpdateVectorStoreRequest, VectorStoreDeleted,
    VectorStoreFileBatchObject, VectorStoreFileContents, VectorStoreFileDeleted, VectorStoreFileObject,
    VectorStoreObject, VectorStores,
};

use lls_http::{ApiError, ApiJson, ApiResult, Ctx};

/// The routes' state: the service, as its trait.
pub(crate) type AppState = Arc<dyn VectorStores>;

pub(super) fn service(state: &AppState) -> ApiResult<&Arc<dyn VectorStores>> {
    Ok(state)
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(t)| t).map_err(|e| ApiError(Error::invalid(format!("invalid query parameters: {}", e.body_text()))))
}

pub async fn create(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreateVectorStoreRequest>,
) -> ApiResult<Json<VectorStoreObject>> {
    Ok(Json(service(&state)?.create_vector_store(&ctx, request).await?))
}

pub async fn list(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    params: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<ListPage<VectorStoreObject>>> {
    Ok(Json(service(&state)?.list_vector_stores(&ctx, query(params)?).await?))
}

pub async fn retrieve(State(state): State<AppState>, Ctx(ctx): Ctx, Path(id): Path<String>) -> ApiResult<Json<VectorStoreObject>> {
    Ok(Json(service(&state)?.retrieve_vector_store(&ctx, &id).await?))
}

pub async fn update(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateVectorStoreRequest>,
) -> ApiResult<Json<VectorStoreObject>> {
    Ok(Json(service(&state)?.update_vector_store(&ctx, &id, request).await?))
}

pub async fn delete(State(state): State<AppState>, Ctx(ctx): Ctx, Path(id): Path<String>) -> ApiResult<Json<VectorStoreDeleted>> {
    Ok(Json(service(&state)?.delete_vector_store(&ctx, &id).await?))
}

pub async fn search(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<SearchRequest>,
) -> ApiResult<Json<SearchResultsPage>> {
    Ok(Json(service(&state)?.search_vector_store(&ctx, &id, request).await?))
}

pub async fn attach_file(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<AttachFileRequest>,
) -> ApiResult<Json<VectorStoreFileObject>> {
    Ok(Json(service(&state)?.attach_file(&ctx, &id, request).await?))
}

pub async fn list_files(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    params: Result<Query<ListFilesQuery>, QueryRejection>,
) -> ApiResult<Json<ListPage<VectorStoreFileObject>>> {
    Ok(Json(service(&state)?.list_files(&ctx, &id, query(params)?).await?))
}

pub async fn retrieve_file(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path((id, file_id)): Path<(String, String)>,
) -> ApiResult<Json<VectorStoreFileObject>> {
    Ok(Json(service(&state)?.retrieve_file(&ctx, &id, &file_id).await?))
}

pub async fn file_contents(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path((id, file_id)): Path<(String, String)>,
) -> ApiResult<Json<VectorStoreFileContents>> {
    Ok(Json(service(&state)?.file_contents(&ctx, &id, &file_id).await?))
}

pub async fn update_file(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path((id, file_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<UpdateFileRequest>,
) -> ApiResult<Json<VectorStoreFileObject>> {
    Ok(Json(service(&state)?.update_file(&ctx, &id, &file_id, request).await?))
}

pub async fn delete_file(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path((id, file_id)): Path<(String, String)>,
) -> ApiResult<Json<VectorStoreFileDeleted>> {
    Ok(Json(service(&state)?.delete_file(&ctx, &id, &file_id).await?))
}

pub async fn create_batch(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<CreateFileBatchRequest>,
) -> ApiResult<Json<VectorStoreFileBatchObject>> {
    Ok(Json(service(&state)?.create_file_batch(&ctx, &id, request).await?))
}

pub async fn retrieve_batch(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path((id, batch_id)): Path<(String, String)>,
) -> ApiResult<Json<VectorStoreFileBatchObject>> {
    Ok(Json(service(&state)?.retrieve_file_batch(&ctx, &id, &batch_id).await?))
}

pub async fn list_batch_files(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path((id, batch_id)): Path<(String, String)>,
    params: Result<Query<ListFilesQuery>, QueryRejection>,
) -> ApiResult<Json<ListPage<VectorStoreFileObject>>> {
    Ok(Json(service(&state)?.list_files_in_batch(&ctx, &id, &batch_id, query(params)?).await?))
}

pub async fn cancel_batch(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path((id, batch_id)): Path<(String, String)>,
) -> ApiResult<Json<VectorStoreFileBatchObject>> {
    Ok(Json(service(&state)?.cancel_file_batch(&ctx, &id, &batch_id).await?))
}
