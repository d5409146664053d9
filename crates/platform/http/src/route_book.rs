//! Builds the axum router while recording every route, so `/v1/inspect/routes` and the OpenAPI
//! document are derived from what is actually served. Each route is declared with the types
//! its handler reads and answers ([`Op::body`], [`Op::returns`], …), and a route without a
//! declared answer does not compile: [`RouteBook::add`] takes only an [`Op<Described>`].

use std::marker::PhantomData;

use axum::Router;
use axum::routing::MethodRouter;
use lls_api_common::Api;
use schemars::{JsonSchema, Schema, SchemaGenerator};

/// Produces a type's JSON Schema (or a `$ref` to it) in the document's generator.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn subschema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// The object schema of `T` itself, never a `$ref` (query parameters are read off its properties).
fn inline_schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}

/// What a route reads from the request body.
#[derive(Debug, Clone, Copy)]
pub enum RequestBody {
    /// `application/json`, parsed as this type.
    Json(SchemaFn),
    /// `multipart/form-data`, whose parts are this type's properties.
    Multipart(SchemaFn),
}

/// One successful answer of a route.
#[derive(Debug, Clone, Copy)]
pub enum Response {
    /// 200 `application/json`.
    Json(SchemaFn),
    /// 200 `text/event-stream`: each event's `data` is one JSON value of this type, the last
    /// `[DONE]` (or one error in the error shape).
    EventStream(SchemaFn),
    /// 200 with raw bytes in whatever media type the content has.
    Bytes,
    /// 204 without a body.
    NoContent,
}

impl Response {
    pub fn status(self) -> u16 {
        match self {
            Response::NoContent => 204,
            _ => 200,
        }
    }
}

/// A path parameter: its name in the path, the type its handler parses it as, and whether it
/// takes the rest of the path (`{*model_id}`: ids that contain `/`).
#[derive(Debug, Clone, Copy)]
pub struct PathParam {
    pub name: &'static str,
    pub schema: SchemaFn,
    pub greedy: bool,
}

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
    pub body: Option<RequestBody>,
    /// The type the query string is parsed as; each of its properties is one parameter.
    pub query: Option<SchemaFn>,
    pub path_params: Vec<PathParam>,
    /// Names given to [`Op::path_param`] that are not in the path (a mistake a test reports).
    pub unknown_path_params: Vec<&'static str>,
    /// Never empty.
    pub responses: Vec<Response>,
}

/// An [`Op`] that declares no answer yet; [`RouteBook::add`] refuses it.
#[derive(Debug)]
pub struct Undescribed;

/// An [`Op`] with at least one declared answer.
#[derive(Debug)]
pub struct Described;

/// What the book needs to know about a route besides its handler: built with [`crate::op`],
/// then the body, query and answers its handler uses, e.g.
/// `op(...).body::<CreateVectorStoreRequest>().returns::<VectorStoreObject>()`.
#[derive(Debug)]
pub struct Op<State = Described> {
    pub method: &'static str,
    pub path: &'static str,
    pub api: Api,
    pub operation_id: &'static str,
    pub summary: &'static str,
    body: Option<RequestBody>,
    query: Option<SchemaFn>,
    path_types: Vec<(&'static str, SchemaFn)>,
    responses: Vec<Response>,
    state: PhantomData<State>,
}

impl Op<Undescribed> {
    pub fn new(method: &'static str, path: &'static str, api: Api, operation_id: &'static str, summary: &'static str) -> Self {
        Op {
            method,
            path,
            api,
            operation_id,
            summary,
            body: None,
            query: None,
            path_types: Vec::new(),
            responses: Vec::new(),
            state: PhantomData,
        }
    }
}

impl<State> Op<State> {
    /// A JSON body parsed as `T`.
    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(RequestBody::Json(subschema::<T>));
        self
    }

    /// A `multipart/form-data` body whose parts are `T`'s properties.
    pub fn multipart<T: JsonSchema>(mut self) -> Self {
        self.body = Some(RequestBody::Multipart(subschema::<T>));
        self
    }

