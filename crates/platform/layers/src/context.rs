//! [`ErrorContext`]: every error leaving a provider names it, so a 502/503/504 tells the
//! client which backend failed.

use async_trait::async_trait;
use lls_api_common::call::{Call, CallLayer, Erased, Next};
use lls_api_common::Result;

#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorContext;

#[async_trait]
impl CallLayer for ErrorContext {
    async fn call(&self, call: &Call<'_>, mut next: Next<'_>) -> Result<Erased> {
        next.run(call).await.map_err(|e| if e.provider().is_some() { e } else { e.with_provider(call.provider_id) })
    }
}
