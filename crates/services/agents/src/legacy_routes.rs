//! Thin handlers of the legacy v1alpha Agents API. A turn streams as SSE (`data:` chunks of
//! `{event: {payload}}`) when `stream` is true; otherwise it runs to its end and answers the
//! turn (0.3.5 refused non-streaming turns with a 500).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use lls_api_agents::{
    Agent, AgentCreateResponse, AgentSessionCreateResponse, AgentStepResponse, CreateAgentRequest,
    CreateSessionRequest, CreateTurnRequest, PageQuery, Paginated, ResumeTurnRequest, Session,
    Turn, TurnStream,
};
use lls_api_common::Error;
use lls_http::{ApiError, ApiJson, ApiQuery, ApiResult, Ctx, sse_response};

use crate::AgentsService;

type AppState = State<Arc<AgentsService>>;

pub async fn create_agent(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreateAgentRequest>,
) -> ApiResult<Json<AgentCreateResponse>> {
    Ok(Json(
        svc.provider
            .create_agent(&ctx, request.agent_config)
            .await?,
    ))
}

pub async fn list_agents(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Paginated<Agent>>> {
    Ok(Json(svc.provider.list_agents(&ctx, query).await?))
}

pub async fn get_agent(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(agent_id): Path<String>,
) -> ApiResult<Json<Agent>> {
    Ok(Json(svc.provider.get_agent(&ctx, &agent_id).await?))
}

pub async fn delete_agent(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(agent_id): Path<String>,
) -> ApiResult<StatusCode> {
    svc.provider.delete_agent(&ctx, &agent_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn create_session(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(agent_id): Path<String>,
    ApiJson(request): ApiJson<CreateSessionRequest>,
) -> ApiResult<Json<AgentSessionCreateResponse>> {
    Ok(Json(
        svc.provider
            .create_session(&ctx, &agent_id, request.session_name)
            .await?,
    ))
}

pub async fn list_sessions(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(agent_id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Paginated<Session>>> {
    Ok(Json(
        svc.provider.list_sessions(&ctx, &agent_id, query).await?,
    ))
}

/// `turn_ids` may repeat (`?turn_ids=a&turn_ids=b`), which the usual query reader refuses.
pub async fn get_session(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path((agent_id, session_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Session>> {
    let turn_ids: Vec<String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "turn_ids" || k == "turn_ids[]")
        .map(|(_, v)| v.into_owned())
        .collect();
    let turn_ids = (!turn_ids.is_empty()).then_some(turn_ids);
    Ok(Json(
        svc.provider
            .get_session(&ctx, &agent_id, &session_id, turn_ids)
            .await?,
    ))
}

pub async fn delete_session(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path((agent_id, session_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    svc.provider
        .delete_session(&ctx, &agent_id, &session_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn create_turn(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path((agent_id, session_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<CreateTurnRequest>,
) -> ApiResult<Response> {
    let stream = request.stream.unwrap_or(false);
    let turn = svc
        .provider
        .create_turn(&ctx, &agent_id, &session_id, request)
        .await?;
    answer(turn, stream).await
}

pub async fn resume_turn(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path((agent_id, session_id, turn_id)): Path<(String, String, String)>,
    ApiJson(request): ApiJson<ResumeTurnRequest>,
) -> ApiResult<Response> {
    let stream = request.stream.unwrap_or(false);
    let turn = svc
        .provider
        .resume_turn(&ctx, &agent_id, &session_id, &turn_id, request)
        .await?;
    answer(turn, stream).await
}

/// The turn's events as SSE, or the turn once it completes (or waits for client tools).
async fn answer(mut turn: TurnStream, stream: bool) -> ApiResult<Response> {
    if stream {
        return Ok(sse_response(turn).await);
    }
    while let Some(chunk) = turn.next().await {
        if let Some(done) = chunk?.event.payload.final_turn() {
            return Ok(Json(done.clone()).into_response());
        }
    }
    Err(ApiError(Error::internal(
        "the turn ended without a final event",
    )))
}

pub async fn get_turn(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path((agent_id, session_id, turn_id)): Path<(String, String, String)>,
) -> ApiResult<Json<Turn>> {
    Ok(Json(
        svc.provider
            .get_turn(&ctx, &agent_id, &session_id, &turn_id)
            .await?,
    ))
}

pub async fn get_step(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path((agent_id, session_id, turn_id, step_id)): Path<(String, String, String, String)>,
) -> ApiResult<Json<AgentStepResponse>> {
    Ok(Json(
        svc.provider
            .get_step(&ctx, &agent_id, &session_id, &turn_id, &step_id)
            .await?,
    ))
}
