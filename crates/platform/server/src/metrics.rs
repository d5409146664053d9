//! Prometheus metrics at the edge: the unauthenticated `GET /metrics` route, which renders the
//! process's recorder (`lls_registry::metrics`), and the request metrics the edge records.
//! Everything else records through the `metrics` facade where it happens.

use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use lls_http::error::edge_error;

/// Requests answered, by `method`, `route` (the matched route template) and `status`.
pub const HTTP_REQUESTS: &str = "llama_stack_http_requests_total";
/// Time from a request's arrival to its response head, by the same labels.
pub const HTTP_REQUEST_DURATION: &str = "llama_stack_http_request_duration_seconds";
/// The `route` of a request no route matched (404s): raw paths would be unbounded.
pub const UNMATCHED_ROUTE: &str = "unmatched";

pub(crate) fn describe() {
    metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by method, route template and status.");
    metrics::describe_histogram!(
        HTTP_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Time from a request's arrival to its response head (for a stream, its first event), by method, route template and status."
    );
}

/// `GET /metrics`: the Prometheus text exposition format.
pub(crate) async fn render() -> Response {
    let Some(handle) = lls_registry::metrics::prometheus() else {
        return edge_error(StatusCode::SERVICE_UNAVAILABLE, "metrics are recorded by the embedding application, not this server");
    };
    let mut response = handle.render().into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// Records one answered request.
pub(crate) fn record_request(method: &Method, route: Option<&str>, status: StatusCode, elapsed: Duration) {
    let labels = [
        ("method", metrics::SharedString::const_str(method_label(method))),
        ("route", route.unwrap_or(UNMATCHED_ROUTE).to_owned().into()),
        ("status", status.as_u16().to_string().into()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// Standard methods by name, anything else as `other` (a label must stay bounded).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
