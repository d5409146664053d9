//! The native vector_io routes of 0.3.5: `POST /v1/vector-io/insert` and
//! `POST /v1/vector-io/query`, served by the vector stores service.

use axum::Json;
use axum::extract::State;
use lls_api_vector_io::{InsertChunksRequest, QueryChunksRequest, QueryChunksResponse};
use serde_json::Value;

use lls_http::{ApiJson, ApiResult, Ctx};

use super::vector_stores::{AppState, service};

/// Answers `null`, as 0.3.5 does for an operation that returns nothing.
pub async fn insert(State(state): State<AppState>, Ctx(ctx): Ctx, ApiJson(request): ApiJson<InsertChunksRequest>) -> ApiResult<Json<Value>> {
    request.validate()?;
    service(&state)?.insert_chunks(&ctx, &request.vector_db_id, request.chunks, request.ttl_seconds).await?;
    Ok(Json(Value::Null))
}

pub async fn query(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<QueryChunksRequest>,
) -> ApiResult<Json<QueryChunksResponse>> {
    let params = request.params.unwrap_or_default();
    Ok(Json(service(&state)?.query_chunks(&ctx, &request.vector_db_id, &request.query, params).await?))
}
