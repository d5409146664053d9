//! The request span as an OpenTelemetry HTTP server span, when traces are exported: named
//! `{method} {route}`, kind `server`, the semantic conventions' `http.request.method`,
//! `http.route`, `url.path` and `http.response.status_code`, an error status on 5xx, and the
//! caller's W3C `traceparent` as its parent. Without export nothing here runs, so log lines
//! keep their three fields.

use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Declares the span with the fields `start` and `finish` may record.
macro_rules! request_span {
    ($req:expr, $id:expr) => {
        tracing::info_span!(
            "request",
            method = %$req.method(),
            path = %$req.uri().path(),
            id = %String::from_utf8_lossy($id.as_bytes()),
            otel.name = tracing::field::Empty,
            otel.kind = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        )
    };
}
pub(super) use request_span;

pub(super) fn start(span: &Span, req: &Request) {
    if !lls_telemetry::exporting() {
        return;
    }
    let method = req.method().as_str();
    let route = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    span.record("otel.kind", "server");
    match route {
        Some(route) => span.record("otel.name", format!("{method} {route}")),
        None => span.record("otel.name", method),
    };
    span.set_attribute("http.request.method", method.to_owned());
    if let Some(route) = route {
        span.set_attribute("http.route", route.to_owned());
    }
    span.set_attribute("url.path", req.uri().path().to_owned());
    lls_trace_context::set_parent(span, req.headers());
}

pub(super) fn finish(span: &Span, status: StatusCode) {
    if !lls_telemetry::exporting() {
        return;
    }
    span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
}
