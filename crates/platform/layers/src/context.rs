//! [`ErrorContext`]: every backend-side failure leaving a provider names it, so a 502/503/504
//! (or 429) tells the client which backend failed. Client mistakes keep their exact message,
//! which clients and 0.3.5's tests compare.

use async_trait::async_trait;
use lls_api_common::call::{Call, CallLayer, Erased, Next};
use lls_api_common::{Error, ErrorKind, Result};

#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorContext;

#[async_trait]
impl CallLayer for ErrorContext {
    async fn call(&self, call: &Call<'_>, mut next: Next<'_>) -> Result<Erased> {
        next.run(call).await.map_err(|e| name_provider(e, call.provider_id))
    }
}

fn name_provider(e: Error, provider_id: &str) -> Error {
    let backend_side = matches!(
        e.kind(),
        ErrorKind::UpstreamError | ErrorKind::UpstreamUnavailable | ErrorKind::Timeout | ErrorKind::RateLimited | ErrorKind::Internal
    );
    if backend_side && e.provider().is_none() { e.with_provider(provider_id) } else { e }
}
