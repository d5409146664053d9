//! The shields routing table: shields registered by run.yaml or `POST /v1/shields`, persisted in
//! the resource registry with their owner, and the provider serving each.

use std::collections::BTreeMap;
use std::sync::Arc;

use lls_api_common::access::{Action, Owner, ProtectedResource};
use lls_api_common::{Error, RequestContext, Result};
use lls_api_safety::{RegisterShieldRequest, SHIELD_RESOURCE, SafetyProvider, Shield};
use lls_registry::{ResourceRegistry, StoredResource, chosen_provider};

/// Shields by identifier, and the safety providers that serve them.
pub struct ShieldsTable {
    registry: Arc<ResourceRegistry>,
    providers: BTreeMap<String, Arc<dyn SafetyProvider>>,
}

/// 0.3.5's answer for a shield id nobody may see (a 400, as its clients expect).
fn shield_not_found(identifier: &str) -> Error {
    Error::invalid(format!("Shield '{identifier}' not found")).with_param("identifier")
}

impl ShieldsTable {
    pub fn new(
        registry: Arc<ResourceRegistry>,
        providers: BTreeMap<String, Arc<dyn SafetyProvider>>,
    ) -> Self {
        ShieldsTable {
            registry,
            providers,
        }
    }

    /// The shields the caller may read.
    pub async fn list(&self, ctx: &RequestContext) -> Result<Vec<Shield>> {
        self.registry.list_as(ctx, SHIELD_RESOURCE).await
    }

    /// A shield the caller may read; any other is not found.
    pub async fn get(&self, ctx: &RequestContext, identifier: &str) -> Result<Shield> {
        self.registry
            .get_as(ctx, SHIELD_RESOURCE, identifier)
            .await?
            .ok_or_else(|| shield_not_found(identifier))
    }

    /// The shield and its provider, for running it: 0.3.5's "not served" 400 for a shield the
    /// caller may not read or that does not exist.
    pub async fn resolve(
        &self,
        ctx: &RequestContext,
        identifier: &str,
    ) -> Result<(Shield, Arc<dyn SafetyProvider>)> {
        let not_served = || {
            let ids: Vec<&str> = self.providers.keys().map(String::as_str).collect();
            let by = match ids.as_slice() {
                [only] => format!("provider: `{only}`"),
                many => format!("any of the providers: {}", many.join(", ")),
            };
            Error::invalid(format!(
                "Shield `{identifier}` not served by {by}. Make sure there is an Safety provider serving this shield."
            ))
            .with_param("shield_id")
        };
        let shield: Shield = self.registry.get_as(ctx, SHIELD_RESOURCE, identifier).await?.ok_or_else(not_served)?;
        let provider = self.provider_of(&shield)?;
        Ok((shield, provider))
    }

    /// The provider serving a shield the caller has already read; a 503 when run.yaml no longer
    /// configures it.
    pub fn provider_of(&self, shield: &Shield) -> Result<Arc<dyn SafetyProvider>> {
        self.providers.get(&shield.provider_id).cloned().ok_or_else(|| {
            Error::new(
                lls_api_common::ErrorKind::UpstreamUnavailable,
                format!(
                    "shield '{}' is served by safety provider '{}', which this stack no longer configures",
                    shield.identifier, shield.provider_id
                ),
            )
        })
    }

    /// The shield a request describes: a known provider (the only one when none is named, as
    /// 0.3.5 picks), `provider_shield_id` defaulting to the id.
    fn shield_of(
        &self,
        request: RegisterShieldRequest,
    ) -> Result<(Shield, Arc<dyn SafetyProvider>)> {
        request.validate()?;
        let several =
            "No provider specified and multiple providers available. Please specify a provider_id.";
        let (provider_id, provider) =
            chosen_provider(&self.providers, request.provider_id, "safety", several)?;
        let provider = provider.clone();
        let resource = request
            .provider_shield_id
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| request.shield_id.clone());
        Ok((
            Shield::new(
                request.shield_id,
                resource,
                provider_id,
                request.params.unwrap_or_default(),
            ),
            provider,
        ))
    }

    async fn store(&self, shield: &Shield, owner: Option<Owner>) -> Result<()> {
        self.registry
            .put(StoredResource {
                resource_type: SHIELD_RESOURCE.into(),
                identifier: shield.identifier.clone(),
                provider_id: shield.provider_id.clone(),
                source: "via_register_api".into(),
                body: serde_json::to_value(shield)?,
                owner,
            })
            .await
    }

    /// `POST /v1/shields`: the caller must be allowed to create it (it becomes its owner), and
    /// the provider must accept it. The same registration again answers the shield; a
    /// different shield under a taken id is refused, as 0.3.5's registry refuses it.
    pub async fn register(
        &self,
        ctx: &RequestContext,
        request: RegisterShieldRequest,
    ) -> Result<Shield> {
        let (shield, provider) = self.shield_of(request)?;
        let owner = ctx.owner();
        ctx.check(
            Action::Create,
            &ProtectedResource::new(SHIELD_RESOURCE, &shield.identifier, owner.as_ref()),
        )?;
        if let Some(existing) = self.registry.get(SHIELD_RESOURCE, &shield.identifier).await? {
            let existing: Option<Shield> = serde_json::from_value(existing.body).ok();
            if let Some(existing) = existing.filter(|e| *e == shield) {
                return Ok(existing);
            }
            return Err(Error::invalid(format!(
                "Object of type 'shield' and identifier '{}' already exists. Unregister it first if you want to replace it.",
                shield.identifier
            ))
            .with_param("shield_id"));
        }
        provider.register_shield(ctx, &shield).await?;
        self.store(&shield, owner).await?;
        Ok(shield)
    }

    /// A shield of run.yaml's `registered_resources`: run.yaml is the source of truth, so it
    /// replaces what an earlier run stored under the same id.
    pub async fn register_from_config(
        &self,
        ctx: &RequestContext,
        request: RegisterShieldRequest,
    ) -> Result<Shield> {
        let (shield, provider) = self.shield_of(request)?;
        provider.register_shield(ctx, &shield).await?;
        self.store(&shield, None).await?;
        Ok(shield)
    }

    /// `DELETE /v1/shields/{id}`: a shield the caller may not read is not found; one it may
    /// read but not delete is a 403.
    pub async fn unregister(&self, ctx: &RequestContext, identifier: &str) -> Result<()> {
        self.registry
            .get_authorized(ctx, Action::Delete, SHIELD_RESOURCE, identifier, || {
                shield_not_found(identifier)
            })
            .await?;
        self.registry.remove(SHIELD_RESOURCE, identifier).await?;
        Ok(())
    }
}
