//! `/v1/providers`: what run.yaml configured, with redacted configs and health.

use axum::Json;
use axum::extract::{Path, State};
use lls_api_common::{Error, HealthStatus};
use lls_http::ApiResult;
use lls_registry::BuiltProvider;
use serde::Serialize;
use serde_json::Value;

use super::AppState;

/// One configured provider (0.3.5's `ProviderInfo`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ProviderInfo {
    pub api: String,
    pub provider_id: String,
    pub provider_type: String,
    /// The provider's run.yaml config, secrets redacted.
    pub config: Value,
    pub health: HealthStatus,
}

/// `GET /v1/providers`'s answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ListProvidersResponse {
    pub data: Vec<ProviderInfo>,
}

async fn describe(p: &BuiltProvider) -> ProviderInfo {
    ProviderInfo {
        api: p.api.as_str().to_owned(),
        provider_id: p.provider_id.clone(),
        provider_type: p.provider_type.clone(),
        config: p.config.clone(),
        health: p.instance.health().await,
    }
}

pub async fn list(State(state): State<AppState>) -> Json<ListProvidersResponse> {
    let data = futures::future::join_all(state.stack.providers.iter().map(describe)).await;
    Json(ListProvidersResponse { data })
}

pub async fn get(State(state): State<AppState>, Path(provider_id): Path<String>) -> ApiResult<Json<ProviderInfo>> {
    let p = state
        .stack
        .provider(&provider_id)
        .ok_or_else(|| Error::not_found(format!("Provider '{provider_id}' not found")))?;
    Ok(Json(describe(p).await))
}
