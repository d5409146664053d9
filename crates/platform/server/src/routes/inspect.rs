//! `/v1/health`, `/v1/version` and `/v1/inspect/routes`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;

pub async fn health() -> Json<Value> {
    Json(json!({"status": "OK"}))
}

pub async fn version() -> Json<Value> {
    Json(json!({"version": crate::API_VERSION}))
}

/// Each route with the provider types of the API behind it.
pub async fn routes(State(state): State<AppState>) -> Json<Value> {
    let data: Vec<Value> = state
        .routes
        .iter()
        .map(|r| {
            let backing = match r.api {
                lls_api_common::Api::Models => lls_api_common::Api::Inference,
                api => api,
            };
            let provider_types: Vec<&str> =
                state.stack.providers_of(backing).map(|p| p.provider_type.as_str()).collect();
            json!({"route": r.path, "method": r.method, "provider_types": provider_types})
        })
        .collect();
    Json(json!({ "data": data }))
}

/// The OpenAPI document of what this server serves.
pub async fn openapi(State(state): State<AppState>) -> Json<Value> {
    Json(crate::openapi::document(&state.routes))
}
