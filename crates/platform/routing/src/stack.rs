//! A running stack assembled from a validated run.yaml: stores, the resource registry, every
//! provider built in dependency order, the routers, and the resources run.yaml registers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::store::StoreResolver;
use lls_api_common::{Api, Error, ProviderInstance, Result};
use lls_api_files::Files;
use lls_api_inference::{Inference, InferenceProvider};
use lls_api_models::RegisterModelRequest;
use lls_config::RunConfig;
use lls_registry::{BuiltProvider, ProviderSet, ResourceRegistry, RouterFactory, build_providers};
use lls_config::BackendConfig;
use lls_storage::{BackendSpec, PostgresAddress, Stores};
use parking_lot::Mutex;

use crate::{InferenceRouter, InferenceStore, ModelsTable};
use crate::{ToolGroupsTable, ToolRuntimeRouter};
use lls_api_tool_runtime::{RegisterToolGroupRequest, ToolRuntime, ToolRuntimeProvider};
use lls_api_common::store::KvStoreRef;
use lls_api_vector_io::{VectorIo, VectorStores};
use lls_service_vector_io::{Defaults, Dependencies, EmbeddingModels, VectorIoProvider, VectorStoresService};

/// How long startup waits for providers to list their models before serving anyway.
const MODEL_LISTING_WAIT: Duration = Duration::from_secs(3);

/// Everything the server needs to answer requests.
pub struct Stack {
    pub config: RunConfig,
    pub providers: ProviderSet,
    pub registry: Arc<ResourceRegistry>,
    pub models: Arc<ModelsTable>,
    pub inference: Arc<InferenceRouter>,
    /// Tool groups and their tools (empty without tool_runtime providers).
    pub tool_groups: Arc<ToolGroupsTable>,
    pub tool_runtime: Arc<ToolRuntimeRouter>,
    /// The files provider, when run.yaml configures one (there is at most one).
    pub files: Option<Arc<dyn Files>>,
    /// The vector stores service, when run.yaml configures vector_io providers.
    pub vector_stores: Option<Arc<dyn VectorStores>>,
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
        let vector_stores = VectorStoresSetup {
            stores: stores.clone(),
            kv: KvStoreRef { backend: metadata.backend.clone(), namespace: lls_service_vector_io::KV_NAMESPACE.into() },
            defaults: vector_store_defaults(&config),
        };
        let factory = Routers { registry: registry.clone(), inference_store, built: Mutex::default(), vector_stores };
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
        let tool_groups =
            built.tool_groups.unwrap_or_else(|| Arc::new(ToolGroupsTable::new(registry.clone(), BTreeMap::new())));
        let tool_runtime = Arc::new(ToolRuntimeRouter::new(tool_groups.clone()));
        register_tool_groups(&config, &tool_groups).await?;
        let files = built.files;
        let vector_stores = match built.vector_stores {
            Some(service) => Some(start_vector_stores(service, &config, &inference, &models, &providers).await?),
            None => None,
        };
        Ok(Stack { config, providers, registry, models, inference, files, tool_groups, tool_runtime, vector_stores })
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
    tool_groups: Option<Arc<ToolGroupsTable>>,
    files: Option<Arc<dyn Files>>,
    vector_stores: Option<VectorStoresService>,
}

struct Routers {
    registry: Arc<ResourceRegistry>,
    inference_store: Option<Arc<InferenceStore>>,
    built: Mutex<BuiltRouters>,
    vector_stores: VectorStoresSetup,
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
            Api::Files => {
                let Some(files) = single_files_provider(providers)? else { return Ok(None) };
                self.built.lock().files = Some(files.clone());
                Ok(Some(ProviderInstance::new::<dyn Files>(files)))
            }
            Api::ToolRuntime => {
                let mut by_id = BTreeMap::new();
                for p in providers {
                    let provider = p.instance.get::<dyn ToolRuntimeProvider>().ok_or_else(|| {
                        Error::internal(format!("provider '{}' does not implement tool_runtime", p.provider_id))
                    })?;
                    by_id.insert(p.provider_id.clone(), provider);
                }
                let table = Arc::new(ToolGroupsTable::new(self.registry.clone(), by_id));
                self.built.lock().tool_groups = Some(table.clone());
                Ok(Some(ProviderInstance::new::<dyn ToolRuntime>(Arc::new(ToolRuntimeRouter::new(table)))))
            }
            Api::VectorIo => self.vector_io_router(providers).await,
            _ => Ok(None),
        }
    }
}

