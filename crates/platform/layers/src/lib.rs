//! The call layers the registry wraps around every provider, outermost first:
//! [`ErrorContext`] (names the provider in errors), [`Metrics`] (per-method counters and a
//! hook), [`AllowedModels`] (run.yaml's `allowed_models`), [`Retry`] (retryable failures of
//! idempotent calls) and [`Timeout`] (each attempt). [`stack_for`] assembles them from a
//! provider's [`CallPolicy`] and the platform defaults.

mod allowed;
mod context;
mod metrics;
mod retry;
mod timeout;
mod trace;

use std::sync::Arc;
use std::time::Duration;

use lls_api_common::call::{CallLayer, CallPolicy, CallStack};
use lls_api_common::Api;

pub use allowed::AllowedModels;
pub use context::ErrorContext;
pub use metrics::{
    CallCounters, CallObserver, MethodStats, Metrics, PROVIDER_CALL_DURATION, PROVIDER_CALL_ERRORS, PROVIDER_CALL_RETRIES,
    PROVIDER_CALLS, describe_metrics,
};
pub use retry::Retry;
pub use timeout::Timeout;
pub use trace::Trace;

/// What applies to a provider whose config says nothing.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub timeout: Duration,
    pub retries: u32,
    /// First backoff before a retry; doubled for each further one.
    pub backoff: Duration,
}

impl Default for Defaults {
    fn default() -> Self {
        // 600 s matches the OpenAI SDK's default request timeout: long generations finish,
        // a backend that never answers is cut off with a 504 naming the provider.
        Defaults { timeout: Duration::from_secs(600), retries: 2, backoff: Duration::from_millis(100) }
    }
}

/// The layers around one provider.
pub fn stack_for(api: Api, provider_id: &str, policy: &CallPolicy, defaults: &Defaults, observer: Arc<dyn CallObserver>) -> CallStack {
    let mut layers: Vec<Arc<dyn CallLayer>> = vec![Arc::new(ErrorContext), Arc::new(Metrics::new(observer))];
    // One span per call, around its retries and timeouts (only while traces are exported).
    layers.push(Arc::new(Trace));
    if let Some(allowed) = &policy.allowed_models {
        layers.push(Arc::new(AllowedModels::new(allowed)));
    }
    let retries = policy.retries.unwrap_or(defaults.retries);
    if retries > 0 {
        layers.push(Arc::new(Retry::new(retries, defaults.backoff)));
    }
    layers.push(Arc::new(Timeout::new(policy.timeout.unwrap_or(defaults.timeout))));
    CallStack::new(api, provider_id, layers)
}
