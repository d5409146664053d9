//! The application router: every served route, the shared state, the not-found and
//! method-not-allowed answers and the body limit (the edge layers are in `crate::edge`).

mod inspect;
mod providers;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lls_api_common::{Api, Error};
use lls_http::{ApiError, RouteBook, RouteInfo, op};
use lls_registry::{Stack, service_descriptors};

/// What the server's own handlers share.
#[derive(Clone)]
pub struct AppState {
    pub stack: Arc<Stack>,
    pub routes: Arc<Vec<RouteInfo>>,
}

/// Largest request body accepted, through axum's `DefaultBodyLimit` so a route can set its own
/// (file uploads: the files provider's cap, enforced while the body streams in).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The routes the server serves itself, whatever the services: health, version, inspection
/// and providers.
fn own_routes() -> RouteBook<AppState> {
    RouteBook::new()
        .add(
            op("GET", "/v1/health", Api::Inspect, "health", "Health of the server.").returns::<inspect::HealthInfo>(),
            get(inspect::health),
        )
        .add(
            op("GET", "/v1/version", Api::Inspect, "version", "Version of the API.").returns::<inspect::VersionInfo>(),
            get(inspect::version),
        )
        .add(
            op("GET", "/v1/inspect/routes", Api::Inspect, "list_routes", "Every route served.").returns::<inspect::ListRoutesResponse>(),
            get(inspect::routes),
        )
        .add(
            op("GET", "/v1/providers", Api::Providers, "list_providers", "Configured providers.")
                .returns::<providers::ListProvidersResponse>(),
            get(providers::list),
        )
        .add(
            op("GET", "/v1/providers/{provider_id}", Api::Providers, "inspect_provider", "One provider.")
                .returns::<providers::ProviderInfo>(),
            get(providers::get),
        )
}

/// The whole application for a built stack: the server's own routes plus the route group of
/// every service run.yaml serves; `crate::edge` adds the edge layers around it.
pub fn app(stack: Arc<Stack>) -> Router {
    let (own, mut routes) = own_routes().finish();
    let mut services = Router::new();
    for (_, group) in stack.route_groups() {
        services = services.merge(group.router.clone());
        routes.extend(group.routes.iter().cloned());
    }
    let routes = dedup(routes);
    let state = AppState { stack, routes: Arc::new(routes) };
    own.route("/openapi.json", get(inspect::openapi))
        .route("/metrics", get(crate::metrics::render))
        .with_state(state)
        .merge(services)
        // Pages, not API routes: outside the route book, so neither /v1/inspect/routes nor
        // the OpenAPI document lists them.
        .merge(lls_webui::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// Every route this binary can serve: the server's own and every linked service's (for the
/// OpenAPI document of a build).
pub fn route_table() -> Vec<RouteInfo> {
    let mut routes = own_routes().finish().1;
    for d in service_descriptors() {
        routes.extend((d.routes)());
    }
    dedup(routes)
}

/// Routes that share a path are registered together; keep one entry per (method, path).
fn dedup(mut routes: Vec<RouteInfo>) -> Vec<RouteInfo> {
    let mut seen = std::collections::BTreeSet::new();
    routes.retain(|r| seen.insert((r.method, r.path.clone())));
    routes
}

async fn not_found() -> ApiError {
    ApiError(Error::not_found("Not Found"))
}

async fn method_not_allowed() -> Response {
    let e = Error::invalid("Method Not Allowed");
    let mut r = ApiError(e).into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}
