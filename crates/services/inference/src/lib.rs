//! The inference service: the models routing table (registration, discovery, lookup), the
//! inference router that sends each request to the provider owning its model, the store of
//! chat completions, and the `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings` and
//! `/v1/models` routes. It serves the inference API and the models API, and records the
//! inference metrics (time to first token, tokens, streams in flight).

mod metrics;
mod models_table;
mod router;
mod routes;
mod store;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use lls_api_common::{Error, Result};
use lls_api_inference::InferenceApi;
use lls_api_models::{ModelsApi, RegisterModelRequest};
use lls_http::RouteGroup;
use lls_registry::{BuiltService, ServiceContext};

pub use models_table::ModelsTable;
pub use router::InferenceRouter;
pub use store::{CompletionRecord, InferenceStore, ListChatCompletions, StoredChatCompletion};

/// How long startup waits for providers to list their models before serving anyway.
const MODEL_LISTING_WAIT: Duration = Duration::from_secs(3);

/// The service's state, shared by its routes.
pub struct InferenceService {
    pub router: Arc<InferenceRouter>,
    pub models: Arc<ModelsTable>,
}

lls_registry::register_service! {
    api: InferenceApi,
    also_serves: [ModelsApi],
    depends_on: [],
    description: "Routes chat, completion and embedding requests to the provider of each model; the models table; stored chat completions",
    build: build,
    routes: routes::book,
}

async fn build(ctx: ServiceContext) -> Result<Option<BuiltService>> {
    metrics::describe();
    let models = Arc::new(
        ModelsTable::new(ctx.registry.clone(), ctx.providers_of::<InferenceApi>()?).with_switched_off(&ctx.config.switched_off),
    );
    let store = match &ctx.config.storage.stores.inference {
        Some(r) => {
            let sql = ctx.stores.sql(&r.backend).await?;
            let store = Arc::new(InferenceStore::open(sql, &r.table_name, r.max_write_queue_size, r.num_writers).await?);
            let flushed = store.clone();
            ctx.tasks.on_shutdown("flush the inference store", move || async move { flushed.flush().await });
            Some(store)
        }
        None => None,
    };
    let router = Arc::new(InferenceRouter::new(models.clone(), store));
    for m in &ctx.config.registered_resources.models {
        let request = RegisterModelRequest {
            model_id: m.model_id.clone(),
            provider_model_id: m.provider_model_id.clone(),
            provider_id: m.provider_id.clone(),
            metadata: Some(m.metadata.clone()),
            model_type: Some(m.model_type),
        };
        models
            .register_from_config(request)
            .await
            .map_err(|e| Error::invalid(format!("registered_resources.models '{}': {}", m.model_id, e.message())))?;
    }
    models.refresh_all(MODEL_LISTING_WAIT, &ctx.tasks).await;
    let service = Arc::new(InferenceService { router: router.clone(), models: models.clone() });
    Ok(Some(
        BuiltService::new(service.clone())
            .export::<InferenceApi>(router)
            .export::<ModelsApi>(models)
            .with_routes(RouteGroup::new(routes::book(), service)),
    ))
}
