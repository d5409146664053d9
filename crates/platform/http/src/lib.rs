//! What every service's HTTP face shares, so handlers stay thin and errors render one way:
//! the JSON and provider-data extractors, the only error-to-HTTP table, SSE streaming as
//! 0.3.5 does it, and the [`RouteBook`] that records each route as it is mounted (for
//! `/v1/inspect/routes` and the OpenAPI document).

pub mod error;
pub mod extract;
pub mod route_book;
pub mod sse;

pub use error::{ApiError, ApiResult, LoggedError, error_body, status_of};
pub use extract::{ApiJson, ApiQuery, Ctx, parse_json};
pub use route_book::{Described, Op, PathParam, RequestBody, Response, RouteBook, RouteGroup, RouteInfo, SchemaFn, Undescribed};
pub use sse::{sse_json_response, sse_response};

/// Describes one operation for the [`RouteBook`]; declare its body, query and answers next.
pub fn op(
    method: &'static str,
    path: &'static str,
    api: lls_api_common::Api,
    operation_id: &'static str,
    summary: &'static str,
) -> Op<Undescribed> {
    Op::new(method, path, api, operation_id, summary)
}
