//! The agents service: the Responses API's routes and the legacy v1alpha Agents API's (also at
//! their deprecated `/v1/agents...` paths) in front of the configured agents provider
//! (0.3.5 routes every call to the one `agents` provider). Streaming responses are SSE, one
//! `data:` line per event; a non-streaming response runs the same engine to its end and answers
//! the final response, or the failure's own error (4xx/5xx by cause).

mod legacy_routes;
mod routes;

use std::sync::Arc;

use axum::routing::{delete, get, post};
use lls_api_agents::{
    Agent, AgentCreateResponse, AgentSessionCreateResponse, AgentStepResponse, AgentsApi,
    AgentsProvider, CreateAgentRequest, CreateResponseRequest, CreateSessionRequest,
    CreateTurnRequest, InputItemList, InputItemsQuery, ListResponsesQuery, PageQuery, Paginated,
    ResponseDeleted, ResponseList, ResponseObject, ResumeTurnRequest, Session, Turn,
    TurnStreamChunk,
};
use lls_api_common::{Api, Error, Result};
use lls_http::{RouteBook, RouteGroup, op};
use lls_registry::{BuiltService, ServiceContext};

/// The service's state: the agents provider.
pub struct AgentsService {
    pub provider: Arc<dyn AgentsProvider>,
}

lls_registry::register_service! {
    api: AgentsApi,
    depends_on: [],
    description: "The Responses API in front of the agents provider",
    build: build,
    routes: book,
}

async fn build(ctx: ServiceContext) -> Result<Option<BuiltService>> {
    let mut providers = ctx.providers_of::<AgentsApi>()?;
    let Some(first) = providers.keys().next().cloned() else {
        return Ok(None);
    };
    if providers.len() > 1 {
        return Err(Error::invalid(
            "run.yaml configures several agents providers; the agents API serves exactly one",
        ));
    }
    let provider = providers
        .remove(&first)
        .ok_or_else(|| Error::internal("the agents provider vanished"))?;
    let service = Arc::new(AgentsService {
        provider: provider.clone(),
    });
    Ok(Some(
        BuiltService::new(service.clone())
            .export::<AgentsApi>(provider)
            .with_routes(RouteGroup::new(book(), service)),
    ))
}

fn responses_book() -> RouteBook<Arc<AgentsService>> {
    RouteBook::new()
        .add_with_alias(
            op(
                "POST",
                "/v1/responses",
                Api::Agents,
                "create_openai_response",
                "Create a model response (streamed as SSE events when `stream` is true).",
            )
            .body::<CreateResponseRequest>()
            .returns::<ResponseObject>(),
            post(routes::create),
        )
        .add_with_alias(
            op(
                "GET",
                "/v1/responses",
                Api::Agents,
                "list_openai_responses",
                "Stored responses, newest first.",
            )
            .query::<ListResponsesQuery>()
            .returns::<ResponseList>(),
            get(routes::list),
        )
        .add_with_alias(
            op(
                "GET",
                "/v1/responses/{response_id}",
                Api::Agents,
                "get_openai_response",
                "A stored response.",
            )
            .path_param::<String>("response_id")
            .returns::<ResponseObject>(),
            get(routes::get),
        )
        .add_with_alias(
            op(
                "DELETE",
                "/v1/responses/{response_id}",
                Api::Agents,
                "delete_openai_response",
                "Delete a stored response.",
            )
            .path_param::<String>("response_id")
            .returns::<ResponseDeleted>(),
            delete(routes::delete),
        )
        .add_with_alias(
            op(
                "GET",
                "/v1/responses/{response_id}/input_items",
                Api::Agents,
                "list_openai_response_input_items",
                "The input items of a stored response.",
            )
            .path_param::<String>("response_id")
            .query::<InputItemsQuery>()
            .returns::<InputItemList>(),
            get(routes::input_items),
        )
}

fn book() -> RouteBook<Arc<AgentsService>> {
    legacy_book(responses_book())
}

