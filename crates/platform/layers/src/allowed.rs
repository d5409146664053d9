//! [`AllowedModels`]: run.yaml's `allowed_models` for a provider, enforced once for every
//! provider: calls naming another model are refused without reaching the backend, and the
//! provider's model list is filtered.

use std::collections::BTreeSet;

use async_trait::async_trait;
use lls_api_common::call::{Call, CallLayer, Erased, Next};
use lls_api_common::{Error, Result};
use lls_api_models::ProviderModel;

#[derive(Debug, Clone)]
pub struct AllowedModels {
    allowed: BTreeSet<String>,
}

impl AllowedModels {
    pub fn new(allowed: &[String]) -> Self {
        AllowedModels { allowed: allowed.iter().cloned().collect() }
    }

    fn check(&self, call: &Call<'_>) -> Result<()> {
        match call.model {
            Some(model) if !self.allowed.contains(model) => Err(Error::invalid(format!(
                "Model '{model}' is not in the allowed models list of provider '{}' ({})",
                call.provider_id,
                self.allowed.iter().cloned().collect::<Vec<_>>().join(", ")
            ))
            .with_param("model")
            .with_provider(call.provider_id)),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl CallLayer for AllowedModels {
    async fn call(&self, call: &Call<'_>, mut next: Next<'_>) -> Result<Erased> {
        self.check(call)?;
        let mut out = next.run(call).await?;
        if let Some(models) = out.downcast_mut::<Vec<ProviderModel>>() {
            models.retain(|m| self.allowed.contains(&m.provider_resource_id));
        }
        Ok(out)
    }
}
