//! Thin handlers: extract, call the service, answer.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lls_api_prompts::{
    CreatePromptRequest, GetPromptQuery, ListPromptsResponse, Prompt, Prompts,
    SetDefaultVersionRequest, UpdatePromptRequest,
};
use lls_http::{ApiJson, ApiQuery, ApiResult, Ctx};

type AppState = State<Arc<dyn Prompts>>;

pub async fn list(State(svc): AppState, Ctx(ctx): Ctx) -> ApiResult<Json<ListPromptsResponse>> {
    Ok(Json(svc.list(&ctx).await?))
}

pub async fn create(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreatePromptRequest>,
) -> ApiResult<Json<Prompt>> {
    Ok(Json(svc.create(&ctx, request).await?))
}

pub async fn list_versions(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<ListPromptsResponse>> {
    Ok(Json(svc.list_versions(&ctx, &id).await?))
}

pub async fn get(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<GetPromptQuery>,
) -> ApiResult<Json<Prompt>> {
    Ok(Json(svc.get(&ctx, &id, query.version).await?))
}

pub async fn update(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdatePromptRequest>,
) -> ApiResult<Json<Prompt>> {
    Ok(Json(svc.update(&ctx, &id, request).await?))
}

pub async fn delete(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    svc.delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn set_default_version(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<SetDefaultVersionRequest>,
) -> ApiResult<Json<Prompt>> {
    Ok(Json(
        svc.set_default_version(&ctx, &id, request.version).await?,
    ))
}
