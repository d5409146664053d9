//! Building the providers of a run.yaml in dependency order. Each API's providers are built,
//! then wrapped in that API's router, and the router is what dependent providers receive.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::store::StoreResolver;
use lls_api_common::{Api, BuildContext, Deps, Error, ProviderInstance, Result};
use lls_config::RunConfig;
use serde_json::Value;

use crate::find_descriptor;

/// One built provider, with its config as `/v1/providers` shows it.
#[derive(Clone, Debug)]
pub struct BuiltProvider {
    pub api: Api,
    pub provider_id: String,
    pub provider_type: String,
    pub config: Value,
    pub instance: ProviderInstance,
}

/// Makes the router of an API from its built providers (e.g. the inference router).
#[async_trait]
pub trait RouterFactory: Send + Sync {
    async fn router(&self, api: Api, providers: &[BuiltProvider]) -> Result<Option<ProviderInstance>>;
}

/// Every built provider, and the router of each API that has one.
#[derive(Clone, Debug, Default)]
pub struct ProviderSet {
    pub providers: Vec<BuiltProvider>,
    pub routers: BTreeMap<Api, ProviderInstance>,
}

impl ProviderSet {
    pub fn of_api(&self, api: Api) -> impl Iterator<Item = &BuiltProvider> {
        self.providers.iter().filter(move |p| p.api == api)
    }

    pub fn find(&self, provider_id: &str) -> Option<&BuiltProvider> {
        self.providers.iter().find(|p| p.provider_id == provider_id)
    }
}

/// Builds every provider of `config` (which must have passed validation).
pub async fn build_providers(
    config: &RunConfig,
    stores: Arc<dyn StoreResolver>,
    routers: &dyn RouterFactory,
) -> Result<ProviderSet> {
    let order = api_order(config)?;
    let mut set = ProviderSet::default();
    for api in order {
        let mut built = Vec::new();
        for (i, entry) in config.providers.get(api.as_str()).into_iter().flatten().enumerate() {
            let descriptor = find_descriptor(api, &entry.provider_type)?;
            let mut deps = Deps::default();
            for dep in descriptor.api_dependencies.iter().chain(descriptor.optional_api_dependencies) {
                if let Some(router) = set.routers.get(dep) {
                    deps.insert(*dep, router.clone());
                }
            }
            let shown = (descriptor.check_config)(&entry.config)
                .map_err(|e| Error::invalid(format!("providers.{api}[{i}].{}", e.message())))?;
            let ctx = BuildContext {
                provider_id: entry.provider_id.clone(),
                config: entry.config.clone(),
                deps,
                stores: stores.clone(),
            };
            let instance = (descriptor.build)(ctx).await.map_err(|e| {
                Error::new(e.kind(), format!("could not start provider '{}' ({}): {}", entry.provider_id, entry.provider_type, e.message()))
            })?;
            tracing::info!(api = %api, provider_id = %entry.provider_id, provider_type = %entry.provider_type, "provider ready");
            built.push(BuiltProvider {
                api,
                provider_id: entry.provider_id.clone(),
                provider_type: entry.provider_type.clone(),
                config: shown,
                instance,
            });
        }
        if let Some(router) = routers.router(api, &built).await? {
            set.routers.insert(api, router);
        }
        set.providers.extend(built);
    }
    Ok(set)
}

/// APIs with providers, each after the APIs its providers depend on.
fn api_order(config: &RunConfig) -> Result<Vec<Api>> {
    let mut edges: BTreeMap<Api, BTreeSet<Api>> = BTreeMap::new();
    for (name, entries) in &config.providers {
        if entries.is_empty() {
            continue;
        }
        let api: Api = name.parse()?;
        let deps = edges.entry(api).or_default();
        for entry in entries {
            let d = find_descriptor(api, &entry.provider_type)?;
            deps.extend(d.api_dependencies.iter().copied());
            deps.extend(
                d.optional_api_dependencies
                    .iter()
                    .copied()
                    .filter(|o| config.providers.get(o.as_str()).is_some_and(|v| !v.is_empty())),
            );
        }
    }
    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    while order.len() < edges.len() {
        let ready: Vec<Api> = edges
            .iter()
            .filter(|(api, deps)| !done.contains(*api) && deps.iter().all(|d| done.contains(d) || !edges.contains_key(d)))
            .map(|(api, _)| *api)
            .collect();
        if ready.is_empty() {
            let stuck: Vec<&str> = edges.keys().filter(|a| !done.contains(*a)).map(|a| a.as_str()).collect();
            return Err(Error::invalid(format!("provider dependencies form a cycle among: {}", stuck.join(", "))));
        }
        for api in ready {
            done.insert(api);
            order.push(api);
        }
    }
    Ok(order)
}
