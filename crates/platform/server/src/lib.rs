//! The HTTP face of the stack: one axum router with thin handlers over the routers in
//! `lls-routing`, errors rendered once (in [`error`]), SSE streaming, and the OpenAPI document.

pub mod error;
mod extract;
pub mod openapi;
mod route_book;
mod routes;
mod serve;
mod sse;

pub use route_book::RouteInfo;
pub use routes::{AppState, Served, app, route_table};
pub use serve::{ServeOptions, serve};

/// The Llama Stack API version this server speaks (what `/v1/version` reports).
pub const API_VERSION: &str = "0.3.5";
