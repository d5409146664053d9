//! A running stack assembled from a validated run.yaml: stores, the resource registry, every
//! provider built in dependency order, the routers, and the resources run.yaml registers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::store::StoreResolver;
use lls_api_common::{Api, Error, ProviderInstance, Result};
use lls_api_inference::{Inference, InferenceProvider};
use lls_api_models::RegisterModelRequest;
use lls_config::RunConfig;
use lls_registry::{BuiltProvider, ProviderSet, ResourceRegistry, RouterFactory, build_providers};
use lls_config::BackendConfig;
use lls_storage::{BackendSpec, PostgresAddress, Stores};
use parking_lot::Mutex;

use crate::{InferenceRouter, InferenceStore, ModelsTable};

/// How long startup waits for providers to list their models before serving anyway.
const MODEL_LISTING_WAIT: Duration = Duration::from_secs(3);

/// Everything the server needs to answer requests.
pub struct Stack {
    pub config: RunConfig,
    pub providers: ProviderSet,
    pub registry: Arc<ResourceRegistry>,
    pub models: Arc<ModelsTable>,
    pub inference: Arc<InferenceRouter>,
}

impl Stack {
    /// Opens the stores, builds the providers and routers, and registers run.yaml's resources.
    pub async fn build(config: RunConfig) -> Result<Stack> {
        let specs = config.storage.backends.iter().map(|(name, b)| Ok((name.clone(), backend_spec(name, b)?)));
        let stores = Arc::new(Stores::new(specs.collect::<Result<Vec<_>>>()?)?);
        let metadata = config
            .storage
            .stores
            .metadata
            .as_ref()
            .ok_or_else(|| Error::invalid("storage.stores.metadata is required"))?;
        let registry = Arc::new(ResourceRegistry::open(stores.kv(metadata).await?).await?);
        let inference_store = match &config.storage.stores.inference {
            Some(r) => {
                let sql = stores.sql(&r.backend).await?;
                Some(Arc::new(InferenceStore::open(sql, &r.table_name, r.max_write_queue_size, r.num_writers).await?))
            }
            None => None,
        };
        let factory = Routers { registry: registry.clone(), inference_store, built: Mutex::default() };
        let resolver: Arc<dyn StoreResolver> = stores;
        let providers = build_providers(&config, resolver, &factory).await?;
        let built = std::mem::take(&mut *factory.built.lock());
        // With no inference provider the inference routes still answer (an empty model list,
        // "model not found"), as upstream does for a served API.
        let models = built.models.unwrap_or_else(|| Arc::new(ModelsTable::new(registry.clone(), BTreeMap::new())));
        let inference = built
            .inference
            .unwrap_or_else(|| Arc::new(InferenceRouter::new(models.clone(), factory.inference_store.clone())));
        for m in &config.registered_resources.models {
            models
                .register(RegisterModelRequest {
                    model_id: m.model_id.clone(),
                    provider_model_id: m.provider_model_id.clone(),
                    provider_id: m.provider_id.clone(),
                    metadata: Some(m.metadata.clone()),
                    model_type: Some(m.model_type),
                })
                .await
                .map_err(|e| Error::invalid(format!("registered_resources.models '{}': {}", m.model_id, e.message())))?;
        }
        models.refresh_all(MODEL_LISTING_WAIT).await;
        Ok(Stack { config, providers, registry, models, inference })
    }
}

impl Stack {
    /// Finishes background work before the process exits: queued store writes are flushed.
    pub async fn shutdown(&self) {
        if let Some(store) = self.inference.store() {
            store.flush().await;
        }
    }
}

#[derive(Default)]
struct BuiltRouters {
    models: Option<Arc<ModelsTable>>,
    inference: Option<Arc<InferenceRouter>>,
}

struct Routers {
    registry: Arc<ResourceRegistry>,
    inference_store: Option<Arc<InferenceStore>>,
    built: Mutex<BuiltRouters>,
}

#[async_trait]
impl RouterFactory for Routers {
    async fn router(&self, api: Api, providers: &[BuiltProvider]) -> Result<Option<ProviderInstance>> {
        match api {
            Api::Inference => {
                let mut by_id = BTreeMap::new();
                for p in providers {
                    let provider = p.instance.get::<dyn InferenceProvider>().ok_or_else(|| {
                        Error::internal(format!("provider '{}' does not implement inference", p.provider_id))
                    })?;
                    by_id.insert(p.provider_id.clone(), provider);
                }
                let models = Arc::new(ModelsTable::new(self.registry.clone(), by_id));
                let router = Arc::new(InferenceRouter::new(models.clone(), self.inference_store.clone()));
                let mut built = self.built.lock();
                built.models = Some(models);
                built.inference = Some(router.clone());
                Ok(Some(ProviderInstance::new::<dyn Inference>(router)))
            }
            _ => Ok(None),
        }
    }
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
