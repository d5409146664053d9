//! Providers built the way the server builds them: from their registered descriptor and a
//! run.yaml `config:`, wrapped in the platform's call layers as the config's policy asks
//! (allowed models, timeout, retries), so a provider's tests can show what a client gets.

use std::sync::Arc;

use lls_api_common::provider::{BuildContext, descriptors};
use lls_api_common::{ApiSpec, Error, Result};
use lls_layers::{CallCounters, Defaults, stack_for};
use serde_json::Value;

/// Builds provider `provider_type` of API `A` as `provider_id` from `config`, behind the call
/// layers its `ProviderConfig::policy` asks for (with the server's default timeout and retries).
pub async fn build_registered<A: ApiSpec>(
    provider_type: &str,
    provider_id: &str,
    config: Value,
) -> Result<Arc<A::Provider>> {
    let descriptor = descriptors()
        .into_iter()
        .find(|d| d.api == A::API && d.provider_type == provider_type)
        .ok_or_else(|| {
            Error::not_found(format!(
                "no {} provider '{provider_type}' is linked",
                A::API
            ))
        })?;
    (descriptor.check_config)(&config)?;
    let policy = (descriptor.policy)(&config)?;
    let calls = stack_for(
        A::API,
        provider_id,
        &policy,
        &Defaults::default(),
        Arc::new(CallCounters::default()),
    );
    let mut ctx = BuildContext::new(A::API, provider_id, config, crate::stores::memory_stores());
    ctx.calls = calls;
    let instance = (descriptor.build)(ctx).await?;
    instance.get::<A>().ok_or_else(|| {
        Error::internal(format!(
            "'{provider_type}' did not build a {} provider",
            A::API
        ))
    })
}
