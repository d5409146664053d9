//! `/v1/models`: the native Model list (0.3.5 shape), registration, lookup, and the deprecated
//! OpenAI-shaped list at `/v1/openai/v1/models`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lls_api_models::{Model, OpenAiModel, RegisterModelRequest};
use serde_json::{Value, json};

use super::AppState;
use crate::error::ApiResult;
use crate::extract::ApiJson;

pub async fn list(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "data": state.stack.models.list() }))
}

pub async fn openai_list(State(state): State<AppState>) -> Json<Value> {
    let now = lls_api_common::unix_now();
    let data: Vec<OpenAiModel> = state
        .stack
        .models
        .list()
        .into_iter()
        .map(|m| OpenAiModel { id: m.identifier, object: "model".into(), created: now, owned_by: "llama_stack".into() })
        .collect();
    Json(json!({ "data": data, "object": "list" }))
}

pub async fn get(State(state): State<AppState>, Path(model_id): Path<String>) -> ApiResult<Json<Model>> {
    Ok(Json(state.stack.models.get(&model_id)?))
}

pub async fn register(State(state): State<AppState>, ApiJson(request): ApiJson<RegisterModelRequest>) -> ApiResult<Json<Model>> {
    Ok(Json(state.stack.models.register(request).await?))
}

pub async fn unregister(State(state): State<AppState>, Path(model_id): Path<String>) -> ApiResult<StatusCode> {
    state.stack.models.unregister(&model_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
