//! [`Stack`]: a running stack assembled from a validated run.yaml in one dependency-ordered
//! pass: stores and the resource registry, then every provider (wrapped in its call layers)
//! and every service, each built once what it needs exists.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use lls_api_common::store::StoreResolver;
use lls_api_common::{Api, ApiSpec, BuildContext, Deps, Error, Export, Result, Tasks};
use lls_config::{BackendConfig, RunConfig};
use lls_http::RouteGroup;
use lls_layers::{CallCounters, Defaults};
use lls_storage::{BackendSpec, PostgresAddress, Stores};
use serde_json::Value;

use crate::graph::{Node, Plan, enabled, plan};
use crate::service::{BuiltService, ServiceContext};
use crate::{ResourceRegistry, find_descriptor};

/// One built provider, with its config as `/v1/providers` shows it.
#[derive(Clone, Debug)]
pub struct BuiltProvider {
    pub api: Api,
    pub provider_id: String,
    pub provider_type: String,
    pub config: Value,
    pub instance: lls_api_common::ProviderInstance,
}

/// A built service and whether its routes are served.
pub struct ServiceEntry {
    pub api: Api,
    pub served: bool,
    pub built: BuiltService,
}

/// Everything the server needs to answer requests.
pub struct Stack {
    pub config: Arc<RunConfig>,
    pub providers: Vec<BuiltProvider>,
    pub services: Vec<ServiceEntry>,
    pub registry: Arc<ResourceRegistry>,
    pub stores: Arc<Stores>,
    /// Supervises every background task of the stack's providers and services.
    pub tasks: Tasks,
    /// Calls, errors and time per provider and method.
    pub call_counters: Arc<CallCounters>,
}

impl Stack {
    /// Opens the stores, then builds providers and services in dependency order.
    pub async fn build(config: RunConfig) -> Result<Stack> {
        let config = Arc::new(config);
        let specs = config.storage.backends.iter().map(|(name, b)| Ok((name.clone(), backend_spec(name, b)?)));
        let stores = Arc::new(Stores::new(specs.collect::<Result<Vec<_>>>()?)?);
        let metadata = config
            .storage
            .stores
            .metadata
            .as_ref()
            .ok_or_else(|| Error::invalid("storage.stores.metadata is required"))?;
        let registry = Arc::new(ResourceRegistry::open(stores.kv(metadata).await?).await?);
        let plan = plan(&config)?;
        let mut stack = Stack {
            config,
            providers: Vec::new(),
            services: Vec::new(),
            registry,
            stores,
            tasks: Tasks::new(),
            call_counters: Arc::new(CallCounters::default()),
        };
        crate::metrics::start(&stack.tasks);
        let mut exports: Vec<Export> = Vec::new();
        for node in &plan.order {
            match *node {
                Node::Provider(api, index) => {
                    let built = stack.build_provider(api, index, &plan, &exports).await?;
                    stack.providers.push(built);
                }
                Node::Service(api) => {
                    let Some(built) = stack.build_service(api, &plan, &exports).await? else { continue };
                    exports.extend(built.exports.iter().cloned());
                    let builtin = plan.services.get(&api).is_some_and(|d| d.builtin);
                    let served = builtin || enabled(&stack.config, api);
                    stack.services.push(ServiceEntry { api, served, built });
                }
            }
        }
        Ok(stack)
    }

    async fn build_provider(&self, api: Api, index: usize, plan: &Plan, exports: &[Export]) -> Result<BuiltProvider> {
        let entry = self
            .config
            .providers
            .get(api.as_str())
            .and_then(|v| v.get(index))
            .ok_or_else(|| Error::internal(format!("providers.{api}[{index}] vanished")))?;
        let descriptor = find_descriptor(api, &entry.provider_type)?;
        let at = |e: Error| Error::invalid(format!("providers.{api}[{index}].{}", e.message()));
        let shown = (descriptor.check_config)(&entry.config).map_err(at)?;
        let policy = (descriptor.policy)(&entry.config).map_err(at)?;
        let deps = deps_for(descriptor.api_dependencies.iter().chain(descriptor.optional_api_dependencies), plan, exports);
        let calls = lls_layers::stack_for(api, &entry.provider_id, &policy, &Defaults::default(), self.call_counters.clone());
        let stores: Arc<dyn StoreResolver> = self.stores.clone();
        let ctx = BuildContext {
            provider_id: entry.provider_id.clone(),
            config: entry.config.clone(),
            deps,
            stores,
            tasks: self.tasks.clone(),
            calls,
            // run.yaml `server.outbound`: the hosts a client may make this provider connect to.
            outbound: Arc::new(self.config.server.outbound_policy().map_err(Error::invalid)?),
        };
        let instance = (descriptor.build)(ctx).await.map_err(|e| {
            Error::new(e.kind(), format!("could not start provider '{}' ({}): {}", entry.provider_id, entry.provider_type, e.message()))
        })?;
        tracing::info!(api = %api, provider_id = %entry.provider_id, provider_type = %entry.provider_type, "provider ready");
        Ok(BuiltProvider {
            api,
            provider_id: entry.provider_id.clone(),
            provider_type: entry.provider_type.clone(),
            config: shown,
            instance,
        })
    }

