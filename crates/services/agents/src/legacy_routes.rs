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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use lls_agents_inline_meta_reference::{Deps, Engine, MetaReference, ResponsesStore};
    use lls_api_agents::TurnStreamChunk;
    use lls_api_common::Tasks;
    use lls_api_common::store::KvStoreRef;
    use lls_http::RouteGroup;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use super::*;

    async fn app() -> Router {
        let stores = lls_testkit::stores::memory_stores();
        let deps = Deps {
            inference: lls_testkit::fake_guard::inference(),
            tools: None,
            vector_stores: None,
            safety: None,
            conversations: None,
        };
        let sql = stores.sql("sql_default").await.unwrap();
        let store = Arc::new(ResponsesStore::open(sql).await.unwrap());
        let kv = stores
            .kv(&KvStoreRef {
                backend: "kv_default".into(),
                namespace: "agents".into(),
            })
            .await
            .unwrap();
        let provider =
            MetaReference::new(Engine::new(deps, store, Tasks::new())).with_agent_state(kv);
        let service = Arc::new(AgentsService {
            provider: Arc::new(provider),
        });
        RouteGroup::new(crate::book(), service).router
    }

    async fn call(app: &Router, method: &str, uri: &str, body: Option<Value>) -> (u16, String) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    async fn json_of(app: &Router, method: &str, uri: &str, body: Option<Value>) -> Value {
        let (status, text) = call(app, method, uri, body).await;
        assert_eq!(status, 200, "{method} {uri}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    #[tokio::test]
    async fn agents_sessions_and_turns_over_http() {
        let app = app().await;
        let config = json!({"agent_config": {"model": "fake/model", "instructions": "You are a helpful assistant"}});
        let agent = json_of(&app, "POST", "/v1alpha/agents", Some(config)).await["agent_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let got = json_of(&app, "GET", &format!("/v1/agents/{agent}"), None).await;
        assert_eq!(got["agent_config"]["max_infer_iters"], 10);
        let listed = json_of(&app, "GET", "/v1alpha/agents?limit=5", None).await;
        assert_eq!(
            (
                listed["data"].as_array().unwrap().len(),
                &listed["has_more"]
            ),
            (1, &json!(false))
        );

        let session = json_of(
            &app,
            "POST",
            &format!("/v1alpha/agents/{agent}/session"),
            Some(json!({"session_name": "s"})),
        )
        .await;
        let session = session["session_id"].as_str().unwrap().to_owned();
        let turns = format!("/v1alpha/agents/{agent}/session/{session}/turn");

        let (status, sse) = call(
            &app,
            "POST",
            &turns,
            Some(json!({"messages": [{"role": "user", "content": "hello"}], "stream": true})),
        )
        .await;
        assert_eq!(status, 200, "{sse}");
        let chunks: Vec<TurnStreamChunk> = sse
            .split("\n\n")
            .filter_map(|frame| frame.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).unwrap())
            .collect();
        let Some(turn) = chunks.last().and_then(|c| c.event.payload.final_turn()) else {
            panic!("{sse}")
        };
        assert!(
            turn.output_message
                .content
                .as_str()
                .unwrap()
                .contains("hello")
        );

        let plain = json_of(
            &app,
            "POST",
            &turns,
            Some(json!({"messages": [{"role": "user", "content": "again"}]})),
        )
        .await;
        assert_eq!(plain["output_message"]["role"], "assistant");
        let turn_id = plain["turn_id"].as_str().unwrap();
        let step_id = plain["steps"][0]["step_id"].as_str().unwrap();
        let step = json_of(
            &app,
            "GET",
            &format!("{turns}/{turn_id}/step/{step_id}"),
            None,
        )
        .await;
        assert_eq!(step["step"]["step_type"], "inference");
        let fetched = json_of(&app, "GET", &format!("{turns}/{turn_id}"), None).await;
        assert_eq!(fetched, plain);

        let one = json_of(
            &app,
            "GET",
            &format!("/v1alpha/agents/{agent}/session/{session}?turn_ids={turn_id}"),
            None,
        )
        .await;
        assert_eq!(one["turns"].as_array().unwrap().len(), 1);
        let sessions = json_of(
            &app,
            "GET",
            &format!("/v1alpha/agents/{agent}/sessions"),
            None,
        )
        .await;
        assert_eq!(sessions["data"][0]["session_name"], "s");

        assert_eq!(
            call(
                &app,
                "DELETE",
                &format!("/v1/agents/{agent}/session/{session}"),
                None
            )
            .await
            .0,
            204
        );
        assert_eq!(
            call(&app, "DELETE", &format!("/v1alpha/agents/{agent}"), None)
                .await
                .0,
            204
        );
        let (status, body) = call(&app, "GET", &format!("/v1alpha/agents/{agent}"), None).await;
        assert_eq!(status, 400, "{body}");
    }
}
