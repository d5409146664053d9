//! The batches service: OpenAI's `/v1/batches` routes (each also at its deprecated
//! `/v1/openai/v1/batches` alias, as 0.3.5 serves them) in front of the one batches provider.
//! Handlers only extract, call the provider and answer.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use lls_api_batches::{BatchObject, Batches, BatchesApi, CreateBatchRequest, ListBatchesQuery, ListBatchesResponse};
use lls_api_common::{Api, Error, Result};
use lls_http::{ApiJson, ApiQuery, ApiResult, Ctx, RouteBook, RouteGroup, op};
use lls_registry::{BuiltService, ServiceContext};

/// The service's state: the batches provider.
pub struct BatchesService {
    pub provider: Arc<dyn Batches>,
}

lls_registry::register_service! {
    api: BatchesApi,
    depends_on: [],
    description: "OpenAI's Batches API in front of the batches provider",
    build: build,
    routes: book,
}

async fn build(ctx: ServiceContext) -> Result<Option<BuiltService>> {
    let mut providers = ctx.providers_of::<BatchesApi>()?;
    let Some(first) = providers.keys().next().cloned() else {
        return Ok(None);
    };
    if providers.len() > 1 {
        return Err(Error::invalid("run.yaml configures several batches providers; the batches API serves exactly one"));
    }
    let provider = providers.remove(&first).ok_or_else(|| Error::internal("the batches provider vanished"))?;
    let service = Arc::new(BatchesService { provider: provider.clone() });
    Ok(Some(BuiltService::new(service.clone()).export::<BatchesApi>(provider).with_routes(RouteGroup::new(book(), service))))
}

fn book() -> RouteBook<Arc<BatchesService>> {
    RouteBook::new()
        .add_with_alias(
            op("POST", "/v1/batches", Api::Batches, "create_batch", "Create a batch: run every request of a JSONL file in the background.")
                .body::<CreateBatchRequest>()
                .returns::<BatchObject>(),
            post(create),
        )
        .add_with_alias(
            op("GET", "/v1/batches", Api::Batches, "list_batches", "Batches, newest first.")
                .query::<ListBatchesQuery>()
                .returns::<ListBatchesResponse>(),
            get(list),
        )
        .add_with_alias(
            op("GET", "/v1/batches/{batch_id}", Api::Batches, "retrieve_batch", "A batch.")
                .path_param::<String>("batch_id")
                .returns::<BatchObject>(),
            get(retrieve),
        )
        .add_with_alias(
            op("POST", "/v1/batches/{batch_id}/cancel", Api::Batches, "cancel_batch", "Cancel a batch that has not ended.")
                .path_param::<String>("batch_id")
                .returns::<BatchObject>(),
            post(cancel),
        )
}

type AppState = State<Arc<BatchesService>>;

async fn create(State(svc): AppState, Ctx(ctx): Ctx, ApiJson(request): ApiJson<CreateBatchRequest>) -> ApiResult<Json<BatchObject>> {
    Ok(Json(svc.provider.create_batch(&ctx, request).await?))
}

async fn list(State(svc): AppState, Ctx(ctx): Ctx, ApiQuery(query): ApiQuery<ListBatchesQuery>) -> ApiResult<Json<ListBatchesResponse>> {
    Ok(Json(svc.provider.list_batches(&ctx, query).await?))
}

async fn retrieve(State(svc): AppState, Ctx(ctx): Ctx, Path(id): Path<String>) -> ApiResult<Json<BatchObject>> {
    Ok(Json(svc.provider.retrieve_batch(&ctx, &id).await?))
}

async fn cancel(State(svc): AppState, Ctx(ctx): Ctx, Path(id): Path<String>) -> ApiResult<Json<BatchObject>> {
    Ok(Json(svc.provider.cancel_batch(&ctx, &id).await?))
}
