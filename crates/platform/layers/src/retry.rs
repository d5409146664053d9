//! [`Retry`]: a retryable failure (rate limited, unavailable, timed out) of an idempotent call
//! is tried again, with exponential backoff; other calls and errors pass through untouched.

use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::call::{Call, CallLayer, Erased, Next};
use lls_api_common::Result;

#[derive(Debug, Clone, Copy)]
pub struct Retry {
    retries: u32,
    backoff: Duration,
}

impl Retry {
    pub fn new(retries: u32, backoff: Duration) -> Self {
        Retry { retries, backoff }
    }
}

#[async_trait]
impl CallLayer for Retry {
    async fn call(&self, call: &Call<'_>, mut next: Next<'_>) -> Result<Erased> {
        let mut wait = self.backoff;
        let mut attempt = 0;
        loop {
            match next.run(call).await {
                Err(e) if call.idempotent && e.is_retryable() && attempt < self.retries => {
                    attempt += 1;
                    tracing::debug!(provider = call.provider_id, method = call.method, attempt, "retrying after: {e}");
                    metrics::counter!(crate::metrics::PROVIDER_CALL_RETRIES, &crate::metrics::call_labels(call)).increment(1);
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                }
                other => return other,
            }
        }
    }
}
