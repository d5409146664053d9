//! The HTTP edge of the stack: mounts the route group of every service run.yaml serves (the
//! server never names a service), serves health, version, inspection and providers itself,
//! applies the edge layers ([`edge`]), handles connections and graceful shutdown ([`serve`]),
//! and renders the OpenAPI document. Errors render through `lls-http`, the one error table.

pub mod edge;
pub mod metrics;
pub mod openapi;
mod routes;
mod serve;
mod shutdown;

pub use edge::{app, app_with};
pub use lls_http::RouteInfo;
pub use routes::{AppState, route_table};
pub use serve::{ServeOptions, Server, TlsFiles, serve};
pub use shutdown::Shutdown;

/// The Llama Stack API version this server speaks (what `/v1/version` reports).
pub const API_VERSION: &str = "0.3.5";
