//! Builds the axum router while recording every route, so `/v1/inspect/routes` and the OpenAPI
//! document are derived from what is actually served.

use axum::Router;
use axum::routing::MethodRouter;
use lls_api_common::Api;

/// One served operation.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: &'static str,
    /// The path in OpenAPI form (`/v1/models/{model_id}`).
    pub path: String,
    pub api: Api,
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub deprecated: bool,
}

pub struct RouteBook<S> {
    router: Router<S>,
    routes: Vec<RouteInfo>,
}

/// What the book needs to know about a route besides its handler.
pub struct Op {
    pub method: &'static str,
    pub path: &'static str,
    pub api: Api,
    pub operation_id: &'static str,
    pub summary: &'static str,
}

impl<S: Clone + Send + Sync + 'static> Default for RouteBook<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> RouteBook<S> {
    pub fn new() -> Self {
        RouteBook { router: Router::new(), routes: Vec::new() }
    }

    /// Serves `handler` at `op.path` (axum syntax; `{*id}` captures ids that contain `/`).
    pub fn add(mut self, op: Op, handler: MethodRouter<S>) -> Self {
        self.record(&op, op.path, false);
        self.router = self.router.route(op.path, handler);
        self
    }

    /// Serves `handler` at `op.path` and at its deprecated `/v1/openai/v1` alias.
    pub fn add_with_alias(mut self, op: Op, handler: MethodRouter<S>) -> Self {
        let alias = op.path.replacen("/v1/", "/v1/openai/v1/", 1);
        self.record(&op, &alias, true);
        self.router = self.router.route(&alias, handler.clone());
        self.add(op, handler)
    }

    fn record(&mut self, op: &Op, path: &str, deprecated: bool) {
        self.routes.push(RouteInfo {
            method: op.method,
            path: path.replace("{*", "{"),
            api: op.api,
            operation_id: op.operation_id,
            summary: op.summary,
            deprecated,
        });
    }

    pub fn finish(self) -> (Router<S>, Vec<RouteInfo>) {
        (self.router, self.routes)
    }
}

/// A service's routes, ready to mount: the router with its state applied, and what it serves.
pub struct RouteGroup {
    pub router: Router,
    pub routes: Vec<RouteInfo>,
}

impl RouteGroup {
    /// Applies `state` to a finished book.
    pub fn new<S: Clone + Send + Sync + 'static>(book: RouteBook<S>, state: S) -> Self {
        let (router, routes) = book.finish();
        RouteGroup { router: router.with_state(state), routes }
    }
}

impl std::fmt::Debug for RouteGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteGroup").field("routes", &self.routes.len()).finish()
    }
}
