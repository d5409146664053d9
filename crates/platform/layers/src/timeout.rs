//! [`Timeout`]: an attempt that takes longer than the provider's timeout fails with a
//! retryable timeout error (504). For a stream, the limit covers the call up to the stream's
//! start; the HTTP client's read timeout covers the gaps between chunks.

use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::call::{Call, CallLayer, Erased, Next};
use lls_api_common::{Error, ErrorKind, Result};

#[derive(Debug, Clone, Copy)]
pub struct Timeout {
    limit: Duration,
}

impl Timeout {
    pub fn new(limit: Duration) -> Self {
        Timeout { limit }
    }
}

#[async_trait]
impl CallLayer for Timeout {
    async fn call(&self, call: &Call<'_>, mut next: Next<'_>) -> Result<Erased> {
        match tokio::time::timeout(self.limit, next.run(call)).await {
            Ok(out) => out,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("provider '{}' did not answer {} within {:?}", call.provider_id, call.method, self.limit),
            )
            .with_provider(call.provider_id)),
        }
    }
}
