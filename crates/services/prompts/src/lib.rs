//! The prompts service, built into the stack as in 0.3.5: versioned prompt templates in the
//! `prompts` namespace of the metadata kv backend ([`KvPrompts`]), and the seven `/v1/prompts`
//! routes (no `/v1/openai/v1` aliases, as 0.3.5). Served whatever run.yaml's `apis:` says.

mod routes;
mod store;

use std::sync::Arc;

use axum::routing::{get, post};
use lls_api_common::store::KvStoreRef;
use lls_api_common::{Api, Result};
use lls_api_prompts::{
    CreatePromptRequest, GetPromptQuery, ListPromptsResponse, Prompt, Prompts, PromptsApi,
    SetDefaultVersionRequest, UpdatePromptRequest,
};
use lls_http::{RouteBook, RouteGroup, op};
use lls_registry::{BuiltService, ServiceContext};

pub use store::{KvPrompts, NAMESPACE};

lls_registry::register_service! {
    api: PromptsApi,
    depends_on: [],
    builtin: true,
    description: "Versioned prompt templates (/v1/prompts), in the prompts namespace of the metadata kv backend",
    build: build,
    routes: book,
}

/// On the backend of `storage.stores.metadata` (which every stack has; without it, nothing
/// to serve).
async fn build(ctx: ServiceContext) -> Result<Option<BuiltService>> {
    let Some(metadata) = &ctx.config.storage.stores.metadata else {
        return Ok(None);
    };
    let reference = KvStoreRef {
        backend: metadata.backend.clone(),
        namespace: NAMESPACE.to_owned(),
    };
    let state = Arc::new(KvPrompts::new(ctx.stores.kv(&reference).await?));
    let service: Arc<dyn Prompts> = state.clone();
    Ok(Some(
        BuiltService::new(state)
            .export::<PromptsApi>(service.clone())
            .with_routes(route_group(service)),
    ))
}

/// The routes over any [`Prompts`] (the server mounts the built service's; tests build their
/// own).
pub fn route_group(service: Arc<dyn Prompts>) -> RouteGroup {
    RouteGroup::new(book(), service)
}

fn book() -> RouteBook<Arc<dyn Prompts>> {
    const API: Api = Api::Prompts;
    const ALL: &str = "/v1/prompts";
    const ONE: &str = "/v1/prompts/{prompt_id}";
    RouteBook::new()
        .add(
            op("GET", ALL, API, "list_prompts", "List every prompt's default version.")
                .returns::<ListPromptsResponse>(),
            get(routes::list),
        )
        .add(
            op("POST", ALL, API, "create_prompt", "Create a prompt (version 1, its default).")
                .body::<CreatePromptRequest>()
                .returns::<Prompt>(),
            post(routes::create),
        )
        .add(
            op(
                "GET",
                "/v1/prompts/{prompt_id}/versions",
                API,
                "list_prompt_versions",
                "List every version of a prompt, oldest first.",
            )
            .returns::<ListPromptsResponse>(),
            get(routes::list_versions),
        )
        .add(
            op("GET", ONE, API, "get_prompt", "Get a prompt: the given version, else the default one.")
                .query::<GetPromptQuery>()
                .returns::<Prompt>(),
            get(routes::get),
        )
        .add(
            op(
                "POST",
                ONE,
                API,
                "update_prompt",
                "Update a prompt: a new version after the latest (409 when 'version' is not the latest).",
            )
            .body::<UpdatePromptRequest>()
            .returns::<Prompt>(),
            post(routes::update),
        )
        .add(
            op("DELETE", ONE, API, "delete_prompt", "Delete a prompt and every version of it.").no_content(),
            axum::routing::delete(routes::delete),
        )
        .add(
            op(
                "POST",
                "/v1/prompts/{prompt_id}/set-default-version",
                API,
                "set_default_version",
                "Make a version the prompt's default.",
            )
            .body::<SetDefaultVersionRequest>()
            .returns::<Prompt>(),
            post(routes::set_default_version),
        )
}
