//! The persistent registry of routable resources (models, shields, vector stores, ...), kept in
//! the `metadata` kv store under upstream's key layout and read from it on every call.

use std::collections::BTreeMap;
use std::sync::Arc;

use lls_api_common::access::{Action, Owner, ProtectedResource};
use lls_api_common::store::KvStore;
use lls_api_common::{Error, Refusal, RequestContext, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const KEY_PREFIX: &str = "distributions:registry:v10::";

/// A resource as stored: its wire JSON plus how it came to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResource {
    pub resource_type: String,
    pub identifier: String,
    pub provider_id: String,
    /// `via_register_api` or `listed_from_provider`.
    pub source: String,
    pub body: Value,
    /// Who registered it (0.3.5's `owner`); `None` for resources of run.yaml, listed by a
    /// provider, or registered with authentication off: the default policy lets everyone
    /// read those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}

impl StoredResource {
    /// What access checks about this resource look at: `"<type>::<identifier>"` and its owner.
    pub fn protected(&self) -> ProtectedResource<'_> {
        ProtectedResource::new(&self.resource_type, &self.identifier, self.owner.as_ref())
    }
}

/// Resources by `(type, identifier)`, read from the store on every call: several server
/// processes share one store (replicas on one PostgreSQL), so what one registers, changes or
/// removes is what the next read anywhere sees. Reads are one key lookup (or one range of
/// keys for a type), cheap next to the requests that need them.
pub struct ResourceRegistry {
    kv: Arc<dyn KvStore>,
}

impl ResourceRegistry {
    /// Opens the registry over `kv`.
    pub async fn open(kv: Arc<dyn KvStore>) -> Result<Self> {
        Ok(ResourceRegistry { kv })
    }

    fn key(resource_type: &str, identifier: &str) -> String {
        format!("{KEY_PREFIX}{resource_type}:{identifier}")
    }

    fn parse(raw: &str) -> Option<StoredResource> {
        match serde_json::from_str::<StoredResource>(raw) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!("skipping unreadable registry entry: {e}");
                None
            }
        }
    }

    pub async fn get(&self, resource_type: &str, identifier: &str) -> Result<Option<StoredResource>> {
        let raw = self.kv.get(&Self::key(resource_type, identifier)).await?;
        Ok(raw.as_deref().and_then(Self::parse).filter(|r| r.resource_type == resource_type && r.identifier == identifier))
    }

    /// The resources of a type, by identifier.
    pub async fn list(&self, resource_type: &str) -> Result<Vec<StoredResource>> {
        let start = format!("{KEY_PREFIX}{resource_type}:");
        let end = format!("{start}\u{10FFFF}");
        let mut all: Vec<StoredResource> = self
            .kv
            .values_in_range(&start, &end)
            .await?
            .iter()
            .filter_map(|raw| Self::parse(raw))
            .filter(|r| r.resource_type == resource_type)
            .collect();
        all.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        Ok(all)
    }

    /// [`ResourceRegistry::get`] for a caller: a resource it may not read is absent.
    pub async fn get_for(&self, ctx: &RequestContext, resource_type: &str, identifier: &str) -> Result<Option<StoredResource>> {
        Ok(self.get(resource_type, identifier).await?.filter(|r| ctx.can(Action::Read, &r.protected())))
    }

    /// [`ResourceRegistry::list`] for a caller: only what it may read.
    pub async fn list_for(&self, ctx: &RequestContext, resource_type: &str) -> Result<Vec<StoredResource>> {
        let mut all = self.list(resource_type).await?;
        all.retain(|r| ctx.can(Action::Read, &r.protected()));
        Ok(all)
    }

    /// The bodies of the resources of a type the caller may read, as `T` (unreadable bodies are
    /// skipped).
    pub async fn list_as<T: serde::de::DeserializeOwned>(&self, ctx: &RequestContext, resource_type: &str) -> Result<Vec<T>> {
        Ok(self.list_for(ctx, resource_type).await?.into_iter().filter_map(|r| serde_json::from_value(r.body).ok()).collect())
    }

    /// The body of a resource the caller may read, as `T`.
    pub async fn get_as<T: serde::de::DeserializeOwned>(&self, ctx: &RequestContext, resource_type: &str, identifier: &str) -> Result<Option<T>> {
        Ok(self.get_for(ctx, resource_type, identifier).await?.and_then(|r| serde_json::from_value(r.body).ok()))
    }

    /// The stored resource, if the caller may do `action` to it: `not_found()` when there is
    /// none or the caller may not read it, a 403 when it may read but not do this (see
    /// [`RequestContext::authorize`]).
    pub async fn get_authorized(
        &self,
        ctx: &RequestContext,
        action: Action,
        resource_type: &str,
        identifier: &str,
        not_found: impl Fn() -> Error,
    ) -> Result<StoredResource> {
        let stored = self.get(resource_type, identifier).await?.ok_or_else(&not_found)?;
        ctx.authorize(action, &stored.protected()).map_err(|r: Refusal| r.or_not_found(&not_found))?;
        Ok(stored)
    }

    pub async fn put(&self, resource: StoredResource) -> Result<()> {
        let raw = serde_json::to_string(&resource)?;
        self.kv.set(&Self::key(&resource.resource_type, &resource.identifier), &raw, None).await
    }

    /// Removes a resource; answers what was stored.
    pub async fn remove(&self, resource_type: &str, identifier: &str) -> Result<Option<StoredResource>> {
        let existing = self.get(resource_type, identifier).await?;
        self.kv.delete(&Self::key(resource_type, identifier)).await?;
        Ok(existing)
    }
}

