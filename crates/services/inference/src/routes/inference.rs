//! OpenAI-compatible inference: chat completions, completions, embeddings, and the stored
//! chat completions. Handlers only parse, call the router and render.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use lls_api_common::store::Order;
use lls_api_common::{Error, ErrorKind};
use lls_api_inference::{Answer, AnswerType, ChatCompletionRequest, CompletionRequest, EmbeddingsRequest, Inference, Output};
use lls_http::{ApiError, ApiJson, ApiResult, Ctx, sse_json_response};
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
    render(router(&state).chat_completion(&ctx, request).await?).await
}

pub async fn completion(State(state): State<AppState>, Ctx(ctx): Ctx, ApiJson(request): ApiJson<CompletionRequest>) -> ApiResult<Response> {
    render(router(&state).completion(&ctx, request).await?).await
}

pub async fn embeddings(State(state): State<AppState>, Ctx(ctx): Ctx, ApiJson(request): ApiJson<EmbeddingsRequest>) -> ApiResult<Response> {
    Ok(json_response(router(&state).embeddings(&ctx, request).await?.to_bytes()?))
}

/// A whole answer as JSON, a stream as SSE; a backend's bytes are written as they came.
async fn render<T: AnswerType, C: AnswerType + Send + 'static>(output: Output<T, C>) -> ApiResult<Response> {
    Ok(match output {
        Output::Complete(answer) => json_response(answer.to_bytes()?),
        Output::Stream(chunks) => sse_json_response(chunks.map(|c| c.and_then(|a: Answer<C>| a.to_bytes())).boxed()).await,
    })
}

fn json_response(body: Bytes) -> Response {
    let mut response = Response::new(axum::body::Body::from(body));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
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

pub async fn list_chats(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<ListChatCompletions>> {
    let Query(p) = params.map_err(|e| ApiError(Error::invalid(format!("invalid query parameters: {}", e.body_text()))))?;
    if p.limit == Some(0) {
        return Err(ApiError(Error::invalid("'limit' must be at least 1").with_param("limit")));
    }
    Ok(Json(store(&state)?.list(&ctx, p.after, p.limit, p.model, p.order.unwrap_or_default()).await?))
}

pub async fn get_chat(State(state): State<AppState>, Ctx(ctx): Ctx, Path(id): Path<String>) -> ApiResult<Json<StoredChatCompletion>> {
    Ok(Json(store(&state)?.get(&ctx, &id).await?))
}
