//! [`Trace`]: each provider call as an OpenTelemetry client span, child of the request's span,
//! when traces are exported. Model calls follow the GenAI semantic conventions: named
//! `{gen_ai.operation.name} {gen_ai.request.model}` with `gen_ai.provider.name` and, from the
//! answer's `usage`, `gen_ai.usage.input_tokens` / `output_tokens`. A streamed answer keeps its
//! span open until the stream ends, so the span covers the whole generation. Other calls are
//! named `{api} {method}`. Failures set the error status and `error.type` (the error's kind).

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use lls_api_common::call::{Call, CallLayer, Erased, Next};
use lls_api_common::{Api, Result};
use lls_api_inference::{Answer, AnswerType, ChatCompletion, ChatCompletionChunk, Completion, EmbeddingsResponse, Output, Usage};
use tracing::{Instrument, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt;

#[derive(Debug, Clone, Copy, Default)]
pub struct Trace;

#[async_trait]
impl CallLayer for Trace {
    async fn call(&self, call: &Call<'_>, mut next: Next<'_>) -> Result<Erased> {
        if !lls_telemetry::exporting() {
            return next.run(call).await;
        }
        let span = call_span(call);
        let mut result = next.run(call).instrument(span.clone()).await;
        match &mut result {
            Ok(out) => record_output(&span, out),
            Err(e) => {
                span.record("otel.status_code", "error");
                span.set_attribute("error.type", format!("{:?}", e.kind()));
            }
        }
        result
    }
}

/// The GenAI operation a provider method performs, for the methods that call a model.
fn operation(call: &Call<'_>) -> Option<&'static str> {
    match (call.api, call.method) {
        (Api::Inference, "chat_completion") => Some("chat"),
        (Api::Inference, "completion") => Some("text_completion"),
        (Api::Inference, "embeddings") => Some("embeddings"),
        _ => None,
    }
}

fn call_span(call: &Call<'_>) -> Span {
    let span = tracing::info_span!(
        "provider_call",
        provider = call.provider_id,
        method = call.method,
        otel.name = tracing::field::Empty,
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
    );
    span.set_attribute("llama_stack.api", call.api.as_str());
    span.set_attribute("llama_stack.provider_id", call.provider_id.to_owned());
    match operation(call) {
        Some(op) => {
            let model = call.model.unwrap_or_default();
            span.record("otel.name", format!("{op} {model}").trim_end());
            span.set_attribute("gen_ai.operation.name", op);
            span.set_attribute("gen_ai.provider.name", call.provider_id.to_owned());
            // The older name, still what several GenAI trace viewers read.
            span.set_attribute("gen_ai.system", call.provider_id.to_owned());
            if let Some(model) = call.model {
                span.set_attribute("gen_ai.request.model", model.to_owned());
            }
        }
        None => {
            span.record("otel.name", format!("{} {}", call.api.as_str(), call.method));
        }
    }
    span
}

/// Token usage from a model call's answer; a stream is wrapped so its chunks' usage is recorded
/// as they pass and the span ends with the stream.
fn record_output(span: &Span, out: &mut Erased) {
    if let Some(output) = out.downcast_mut::<Output<ChatCompletion, ChatCompletionChunk>>() {
        traced_output(span, output);
    } else if let Some(output) = out.downcast_mut::<Output<Completion, Completion>>() {
        traced_output(span, output);
    } else if let Some(answer) = out.downcast_ref::<Answer<EmbeddingsResponse>>()
        && let Some(usage) = answer.usage()
    {
        span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens);
    }
}

fn traced_output<T: AnswerType + Send + 'static, C: AnswerType + Send + 'static>(span: &Span, output: &mut Output<T, C>) {
    match output {
        Output::Complete(answer) => record_usage(span, answer.usage()),
        Output::Stream(stream) => {
            let span = Arc::new(span.clone());
            let inner = std::mem::replace(stream, futures::stream::empty().boxed());
            *stream = inner
                .inspect(move |chunk| {
                    if let Ok(chunk) = chunk {
                        record_usage(&span, chunk.usage());
                    }
                })
                .boxed();
        }
    }
}

fn record_usage(span: &Span, usage: Option<Usage>) {
    if let Some(u) = usage {
        span.set_attribute("gen_ai.usage.input_tokens", u.prompt_tokens);
        span.set_attribute("gen_ai.usage.output_tokens", u.completion_tokens);
    }
}
