//! The HTTP face of the stack: one axum router with thin handlers over the routers in
//! `lls-routing`, errors rendered once (in [`error`]), SSE streaming, the OpenAPI document, the
//! edge layers ([`edge`]) and the connection handling and graceful shutdown ([`serve`]).

pub mod edge;
pub mod error;
mod extract;
pub mod openapi;
mod route_book;
mod routes;
mod serve;
mod shutdown;
mod sse;

pub use route_book::RouteInfo;
pub use edge::{app, app_with};
pub use routes::{AppState, Served, route_table};
pub use serve::{ServeOptions, Server, TlsFiles, serve};
pub use shutdown::Shutdown;

/// The Llama Stack API version this server speaks (what `/v1/version` reports).
pub const API_VERSION: &str = "0.3.5";
