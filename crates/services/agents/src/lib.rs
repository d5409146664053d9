//! The agents service: the Responses API's routes in front of the configured agents provider
//! (0.3.5 routes every call to the one `agents` provider). Streaming responses are SSE, one
//! `data:` line per event; a non-streaming response runs the same engine to its end and answers
//! the final response, or the failure's own error (4xx/5xx by cause).

mod routes;

use std::sync::Arc;

use axum::routing::{get, post};
use lls_api_agents::{
    AgentsApi, AgentsProvider, CreateResponseRequest, InputItemList, InputItemsQuery,
    ListResponsesQuery, ResponseDeleted, ResponseList, ResponseObject,
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

fn book() -> RouteBook<Arc<AgentsService>> {
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
            axum::routing::delete(routes::delete),
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
