//! The HTTP edge of the stack: mounts the route group of every service run.yaml serves
//! (the server never names a service), serves health, version, inspection and providers
//! itself, applies the edge layers, and renders the OpenAPI document. Errors render through
//! `lls-http`, the one error-to-HTTP table.

pub mod openapi;
mod routes;
mod serve;

pub use lls_http::RouteInfo;
pub use routes::{AppState, app, route_table};
pub use serve::{ServeOptions, serve};

/// The Llama Stack API version this server speaks (what `/v1/version` reports).
pub const API_VERSION: &str = "0.3.5";