/// The legacy v1alpha Agents API, each route also at `/v1/...`.
fn legacy_book(book: RouteBook<Arc<AgentsService>>) -> RouteBook<Arc<AgentsService>> {
    const AGENT: &str = "/v1alpha/agents/{agent_id}";
    const SESSION: &str = "/v1alpha/agents/{agent_id}/session/{session_id}";
    const TURN: &str = "/v1alpha/agents/{agent_id}/session/{session_id}/turn/{turn_id}";
    let a = |op: lls_http::Op<lls_http::Undescribed>| op.path_param::<String>("agent_id");
    let s = |op| a(op).path_param::<String>("session_id");
    let t = |op| s(op).path_param::<String>("turn_id");
    book.add_with_v1_alias(
        op(
            "POST",
            "/v1alpha/agents",
            Api::Agents,
            "create_agent",
            "Create an agent with the given configuration.",
        )
        .body::<CreateAgentRequest>()
        .returns::<AgentCreateResponse>(),
        post(legacy_routes::create_agent),
    )
    .add_with_v1_alias(
        op(
            "GET",
            "/v1alpha/agents",
            Api::Agents,
            "list_agents",
            "All agents.",
        )
        .query::<PageQuery>()
        .returns::<Paginated<Agent>>(),
        get(legacy_routes::list_agents),
    )
    .add_with_v1_alias(
        a(op("GET", AGENT, Api::Agents, "get_agent", "An agent.")).returns::<Agent>(),
        get(legacy_routes::get_agent),
    )
    .add_with_v1_alias(
        a(op(
            "DELETE",
            AGENT,
            Api::Agents,
            "delete_agent",
            "Delete an agent and its sessions.",
        ))
        .no_content(),
        delete(legacy_routes::delete_agent),
    )
    .add_with_v1_alias(
        a(op(
            "POST",
            "/v1alpha/agents/{agent_id}/session",
            Api::Agents,
            "create_agent_session",
            "Create a session of an agent.",
        ))
        .body::<CreateSessionRequest>()
        .returns::<AgentSessionCreateResponse>(),
        post(legacy_routes::create_session),
    )
    .add_with_v1_alias(
        a(op(
            "GET",
            "/v1alpha/agents/{agent_id}/sessions",
            Api::Agents,
            "list_agent_sessions",
            "An agent's sessions.",
        ))
        .query::<PageQuery>()
        .returns::<Paginated<Session>>(),
        get(legacy_routes::list_sessions),
    )
    .add_with_v1_alias(
        s(op(
            "GET",
            SESSION,
            Api::Agents,
            "get_agents_session",
            "A session and its turns (`turn_ids` picks some).",
        ))
        .returns::<Session>(),
        get(legacy_routes::get_session),
    )
    .add_with_v1_alias(
        s(op(
            "DELETE",
            SESSION,
            Api::Agents,
            "delete_agents_session",
            "Delete a session and its turns.",
        ))
        .no_content(),
        delete(legacy_routes::delete_session),
    )
    .add_with_v1_alias(
        s(op(
            "POST",
            "/v1alpha/agents/{agent_id}/session/{session_id}/turn",
            Api::Agents,
            "create_agent_turn",
            "Run a turn (streamed as SSE turn events when `stream` is true).",
        ))
        .body::<CreateTurnRequest>()
        .returns::<Turn>()
        .streams::<TurnStreamChunk>(),
        post(legacy_routes::create_turn),
    )
    .add_with_v1_alias(
        t(op(
            "POST",
            "/v1alpha/agents/{agent_id}/session/{session_id}/turn/{turn_id}/resume",
            Api::Agents,
            "resume_agent_turn",
            "Continue a turn waiting for client tools with their results.",
        ))
        .body::<ResumeTurnRequest>()
        .returns::<Turn>()
        .streams::<TurnStreamChunk>(),
        post(legacy_routes::resume_turn),
    )
    .add_with_v1_alias(
        t(op("GET", TURN, Api::Agents, "get_agents_turn", "A turn.")).returns::<Turn>(),
        get(legacy_routes::get_turn),
    )
    .add_with_v1_alias(
        t(op(
            "GET",
            "/v1alpha/agents/{agent_id}/session/{session_id}/turn/{turn_id}/step/{step_id}",
            Api::Agents,
            "get_agents_step",
            "A step of a turn.",
        ))
        .path_param::<String>("step_id")
        .returns::<AgentStepResponse>(),
        get(legacy_routes::get_step),
    )
}