    /// Query parameters parsed as the struct `T`.
    pub fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(inline_schema::<T>);
        self
    }

    /// The type of path parameter `name` (a string unless declared).
    pub fn path_param<T: JsonSchema>(mut self, name: &'static str) -> Self {
        self.path_types.push((name, subschema::<T>));
        self
    }

    /// Answers 200 with `T` as JSON.
    pub fn returns<T: JsonSchema>(self) -> Op<Described> {
        self.respond(Response::Json(subschema::<T>))
    }

    /// Answers 200 with server-sent events, each a `T` (with `stream: true`).
    pub fn streams<T: JsonSchema>(self) -> Op<Described> {
        self.respond(Response::EventStream(subschema::<T>))
    }

    /// Answers 200 with raw bytes (a file's content).
    pub fn returns_bytes(self) -> Op<Described> {
        self.respond(Response::Bytes)
    }

    /// Answers 204 without a body.
    pub fn no_content(self) -> Op<Described> {
        self.respond(Response::NoContent)
    }

    fn respond(self, response: Response) -> Op<Described> {
        let mut responses = self.responses;
        responses.push(response);
        Op {
            method: self.method,
            path: self.path,
            api: self.api,
            operation_id: self.operation_id,
            summary: self.summary,
            body: self.body,
            query: self.query,
            path_types: self.path_types,
            responses,
            state: PhantomData,
        }
    }

    /// The path parameters of `path` (axum syntax), typed as declared or as strings.
    fn path_params(&self) -> Vec<PathParam> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                let (name, greedy) = match name.strip_prefix('*') {
                    Some(rest) => (rest, true),
                    None => (name, false),
                };
                let schema = self.path_types.iter().find(|(n, _)| *n == name).map_or(subschema::<String> as SchemaFn, |(_, s)| *s);
                PathParam { name, schema, greedy }
            })
            .collect()
    }

    /// Declared path parameter types that name no parameter of the path (a mistake).
    fn unknown_path_params(&self) -> Vec<&'static str> {
        let params = self.path_params();
        self.path_types.iter().map(|(n, _)| *n).filter(|n| !params.iter().any(|p| p.name == *n)).collect()
    }
}

pub struct RouteBook<S> {
    router: Router<S>,
    routes: Vec<RouteInfo>,
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
    pub fn add(mut self, op: Op<Described>, handler: MethodRouter<S>) -> Self {
        self.record(&op, op.path, false);
        self.router = self.router.route(op.path, handler);
        self
    }

    /// Serves `handler` at `op.path` and at its deprecated `/v1/openai/v1` alias.
    pub fn add_with_alias(mut self, op: Op<Described>, handler: MethodRouter<S>) -> Self {
        let alias = op.path.replacen("/v1/", "/v1/openai/v1/", 1);
        self.record(&op, &alias, true);
        self.router = self.router.route(&alias, handler.clone());
        self.add(op, handler)
    }

    /// Serves `handler` at `op.path` (a `/v1alpha/` or `/v1beta/` route) and at the deprecated
    /// `/v1/` alias 0.3.5 still serves for it.
    pub fn add_with_v1_alias(mut self, op: Op<Described>, handler: MethodRouter<S>) -> Self {
        let rest = op.path.split_once('/').map_or("", |(_, r)| r);
        let rest = rest.split_once('/').map_or("", |(_, r)| r);
        let alias = format!("/v1/{rest}");
        self.record(&op, &alias, true);
        self.router = self.router.route(&alias, handler.clone());
        self.add(op, handler)
    }

    fn record(&mut self, op: &Op<Described>, path: &str, deprecated: bool) {
        self.routes.push(RouteInfo {
            method: op.method,
            path: path.replace("{*", "{"),
            api: op.api,
            operation_id: op.operation_id,
            summary: op.summary,
            deprecated,
            body: op.body,
            query: op.query,
            path_params: op.path_params(),
            unknown_path_params: op.unknown_path_params(),
            responses: op.responses.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_params_are_typed_and_greedy_ones_marked() {
        let op = Op::new("GET", "/v1/x/{a}/y/{*b}", Api::Models, "x", "x").path_param::<u32>("a").returns::<String>();
        let params = op.path_params();
        assert_eq!(params.iter().map(|p| (p.name, p.greedy)).collect::<Vec<_>>(), [("a", false), ("b", true)]);
        let mut generator = SchemaGenerator::default();
        assert_eq!((params[0].schema)(&mut generator).get("type"), Some(&serde_json::json!("integer")));
        assert_eq!((params[1].schema)(&mut generator).get("type"), Some(&serde_json::json!("string")));
        assert!(op.unknown_path_params().is_empty());
        let wrong = Op::new("GET", "/v1/x/{a}", Api::Models, "x", "x").path_param::<u32>("b").no_content();
        assert_eq!(wrong.unknown_path_params(), ["b"]);
    }
}
