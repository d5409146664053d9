//! `/v1/models`: the native Model list (0.3.5's fields plus OpenAI's), registration, lookup,
//! and the deprecated OpenAI-shaped list at `/v1/openai/v1/models`.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use lls_api_models::{ListModelsResponse, ModelObject, OpenAiListModelsResponse, OpenAiModel, RegisterModelRequest};

use lls_http::{ApiJson, ApiResult, Ctx};

use crate::InferenceService;

type State = axum::extract::State<std::sync::Arc<InferenceService>>;

pub async fn list(axum::extract::State(svc): State, Ctx(ctx): Ctx) -> ApiResult<Json<ListModelsResponse>> {
    Ok(Json(ListModelsResponse::new(svc.models.list(&ctx).await?, lls_api_common::unix_now())))
}

pub async fn openai_list(axum::extract::State(svc): State, Ctx(ctx): Ctx) -> ApiResult<Json<OpenAiListModelsResponse>> {
    let now = lls_api_common::unix_now();
    let data: Vec<OpenAiModel> = svc
        .models
        .list(&ctx)
        .await?
        .into_iter()
        .map(|m| OpenAiModel { id: m.identifier, object: "model".into(), created: now, owned_by: "llama_stack".into() })
        .collect();
    Ok(Json(OpenAiListModelsResponse { data, object: "list".into() }))
}

pub async fn get(axum::extract::State(svc): State, Ctx(ctx): Ctx, Path(model_id): Path<String>) -> ApiResult<Json<ModelObject>> {
    Ok(Json(ModelObject::new(svc.models.get(&ctx, &model_id).await?, lls_api_common::unix_now())))
}

pub async fn register(
    axum::extract::State(svc): State,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<RegisterModelRequest>,
) -> ApiResult<Json<ModelObject>> {
    Ok(Json(ModelObject::new(svc.models.register(&ctx, request).await?, lls_api_common::unix_now())))
}

pub async fn unregister(axum::extract::State(svc): State, Ctx(ctx): Ctx, Path(model_id): Path<String>) -> ApiResult<StatusCode> {
    svc.models.unregister(&ctx, &model_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
