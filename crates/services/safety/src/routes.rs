//! Thin handlers: extract, call the table or the router, answer.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lls_api_safety::{
    ListShieldsResponse, ModerationObject, RegisterShieldRequest, RunModerationRequest,
    RunShieldRequest, RunShieldResponse, Safety, Shield,
};
use lls_http::{ApiJson, ApiResult, Ctx};

use crate::SafetyService;

type AppState = State<Arc<SafetyService>>;

pub async fn list(State(svc): AppState, Ctx(ctx): Ctx) -> ApiResult<Json<ListShieldsResponse>> {
    Ok(Json(ListShieldsResponse {
        data: svc.shields.list(&ctx).await?,
    }))
}

pub async fn get(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(identifier): Path<String>,
) -> ApiResult<Json<Shield>> {
    Ok(Json(svc.shields.get(&ctx, &identifier).await?))
}

pub async fn register(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<RegisterShieldRequest>,
) -> ApiResult<Json<Shield>> {
    Ok(Json(svc.shields.register(&ctx, request).await?))
}

pub async fn unregister(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(identifier): Path<String>,
) -> ApiResult<StatusCode> {
    svc.shields.unregister(&ctx, &identifier).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn run_shield(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<RunShieldRequest>,
) -> ApiResult<Json<RunShieldResponse>> {
    Ok(Json(svc.router.run_shield(&ctx, request).await?))
}

pub async fn moderations(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<RunModerationRequest>,
) -> ApiResult<Json<ModerationObject>> {
    Ok(Json(svc.router.run_moderation(&ctx, request).await?))
}