    async fn build_service(&self, api: Api, plan: &Plan, exports: &[Export]) -> Result<Option<BuiltService>> {
        let Some(descriptor) = plan.services.get(&api) else { return Ok(None) };
        let ctx = ServiceContext {
            config: self.config.clone(),
            providers: self.providers.iter().filter(|p| p.api == api).cloned().collect(),
            deps: deps_for(descriptor.depends_on.iter().chain(descriptor.optional), plan, exports),
            stores: self.stores.clone() as Arc<dyn StoreResolver>,
            registry: self.registry.clone(),
            tasks: self.tasks.clone(),
        };
        let built = (descriptor.build)(ctx).await?;
        if built.is_some() {
            tracing::debug!(api = %api, "service ready");
        }
        Ok(built)
    }

    /// What the service of `A` offers (the router dependents receive).
    pub fn service<A: ApiSpec>(&self) -> Option<Arc<A::Service>> {
        self.services.iter().flat_map(|s| &s.built.exports).find_map(Export::get::<A>)
    }

    /// A service's own state, by type (for code embedding the stack, and tests).
    pub fn state<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.services.iter().find_map(|s| s.built.state.clone().downcast::<T>().ok())
    }

    /// The route groups of the services run.yaml serves.
    pub fn route_groups(&self) -> impl Iterator<Item = (Api, &RouteGroup)> {
        self.services.iter().filter(|s| s.served).filter_map(|s| Some((s.api, s.built.routes.as_ref()?)))
    }

    pub fn providers_of(&self, api: Api) -> impl Iterator<Item = &BuiltProvider> {
        self.providers.iter().filter(move |p| p.api == api)
    }

    pub fn provider(&self, provider_id: &str) -> Option<&BuiltProvider> {
        self.providers.iter().find(|p| p.provider_id == provider_id)
    }

    /// Stops background work (up to `grace`) and flushes queued store writes.
    pub async fn shutdown(&self, grace: Duration) {
        self.tasks.shutdown(grace).await;
    }
}

/// The exports of the services `apis` names (those the stack has).
fn deps_for<'a>(apis: impl Iterator<Item = &'a Api>, plan: &Plan, exports: &[Export]) -> Deps {
    let mut deps = Deps::default();
    for api in apis {
        if plan.exporters.contains_key(api)
            && let Some(export) = exports.iter().find(|e| e.api() == *api)
        {
            deps.insert(export.clone());
        }
    }
    deps
}

/// Where a run.yaml backend lives, in the storage crate's terms.
fn backend_spec(name: &str, backend: &BackendConfig) -> Result<BackendSpec> {
    Ok(match backend {
        BackendConfig::KvSqlite(c) => BackendSpec::SqliteKv { path: c.db_path.clone().into() },
        BackendConfig::SqlSqlite(c) => BackendSpec::SqliteSql { path: c.db_path.clone().into() },
        BackendConfig::KvPostgres(c) => BackendSpec::PostgresKv {
            url: PostgresAddress {
                host: &c.host,
                port: c.port,
                db: &c.db,
                user: &c.user,
                password: c.password.as_ref().map(|p| p.expose()),
                ssl_mode: c.ssl_mode.as_deref(),
                ca_cert_path: c.ca_cert_path.as_deref(),
            }
            .url(),
            table: Some(c.table_name.clone()),
        },
        BackendConfig::SqlPostgres(c) => BackendSpec::PostgresSql {
            url: PostgresAddress {
                host: &c.host,
                port: c.port,
                db: &c.db,
                user: &c.user,
                password: c.password.as_ref().map(|p| p.expose()),
                ssl_mode: None,
                ca_cert_path: None,
            }
            .url(),
        },
        other => {
            return Err(Error::unsupported(format!(
                "storage.backends.{name}: backend type '{}' is not supported by this build",
                other.type_name()
            )));
        }
    })
}
