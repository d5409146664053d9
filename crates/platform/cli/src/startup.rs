//! Startup checks that need the built stack: a provider that started but cannot serve (its
//! weights are not installed, its backend does not answer) is a warning naming what fixes it.

use std::sync::Arc;
use std::time::Duration;

use lls_api_common::HealthState;
use lls_registry::Stack;

/// How long one provider's health check may take at startup before it is given up on.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// Asks every provider for its health in the background (the server is already answering) and
/// logs a warning for each one that reports an error; its message says what to run or set.
pub fn warn_unusable_providers(stack: &Arc<Stack>) {
    let checked = stack.clone();
    stack.tasks.spawn("provider health at startup", async move {
        let checks = checked.providers.iter().map(|p| async move {
            let health = tokio::time::timeout(HEALTH_TIMEOUT, p.instance.health()).await;
            (p, health)
        });
        for (p, health) in futures::future::join_all(checks).await {
            match health {
                Ok(h) if h.status == HealthState::Error => tracing::warn!(
                    api = %p.api, provider_id = %p.provider_id, provider_type = %p.provider_type,
                    "provider started but cannot serve yet: {}",
                    h.message.as_deref().unwrap_or("its health check failed")
                ),
                Ok(_) => {}
                Err(_) => tracing::warn!(
                    api = %p.api, provider_id = %p.provider_id, provider_type = %p.provider_type,
                    "provider started but its health check did not answer within {HEALTH_TIMEOUT:?}"
                ),
            }
        }
    });
}