/// The provider a registration names (empty counts as none), or the only one when it names
/// none, checked against `providers`: 0.3.5's rule for routing tables. `api` names the
/// providers in messages (`inference`, `safety`); `several` is the 400's text when none is named
/// and several exist (0.3.5 words it differently per table).
pub fn chosen_provider<'a, P>(
    providers: &'a BTreeMap<String, P>,
    requested: Option<String>,
    api: &str,
    several: &str,
) -> Result<(String, &'a P)> {
    let have = || providers.keys().cloned().collect::<Vec<_>>().join(", ");
    let provider_id = match requested.filter(|p| !p.is_empty()) {
        Some(p) => p,
        None => {
            let mut ids = providers.keys();
            match (ids.next(), ids.next()) {
                (Some(only), None) => only.clone(),
                (None, _) => return Err(Error::invalid(format!("no {api} provider is configured"))),
                _ => return Err(Error::invalid(several.replace("{have}", &have())).with_param("provider_id")),
            }
        }
    };
    match providers.get(&provider_id) {
        Some(provider) => Ok((provider_id, provider)),
        None => Err(Error::invalid(format!("provider '{provider_id}' is not one of this stack's {api} providers (have: {})", have()))
            .with_param("provider_id")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_is_named_or_the_only_one() {
        let one: BTreeMap<String, ()> = [("a".to_owned(), ())].into();
        let two: BTreeMap<String, ()> = [("a".to_owned(), ()), ("b".to_owned(), ())].into();
        let none: BTreeMap<String, ()> = BTreeMap::new();
        assert_eq!(chosen_provider(&one, None, "safety", "x").unwrap().0, "a");
        assert_eq!(chosen_provider(&one, Some(String::new()), "safety", "x").unwrap().0, "a");
        assert_eq!(chosen_provider(&two, Some("b".into()), "safety", "x").unwrap().0, "b");
        let e = chosen_provider(&two, None, "safety", "pick one of {have}").unwrap_err();
        assert_eq!((e.message(), e.param()), ("pick one of a, b", Some("provider_id")));
        assert_eq!(chosen_provider(&none, None, "safety", "x").unwrap_err().message(), "no safety provider is configured");
        let e = chosen_provider(&two, Some("c".into()), "inference", "x").unwrap_err();
        assert_eq!(e.message(), "provider 'c' is not one of this stack's inference providers (have: a, b)");
    }
}
