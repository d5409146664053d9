//! The access log: one INFO event per request (target `lls_server::access`, outside the
//! request's span, so it stands alone) whose facts are fields, not text, so a JSON log format
//! renders them as keys. It names the authenticated principal, never a token, header or body.

use std::time::Duration;

use axum::http::{HeaderValue, Method, StatusCode};

/// What the access line says about one request.
pub(super) struct Access<'a> {
    pub method: &'a Method,
    /// The matched route template (`/v1/files/{file_id}`); none when no route matched.
    pub route: Option<&'a str>,
    /// The request path, without its query (which may carry secrets).
    pub path: &'a str,
    pub status: StatusCode,
    /// Until the response head (for a stream, until its first event).
    pub elapsed: Duration,
    pub request_id: &'a HeaderValue,
    /// With `server.auth`, the caller's principal.
    pub principal: Option<&'a str>,
}

pub(super) fn log(a: &Access<'_>) {
    tracing::info!(
        target: "lls_server::access",
        parent: None,
        method = a.method.as_str(),
        route = a.route.unwrap_or(crate::metrics::UNMATCHED_ROUTE),
        path = a.path,
        status = a.status.as_u16(),
        duration_ms = a.elapsed.as_micros() as f64 / 1000.0,
        request_id = a.request_id.to_str().unwrap_or("-"),
        principal = a.principal,
        "request"
    );
}
