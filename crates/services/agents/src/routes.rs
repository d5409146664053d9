//! Thin handlers: extract, call the provider, answer.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use lls_api_agents::{
    CreateResponseRequest, InputItemList, InputItemsQuery, ListResponsesQuery, ResponseDeleted,
    ResponseList, ResponseObject,
};
use lls_api_common::Error;
use lls_http::{ApiError, ApiJson, ApiQuery, ApiResult, Ctx, sse_response};

use crate::AgentsService;

type AppState = State<Arc<AgentsService>>;

pub async fn create(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreateResponseRequest>,
) -> ApiResult<Response> {
    let stream = request.stream.unwrap_or(false);
    let mut events = svc.provider.create_response(&ctx, request).await?;
    if stream {
        return Ok(sse_response(events.map(|e| Ok(e.event)).boxed()).await);
    }
    while let Some(emitted) = events.next().await {
        if let Some(cause) = emitted.cause {
            return Err(ApiError(cause));
        }
        if let Some(response) = emitted.event.terminal_response() {
            return Ok(Json(response.clone()).into_response());
        }
    }
    Err(ApiError(Error::internal(
        "the response ended without a final event",
    )))
}

pub async fn list(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    ApiQuery(query): ApiQuery<ListResponsesQuery>,
) -> ApiResult<Json<ResponseList>> {
    Ok(Json(svc.provider.list_responses(&ctx, query).await?))
}

pub async fn get(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<ResponseObject>> {
    Ok(Json(svc.provider.get_response(&ctx, &id).await?))
}

pub async fn delete(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<ResponseDeleted>> {
    Ok(Json(svc.provider.delete_response(&ctx, &id).await?))
}

pub async fn input_items(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<InputItemsQuery>,
) -> ApiResult<Json<InputItemList>> {
    Ok(Json(svc.provider.list_input_items(&ctx, &id, query).await?))
}
