//! OpenAI-compatible inference: chat completions, completions, embeddings, and the stored
//! chat completions. Handlers only parse, call the router and render.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use lls_api_common::store::Order;
use lls_api_common::{Error, ErrorKind};
use lls_api_inference::{ChatCompletionRequest, CompletionRequest, EmbeddingsRequest, EmbeddingsResponse, Inference, Output};
use lls_http::{ApiError, ApiJson, ApiResult, Ctx, sse_response};
use serde::Deserialize;

use crate::{InferenceRouter, InferenceService, InferenceStore, ListChatCompletions, StoredChatCompletion};

type AppState = Arc<InferenceService>;

fn router(state: &AppState) -> &Arc<InferenceRouter> {
    &state.router
}

fn store(state: &AppState) -> ApiResult<&Arc<InferenceStore>> {
    router(state).store().ok_or_else(|| {
        ApiError(Error::new(
            ErrorKind::Unsupported,
            "chat completions are not stored: run.yaml has no storage.stores.inference",
        ))
    })
}

pub async fn chat(State(state): State<AppState>, Ctx(ctx): Ctx, ApiJson(request): ApiJson<ChatCompletionRequest>) -> ApiResult<Response> {
    Ok(match router(&state).chat_completion(&ctx, request).await? {
        Output::Complete(c) => Json(c).into_response(),
        Output::Stream(s) => sse_response(s).await,
    })
}

pub async fn completion(State(state): State<AppState>, Ctx(ctx): Ctx, ApiJson(request): ApiJson<CompletionRequest>) -> ApiResult<Response> {
    Ok(match router(&state).completion(&ctx, request).await? {
        Output::Complete(c) => Json(c).into_response(),
        Output::Stream(s) => sse_response(s).await,
    })
}

pub async fn embeddings(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<EmbeddingsRequest>,
) -> ApiResult<Json<EmbeddingsResponse>> {
    Ok(Json(router(&state).embeddings(&ctx, request).await?))
}

/// `GET /v1/chat/completions` parameters.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListParams {
    /// The id of the completion to list after.
    after: Option<String>,
    #[schemars(range(min = 1))]
    limit: Option<usize>,
    model: Option<String>,
    order: Option<Order>,
}

pub async fn list_chats(State(state): State<AppState>, params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>) -> ApiResult<Json<ListChatCompletions>> {
    let Query(p) = params.map_err(|e| ApiError(Error::invalid(format!("invalid query parameters: {}", e.body_text()))))?;
    if p.limit == Some(0) {
        return Err(ApiError(Error::invalid("'limit' must be at least 1").with_param("limit")));
    }
    Ok(Json(store(&state)?.list(p.after, p.limit, p.model, p.order.unwrap_or_default()).await?))
}

pub async fn get_chat(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<StoredChatCompletion>> {
    Ok(Json(store(&state)?.get(&id).await?))
}
