//! The process's Prometheus recorder behind the `metrics` facade. The first stack built
//! installs it, before any provider or service is, so every later measurement (the call
//! layers', the services', the stores' writers') lands in it; the server's `GET /metrics`
//! renders it.

use std::sync::OnceLock;
use std::time::Duration;

use lls_api_common::Tasks;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Upper bounds (seconds) of every `*_seconds` histogram's buckets: a millisecond to the
/// providers' default timeout.
const SECONDS_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];
/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's Prometheus recorder, installed on first use; `None` when another recorder
/// was installed first (an application embedding the stack), which then owns the metrics.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let installed = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .and_then(PrometheusBuilder::install_recorder);
    match installed {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::warn!("metrics: the Prometheus recorder could not be installed, GET /metrics is off: {e}");
            None
        }
    }
}

/// Installs the recorder (if no stack did yet), describes the platform's metrics and keeps the
/// histograms folded while `tasks` run.
pub(crate) fn start(tasks: &Tasks) {
    let Some(handle) = prometheus() else { return };
    lls_layers::describe_metrics();
    lls_storage::describe_metrics();
    let handle = handle.clone();
    let stop = tasks.stop_token();
    tasks.spawn("metrics upkeep", async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = every.tick() => handle.run_upkeep(),
            }
        }
    });
}
