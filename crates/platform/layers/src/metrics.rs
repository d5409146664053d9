//! [`Metrics`]: times every provider call and reports it to a [`CallObserver`], the hook an
//! embedding application plugs its metrics into; [`CallCounters`] is the built-in observer
//! (calls, errors and time per provider and method).

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
        self.observer.observe(call, started.elapsed(), out.as_ref().err());
        out
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
