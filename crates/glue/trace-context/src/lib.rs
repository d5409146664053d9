//! W3C trace context (`traceparent`, `tracestate`) across process boundaries, for the providers'
//! HTTP clients and the server's edge: [`headers`] gives the current span's context to send
//! with an outbound request, [`set_parent`] makes an incoming request's context a span's parent.
//!
//! Both go through OpenTelemetry's global propagator, which `lls-telemetry` sets to W3C trace
//! context when it installs the subscriber; without it (tests, tools) they do nothing. A span
//! that is not being exported has no context, so nothing is sent for it.

use http::HeaderMap;
use opentelemetry::global;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The current span's trace context as headers (`traceparent`, and `tracestate` when there is
/// one); empty, without allocating, when no span is being exported.
pub fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    inject(&mut headers);
    headers
}

/// Adds the current span's trace context to `headers` (see [`headers`]).
pub fn inject(headers: &mut HeaderMap) {
    let context = tracing::Span::current().context();
    global::get_text_map_propagator(|propagator| propagator.inject_context(&context, &mut HeaderInjector(headers)));
}

/// The span `make` builds when the current span is exported, else a disabled span: for spans
/// that exist for traces only (a Responses loop step, a tool call), so they cost nothing and
/// add nothing to log lines when traces are off.
pub fn span_if_traced(make: impl FnOnce() -> tracing::Span) -> tracing::Span {
    if tracing::Span::current().context().span().span_context().is_valid() { make() } else { tracing::Span::none() }
}

/// Makes the trace context of an incoming request's `headers` the parent of `span`, so the
/// span joins the caller's trace; a request without a valid `traceparent` changes nothing.
pub fn set_parent(span: &tracing::Span, headers: &HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)));
    span.set_parent(parent);
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn an_incoming_traceparent_becomes_the_parent_and_goes_out_again() {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let mut incoming = HeaderMap::new();
            let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
            incoming.insert("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01").parse().unwrap());
            let span = tracing::info_span!("request");
            set_parent(&span, &incoming);
            let outgoing = span.in_scope(headers);
            assert!(!span.in_scope(|| span_if_traced(|| tracing::info_span!("step"))).is_none());
            let traceparent = outgoing.get("traceparent").unwrap().to_str().unwrap();
            assert!(traceparent.starts_with(&format!("00-{trace_id}-")), "{traceparent}");
            assert!(!traceparent.contains("00f067aa0ba902b7"), "the span's own id goes out: {traceparent}");
            assert_eq!(span.context().span().span_context().trace_id().to_string(), trace_id);

            // No traceparent: the span starts its own trace.
            let fresh = tracing::info_span!("request");
            set_parent(&fresh, &HeaderMap::new());
            let own = fresh.in_scope(headers);
            assert!(!own.get("traceparent").unwrap().to_str().unwrap().contains(trace_id));
        });
        // Outside any exported span nothing is sent, and no trace-only span is made.
        assert!(headers().is_empty());
        assert!(span_if_traced(|| tracing::info_span!("step")).is_none());
    }
}
