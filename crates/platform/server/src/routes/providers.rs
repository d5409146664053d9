//! `/v1/providers`: what run.yaml configured, with redacted configs and health.

use axum::Json;
use axum::extract::{Path, State};
use lls_api_common::{Api, Error, HealthStatus};
use lls_api_inference::InferenceProvider;
use lls_registry::BuiltProvider;
use serde_json::{Value, json};

use super::AppState;
use crate::error::ApiResult;

async fn health(p: &BuiltProvider) -> HealthStatus {
    match p.api {
        Api::Inference => match p.instance.get::<dyn InferenceProvider>() {
            Some(inference) => inference.health().await,
            None => HealthStatus::not_implemented(),
        },
        _ => HealthStatus::not_implemented(),
    }
}

async fn describe(p: &BuiltProvider) -> Value {
    json!({
        "api": p.api.as_str(),
        "provider_id": p.provider_id,
        "provider_type": p.provider_type,
        "config": p.config,
        "health": health(p).await,
    })
}

pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let described = futures::future::join_all(state.stack.providers.providers.iter().map(describe)).await;
    Json(json!({ "data": described }))
}

pub async fn get(State(state): State<AppState>, Path(provider_id): Path<String>) -> ApiResult<Json<Value>> {
    let p = state
        .stack
        .providers
        .find(&provider_id)
        .ok_or_else(|| Error::not_found(format!("Provider '{provider_id}' not found")))?;
    Ok(Json(describe(p).await))
}
