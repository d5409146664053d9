//! `/v1/providers`: what run.yaml configured, with redacted configs and health.

use axum::Json;
use axum::extract::{Path, State};
use lls_api_common::Error;
use lls_http::ApiResult;
use lls_registry::BuiltProvider;
use serde_json::{Value, json};

use super::AppState;

async fn describe(p: &BuiltProvider) -> Value {
    json!({
        "api": p.api.as_str(),
        "provider_id": p.provider_id,
        "provider_type": p.provider_type,
        "config": p.config,
        "health": p.instance.health().await,
    })
}

pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let described = futures::future::join_all(state.stack.providers.iter().map(describe)).await;
    Json(json!({ "data": described }))
}

pub async fn get(State(state): State<AppState>, Path(provider_id): Path<String>) -> ApiResult<Json<Value>> {
    let p = state
        .stack
        .provider(&provider_id)
        .ok_or_else(|| Error::not_found(format!("Provider '{provider_id}' not found")))?;
    Ok(Json(describe(p).await))
}
