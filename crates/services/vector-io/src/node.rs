//! The service as a node of the stack: built over every vector_io provider once inference,
//! the models table and (when configured) files exist, then started (interrupted ingestion
//! resumes, the expiry sweeper runs under the stack's task supervisor).

use std::collections::BTreeMap;
use std::sync::Arc;

use lls_api_common::Result;
use lls_api_common::store::KvStoreRef;
use lls_api_files::FilesApi;
use lls_api_inference::InferenceApi;
use lls_api_models::{Model, Models, ModelsApi};
use lls_api_vector_io::{VectorIoApi, VectorStores};
use lls_config::RunConfig;
use lls_http::RouteGroup;
use lls_registry::{BuiltService, ServiceContext};

use crate::{Defaults, Dependencies, EmbeddingModels, KV_NAMESPACE, VectorIoProvider, VectorStoresService};

lls_registry::register_service! {
    api: VectorIoApi,
    depends_on: [InferenceApi, ModelsApi],
    optional: [FilesApi],
    description: "OpenAI vector stores, file ingestion and search, and native chunk insert/query over the vector_io providers",
    build: build,
    routes: crate::routes::book,
}

async fn build(ctx: ServiceContext) -> Result<Option<BuiltService>> {
    crate::metrics::describe();
    let typed = ctx.providers_of::<VectorIoApi>()?;
    if typed.is_empty() {
        return Ok(None);
    }
    let providers: BTreeMap<String, VectorIoProvider> = ctx
        .providers
        .iter()
        .filter_map(|p| {
            let provider = typed.get(&p.provider_id)?.clone();
            Some((p.provider_id.clone(), VectorIoProvider { provider, provider_type: p.provider_type.clone() }))
        })
        .collect();
    let metadata = ctx
        .config
        .storage
        .stores
        .metadata
        .as_ref()
        .ok_or_else(|| lls_api_common::Error::invalid("storage.stores.metadata is required"))?;
    let kv = ctx.stores.kv(&KvStoreRef { backend: metadata.backend.clone(), namespace: KV_NAMESPACE.into() }).await?;
    let models = ctx.deps.require::<ModelsApi>()?;
    let deps = Dependencies {
        inference: ctx.deps.require::<InferenceApi>()?,
        files: ctx.deps.get::<FilesApi>(),
        models: Arc::new(RegisteredModels(models.clone())),
    };
    let defaults = defaults_of(&ctx.config);
    let service = VectorStoresService::open(providers, kv, defaults.clone(), deps, ctx.tasks.clone()).await?;
    service.start().await?;
    if let Some(model) = defaults.embedding_model
        && let Err(e) = models.get(&lls_api_common::RequestContext::default(), &model).await
    {
        tracing::warn!("vector_stores.default_embedding_model: {}", e.message());
    }
    let service = Arc::new(service);
    let api: Arc<dyn VectorStores> = service.clone();
    Ok(Some(BuiltService::new(service).export::<VectorIoApi>(api.clone()).with_routes(RouteGroup::new(crate::routes::book(), api))))
}

/// run.yaml's `vector_stores:` defaults; the default model as `provider_id/model_id`.
fn defaults_of(config: &RunConfig) -> Defaults {
    let section = config.vector_stores.clone().unwrap_or_default();
    Defaults {
        provider_id: section.default_provider_id,
        embedding_model: section.default_embedding_model.map(|m| format!("{}/{}", m.provider_id, m.model_id)),
    }
}

/// The models table as the service reads it.
struct RegisteredModels(Arc<dyn Models>);

#[async_trait::async_trait]
impl EmbeddingModels for RegisteredModels {
    async fn get(&self, ctx: &lls_api_common::RequestContext, identifier: &str) -> Result<Model> {
        self.0.get(ctx, identifier).await
    }
}
