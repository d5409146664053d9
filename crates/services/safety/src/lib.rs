//! The safety service: shields (a routable resource kept in the registry, with owners), the
//! router that sends `run-shield` and OpenAI moderations to a shield's provider, and the
//! `/v1/shields`, `/v1/safety/run-shield` and `/v1/moderations` routes.

mod router;
mod routes;
mod shields;

use std::sync::Arc;

use axum::routing::{delete, get, post};
use lls_api_common::{Api, Error, RequestContext, Result};
use lls_api_safety::{
    ListShieldsResponse, ModerationObject, RegisterShieldRequest, RunModerationRequest,
    RunShieldRequest, RunShieldResponse, SafetyApi, Shield,
};
use lls_config::RunConfig;
use lls_http::{RouteBook, RouteGroup, op};
use lls_registry::{BuiltService, ServiceContext};

pub use router::SafetyRouter;
pub use shields::ShieldsTable;

/// The service's state, shared by its routes.
pub struct SafetyService {
    pub shields: Arc<ShieldsTable>,
    pub router: Arc<SafetyRouter>,
}

lls_registry::register_service! {
    api: SafetyApi,
    depends_on: [],
    description: "Shields, and run-shield and moderations through a shield's provider",
    build: build,
    routes: book,
}

async fn build(ctx: ServiceContext) -> Result<Option<BuiltService>> {
    let table = Arc::new(ShieldsTable::new(
        ctx.registry.clone(),
        ctx.providers_of::<SafetyApi>()?,
    ));
    register_shields(&ctx.config, &table).await?;
    let router = Arc::new(SafetyRouter::new(table.clone()));
    let service = Arc::new(SafetyService {
        shields: table,
        router: router.clone(),
    });
    Ok(Some(
        BuiltService::new(service.clone())
            .export::<SafetyApi>(router)
            .with_routes(RouteGroup::new(book(), service)),
    ))
}

/// Registers run.yaml's shields (entries on disabled providers were dropped when parsing).
async fn register_shields(config: &RunConfig, table: &ShieldsTable) -> Result<()> {
    let ctx = RequestContext::default();
    for s in &config.registered_resources.shields {
        let fail = |message: &str| {
            Error::invalid(format!(
                "registered_resources.shields '{}': {message}",
                s.shield_id
            ))
        };
        let params = match &s.params {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Object(map)) => Some(map.clone()),
            Some(_) => return Err(fail("'params' must be a mapping")),
        };
        let request = RegisterShieldRequest {
            shield_id: s.shield_id.clone(),
            provider_shield_id: s.provider_shield_id.clone(),
            provider_id: s.provider_id.clone(),
            params,
        };
        table
            .register_from_config(&ctx, request)
            .await
            .map_err(|e| fail(e.message()))?;
    }
    Ok(())
}

fn book() -> RouteBook<Arc<SafetyService>> {
    RouteBook::new()
        .add(
            op(
                "GET",
                "/v1/shields",
                Api::Shields,
                "list_shields",
                "Registered shields.",
            )
            .returns::<ListShieldsResponse>(),
            get(routes::list),
        )
        .add(
            op(
                "POST",
                "/v1/shields",
                Api::Shields,
                "register_shield",
                "Register a shield.",
            )
            .body::<RegisterShieldRequest>()
            .returns::<Shield>(),
            post(routes::register),
        )
        .add(
            op(
                "GET",
                "/v1/shields/{*identifier}",
                Api::Shields,
                "get_shield",
                "One shield.",
            )
            .returns::<Shield>(),
            get(routes::get),
        )
        .add(
            op(
                "DELETE",
                "/v1/shields/{*identifier}",
                Api::Shields,
                "unregister_shield",
                "Unregister a shield.",
            )
            .no_content(),
            delete(routes::unregister),
        )
        .add(
            op(
                "POST",
                "/v1/safety/run-shield",
                Api::Safety,
                "run_shield",
                "A shield's verdict on a conversation.",
            )
            .body::<RunShieldRequest>()
            .returns::<RunShieldResponse>(),
            post(routes::run_shield),
        )
        .add_with_alias(
            op(
                "POST",
                "/v1/moderations",
                Api::Safety,
                "create_moderation",
                "OpenAI moderations through the shield serving `model`.",
            )
            .body::<RunModerationRequest>()
            .returns::<ModerationObject>(),
            post(routes::moderations),
        )
}
