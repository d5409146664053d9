//! Inference metrics, through the `metrics` facade, by `provider` and `model` (the client's
//! model id, recorded only once it routed to a provider): time to first token and streams in
//! flight for streamed chat and text completions, and tokens in and out as the answers'
//! `usage` reports them (a stream reports usage when the client asks for it:
//! `stream_options.include_usage`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::Stream;
use lls_api_common::Result;
use lls_api_inference::{Answer, AnswerType, Usage};
use metrics::{Label, SharedString};

/// Time from a streamed request's arrival to its first chunk.
pub const TIME_TO_FIRST_TOKEN: &str = "llama_stack_inference_time_to_first_token_seconds";
/// Tokens as the answers' `usage` counts them, by `type`: `input` (prompt) or `output`.
pub const TOKENS: &str = "llama_stack_inference_tokens_total";
/// Streamed answers being sent.
pub const STREAMS_IN_FLIGHT: &str = "llama_stack_inference_streams_in_flight";

/// Registers the help text of the inference metrics with the installed recorder.
pub(crate) fn describe() {
    metrics::describe_histogram!(
        TIME_TO_FIRST_TOKEN,
        metrics::Unit::Seconds,
        "Time from a streamed chat or text completion request to its first chunk, by provider and model."
    );
    metrics::describe_counter!(TOKENS, "Tokens reported in answers' usage, by provider, model and type (input, output).");
    metrics::describe_gauge!(STREAMS_IN_FLIGHT, "Streamed chat and text completions being sent, by provider and model.");
}

/// The labels of one routed request, and when it arrived.
#[derive(Clone)]
pub(crate) struct Meter {
    labels: Arc<[Label; 2]>,
    started: Instant,
}

impl Meter {
    pub(crate) fn new(provider_id: &str, model: &str, started: Instant) -> Self {
        let labels = [Label::new("provider", provider_id.to_owned()), Label::new("model", model.to_owned())];
        Meter { labels: Arc::new(labels), started }
    }

    fn labels(&self) -> Vec<Label> {
        self.labels.to_vec()
    }

    /// Counts the tokens `usage` reports.
    pub(crate) fn tokens(&self, usage: Option<Usage>) {
        let Some(usage) = usage else { return };
        for (kind, n) in [("input", usage.prompt_tokens), ("output", usage.completion_tokens)] {
            if let Ok(n @ 1..) = u64::try_from(n) {
                let mut labels = self.labels();
                labels.push(Label::new("type", SharedString::const_str(kind)));
                metrics::counter!(TOKENS, labels).increment(n);
            }
        }
    }

    /// Wraps a stream: its first chunk's time, the tokens its chunks report, and its presence
    /// in the in-flight gauge until it ends or is dropped (a client that went away).
    pub(crate) fn stream<S>(self, inner: S) -> MeteredStream<S> {
        let in_flight = metrics::gauge!(STREAMS_IN_FLIGHT, self.labels());
        in_flight.increment(1.0);
        MeteredStream { inner, meter: self, first: true, in_flight }
    }
}

pub(crate) struct MeteredStream<S> {
    inner: S,
    meter: Meter,
    first: bool,
    in_flight: metrics::Gauge,
}

impl<S> Drop for MeteredStream<S> {
    fn drop(&mut self) {
        self.in_flight.decrement(1.0);
    }
}

impl<S, T> Stream for MeteredStream<S>
where
    S: Stream<Item = Result<Answer<T>>> + Unpin,
    T: AnswerType,
{
    type Item = Result<Answer<T>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            if std::mem::take(&mut this.first) {
                metrics::histogram!(TIME_TO_FIRST_TOKEN, this.meter.labels()).record(this.meter.started.elapsed().as_secs_f64());
            }
            this.meter.tokens(chunk.usage());
        }
        polled
    }
}
