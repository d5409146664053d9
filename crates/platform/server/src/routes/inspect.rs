//! `/v1/health`, `/v1/version` and `/v1/inspect/routes`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;

use super::AppState;

/// `GET /v1/health`'s answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct HealthInfo {
    pub status: lls_api_common::HealthState,
}

/// `GET /v1/version`'s answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct VersionInfo {
    pub version: String,
}

/// One served route and the provider types of the API behind it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RouteDescription {
    pub route: String,
    pub method: String,
    pub provider_types: Vec<String>,
}

/// `GET /v1/inspect/routes`'s answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ListRoutesResponse {
    pub data: Vec<RouteDescription>,
}

pub async fn health() -> Json<HealthInfo> {
    Json(HealthInfo { status: lls_api_common::HealthState::Ok })
}

pub async fn version() -> Json<VersionInfo> {
    Json(VersionInfo { version: crate::API_VERSION.to_owned() })
}

/// Each route with the provider types of the API behind it.
pub async fn routes(State(state): State<AppState>) -> Json<ListRoutesResponse> {
    let data = state
        .routes
        .iter()
        .map(|r| {
            let backing = match r.api {
                lls_api_common::Api::Models => lls_api_common::Api::Inference,
                api => api,
            };
            let provider_types = state.stack.providers_of(backing).map(|p| p.provider_type.clone()).collect();
            RouteDescription { route: r.path.clone(), method: r.method.to_owned(), provider_types }
        })
        .collect();
    Json(ListRoutesResponse { data })
}

/// The OpenAPI document of what this server serves.
pub async fn openapi(State(state): State<AppState>) -> Json<Value> {
    Json(crate::openapi::document(&state.routes))
}