/// Registers run.yaml's tool groups (entries on disabled providers were dropped when parsing).
async fn register_tool_groups(config: &RunConfig, table: &ToolGroupsTable) -> Result<()> {
    let ctx = lls_api_common::RequestContext::default();
    for g in &config.registered_resources.tool_groups {
        let fail = |message: &str| Error::invalid(format!("registered_resources.tool_groups '{}': {message}", g.toolgroup_id));
        let args = match &g.args {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Object(map)) => Some(map.clone()),
            Some(_) => return Err(fail("'args' must be a mapping")),
        };
        let request = RegisterToolGroupRequest {
            toolgroup_id: g.toolgroup_id.clone(),
            provider_id: g.provider_id.clone(),
            mcp_endpoint: g.mcp_endpoint.as_ref().map(|e| lls_api_tool_runtime::McpEndpoint { uri: e.uri.clone() }),
            args,
        };
        table.register_from_config(&ctx, request).await.map_err(|e| fail(e.message()))?;
    }
    Ok(())
}

/// What the vector stores service is opened with.
struct VectorStoresSetup {
    stores: Arc<Stores>,
    /// The `vector_stores` namespace of the metadata backend.
    kv: KvStoreRef,
    defaults: Defaults,
}

impl Routers {
    /// The vector_io "router" is the vector stores service over every vector_io provider.
    async fn vector_io_router(&self, providers: &[BuiltProvider]) -> Result<Option<ProviderInstance>> {
        let mut by_id = BTreeMap::new();
        for p in providers {
            let provider = p.instance.get::<dyn VectorIo>().ok_or_else(|| {
                Error::internal(format!("provider '{}' does not implement vector_io", p.provider_id))
            })?;
            by_id.insert(p.provider_id.clone(), VectorIoProvider { provider, provider_type: p.provider_type.clone() });
        }
        if by_id.is_empty() {
            return Ok(None);
        }
        let kv = self.vector_stores.stores.kv(&self.vector_stores.kv).await?;
        let service = VectorStoresService::open(by_id, kv, self.vector_stores.defaults.clone()).await?;
        self.built.lock().vector_stores = Some(service.clone());
        Ok(Some(ProviderInstance::new::<dyn VectorStores>(Arc::new(service))))
    }
}

/// run.yaml's `vector_stores:` defaults; the default model as `provider_id/model_id`.
fn vector_store_defaults(config: &RunConfig) -> Defaults {
    let section = config.vector_stores.clone().unwrap_or_default();
    Defaults {
        provider_id: section.default_provider_id,
        embedding_model: section.default_embedding_model.map(|m| format!("{}/{}", m.provider_id, m.model_id)),
    }
}

/// Connects the vector stores service to the rest of the (now built) stack and starts it.
async fn start_vector_stores(
    service: VectorStoresService,
    config: &RunConfig,
    inference: &Arc<InferenceRouter>,
    models: &Arc<ModelsTable>,
    providers: &ProviderSet,
) -> Result<Arc<dyn VectorStores>> {
    let inference: Arc<dyn Inference> = inference.clone();
    // The files API may be built after vector_io (when no vector_io provider depends on it).
    let files = providers
        .routers
        .get(&Api::Files)
        .and_then(ProviderInstance::get::<dyn lls_api_files::Files>)
        .or_else(|| providers.of_api(Api::Files).find_map(|p| p.instance.get::<dyn lls_api_files::Files>()));
    service.connect(Dependencies { inference, files, models: Arc::new(RegisteredModels(models.clone())) });
    service.start().await?;
    if let Some(model) = vector_store_defaults(config).embedding_model
        && let Err(e) = models.get(&model)
    {
        tracing::warn!("vector_stores.default_embedding_model: {}", e.message());
    }
    Ok(Arc::new(service))
}

/// The models table as the vector stores service reads it.
struct RegisteredModels(Arc<ModelsTable>);

impl EmbeddingModels for RegisteredModels {
    fn get(&self, identifier: &str) -> Result<lls_api_models::Model> {
        self.0.get(identifier)
    }
}

/// The files API has no router: its one provider serves every request (and dependents).
fn single_files_provider(providers: &[BuiltProvider]) -> Result<Option<Arc<dyn Files>>> {
    match providers {
        [] => Ok(None),
        [p] => p
            .instance
            .get::<dyn Files>()
            .map(Some)
            .ok_or_else(|| Error::internal(format!("provider '{}' does not implement files", p.provider_id))),
        many => {
            let ids: Vec<&str> = many.iter().map(|p| p.provider_id.as_str()).collect();
            Err(Error::invalid(format!(
                "providers.files: configure exactly one files provider (found {}: {})",
                ids.len(),
                ids.join(", ")
            )))
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
