//! [`Metrics`]: times every provider call, records it as Prometheus metrics (through the
//! `metrics` facade: calls, errors by kind, latency, per API, provider and method) and reports
//! it to a [`CallObserver`], the hook an embedding application plugs its own into;
//! [`CallCounters`] is the built-in observer (calls, errors and time per provider and method).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use lls_api_common::call::{Call, CallLayer, Erased, Next};
use lls_api_common::{Error, Result};
use parking_lot::Mutex;

/// Told about every finished provider call.
pub trait CallObserver: Send + Sync {
    fn observe(&self, call: &Call<'_>, elapsed: Duration, error: Option<&Error>);
}

#[derive(Clone)]
pub struct Metrics {
    observer: Arc<dyn CallObserver>,
}

impl Metrics {
    pub fn new(observer: Arc<dyn CallObserver>) -> Self {
        Metrics { observer }
    }
}

#[async_trait]
impl CallLayer for Metrics {
    async fn call(&self, call: &Call<'_>, mut next: Next<'_>) -> Result<Erased> {
        let started = Instant::now();
        let out = next.run(call).await;
        let elapsed = started.elapsed();
        record(call, elapsed, out.as_ref().err());
        self.observer.observe(call, elapsed, out.as_ref().err());
        out
    }
}

/// Provider calls finished (retries inside one call count once), by `api`, `provider`, `method`.
pub const PROVIDER_CALLS: &str = "llama_stack_provider_calls_total";
/// Provider calls that failed, by the same labels and the error's `kind`.
pub const PROVIDER_CALL_ERRORS: &str = "llama_stack_provider_call_errors_total";
/// A call's time, retries included (for a stream, until it starts), by `api`, `provider`, `method`.
pub const PROVIDER_CALL_DURATION: &str = "llama_stack_provider_call_duration_seconds";
/// Attempts repeated by the [`crate::Retry`] layer, by `api`, `provider`, `method`.
pub const PROVIDER_CALL_RETRIES: &str = "llama_stack_provider_call_retries_total";

/// Registers the help text of the call metrics with the installed recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(PROVIDER_CALLS, "Provider calls finished, by API, provider id and method.");
    metrics::describe_counter!(PROVIDER_CALL_ERRORS, "Provider calls that failed, by API, provider id, method and error kind.");
    metrics::describe_histogram!(
        PROVIDER_CALL_DURATION,
        metrics::Unit::Seconds,
        "Time of a provider call, retries included (for a stream, until it starts), by API, provider id and method."
    );
    metrics::describe_counter!(PROVIDER_CALL_RETRIES, "Provider call attempts repeated after a retryable failure.");
}

/// The labels every call metric has.
pub(crate) fn call_labels(call: &Call<'_>) -> [(&'static str, metrics::SharedString); 3] {
    [
        ("api", metrics::SharedString::const_str(call.api.as_str())),
        ("provider", call.provider_id.to_owned().into()),
        ("method", metrics::SharedString::const_str(call.method)),
    ]
}

fn record(call: &Call<'_>, elapsed: Duration, error: Option<&Error>) {
    let labels = call_labels(call);
    metrics::counter!(PROVIDER_CALLS, &labels).increment(1);
    metrics::histogram!(PROVIDER_CALL_DURATION, &labels).record(elapsed.as_secs_f64());
    if let Some(e) = error {
        let [api, provider, method] = labels;
        let labels = [api, provider, method, ("kind", metrics::SharedString::const_str(e.kind().as_str()))];
        metrics::counter!(PROVIDER_CALL_ERRORS, &labels).increment(1);
    }
}

/// Totals for one provider method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MethodStats {
    pub calls: u64,
    pub errors: u64,
    pub total_time: Duration,
}

/// Counts calls per provider id and method.
#[derive(Debug, Default)]
pub struct CallCounters {
    stats: Mutex<BTreeMap<String, BTreeMap<&'static str, MethodStats>>>,
}

impl CallCounters {
    /// The totals so far, by provider id and method.
    pub fn snapshot(&self) -> BTreeMap<String, BTreeMap<&'static str, MethodStats>> {
        self.stats.lock().clone()
    }
}

impl CallObserver for CallCounters {
    fn observe(&self, call: &Call<'_>, elapsed: Duration, error: Option<&Error>) {
        let mut stats = self.stats.lock();
        if !stats.contains_key(call.provider_id) {
            stats.insert(call.provider_id.to_owned(), BTreeMap::new());
        }
        if let Some(methods) = stats.get_mut(call.provider_id) {
            let entry = methods.entry(call.method).or_default();
            entry.calls += 1;
            entry.errors += u64::from(error.is_some());
            entry.total_time += elapsed;
        }
    }
}
