//! The models routing table: models registered by run.yaml or `POST /v1/models`, plus those
//! discovered from providers, persisted in the resource registry; and model-id resolution.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lls_api_common::{Error, Result, Tasks};
use lls_api_inference::InferenceProvider;
use lls_api_models::{Model, ModelSource, ModelType, RegisterModelRequest};
use lls_registry::{ResourceRegistry, StoredResource};
use serde_json::Value;

const RESOURCE: &str = "model";

/// Models by identifier, and the inference providers that serve them.
pub struct ModelsTable {
    registry: Arc<ResourceRegistry>,
    providers: BTreeMap<String, Arc<dyn InferenceProvider>>,
}

impl ModelsTable {
    pub fn new(registry: Arc<ResourceRegistry>, providers: BTreeMap<String, Arc<dyn InferenceProvider>>) -> Self {
        ModelsTable { registry, providers }
    }

    pub fn provider(&self, provider_id: &str) -> Option<&Arc<dyn InferenceProvider>> {
        self.providers.get(provider_id)
    }

    pub fn provider_ids(&self) -> impl Iterator<Item = &String> {
        self.providers.keys()
    }

    pub fn list(&self) -> Vec<Model> {
        self.registry.list(RESOURCE).into_iter().filter_map(|r| serde_json::from_value(r.body).ok()).collect()
    }

    pub fn get(&self, identifier: &str) -> Result<Model> {
        self.registry
            .get(RESOURCE, identifier)
            .and_then(|r| serde_json::from_value(r.body).ok())
            .ok_or_else(|| Error::resource_not_found("Model", identifier, "client.models.list()"))
    }

    /// `POST /v1/models`, and the models of run.yaml's `registered_resources`.
    pub async fn register(&self, request: RegisterModelRequest) -> Result<Model> {
        let provider_id = match request.provider_id.filter(|p| !p.is_empty()) {
            Some(p) => p,
            None => {
                let mut ids = self.providers.keys();
                match (ids.next(), ids.next()) {
                    (Some(only), None) => only.clone(),
                    (None, _) => return Err(Error::invalid("no inference provider is configured")),
                    _ => {
                        return Err(Error::invalid(format!(
                            "'provider_id' is required when several inference providers exist: {}",
                            self.providers.keys().cloned().collect::<Vec<_>>().join(", ")
                        ))
                        .with_param("provider_id"));
                    }
                }
            }
        };
        if !self.providers.contains_key(&provider_id) {
            return Err(Error::invalid(format!(
                "provider '{provider_id}' is not an inference provider of this stack (have: {})",
                self.providers.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
            .with_param("provider_id"));
        }
        let model_type = request.model_type.unwrap_or_default();
        let metadata = request.metadata.unwrap_or_default();
        if model_type == ModelType::Embedding && metadata.get("embedding_dimension").and_then(Value::as_u64).is_none() {
            return Err(Error::invalid("an embedding model needs an integer 'metadata.embedding_dimension'").with_param("metadata"));
        }
        let resource_id = request.provider_model_id.filter(|p| !p.is_empty()).unwrap_or(request.model_id);
        let model = Model::new(&provider_id, &resource_id, model_type, metadata);
        self.store(&model, ModelSource::ViaRegisterApi).await?;
        Ok(model)
    }

    pub async fn unregister(&self, identifier: &str) -> Result<()> {
        self.get(identifier)?;
        self.registry.remove(RESOURCE, identifier).await?;
        Ok(())
    }

    async fn store(&self, model: &Model, source: ModelSource) -> Result<()> {
        let source = serde_json::to_value(source)?.as_str().unwrap_or_default().to_owned();
        self.registry
            .put(StoredResource {
                resource_type: RESOURCE.into(),
                identifier: model.identifier.clone(),
                provider_id: model.provider_id.clone(),
                source,
                body: serde_json::to_value(model)?,
            })
            .await
    }

    /// Re-lists one provider's models: drops those it listed before, registers what it lists
    /// now, and leaves models registered through the API alone.
    pub async fn refresh(&self, provider_id: &str) -> Result<usize> {
        let Some(provider) = self.providers.get(provider_id) else { return Ok(0) };
        let listed = provider.list_models().await?;
        let registered = self.registry.list(RESOURCE);
        let by_api: Vec<&StoredResource> =
            registered.iter().filter(|r| r.provider_id == provider_id && r.source == "via_register_api").collect();
        let fresh: Vec<Model> = listed
            .into_iter()
            .map(|m| Model::new(provider_id, &m.provider_resource_id, m.model_type, m.metadata))
            .filter(|m| !by_api.iter().any(|r| r.identifier == m.identifier))
            .collect();
        for old in registered.iter().filter(|r| r.provider_id == provider_id && r.source == "listed_from_provider") {
            if !fresh.iter().any(|m| m.identifier == old.identifier) {
                self.registry.remove(RESOURCE, &old.identifier).await?;
            }
        }
        for m in &fresh {
            self.store(m, ModelSource::ListedFromProvider).await?;
        }
        Ok(fresh.len())
    }

    /// Refreshes every provider concurrently, waiting at most `wait` for slow ones (they finish
    /// in the background), and keeps re-listing those configured with `refresh_models`.
    pub async fn refresh_all(self: &Arc<Self>, wait: Duration, tasks: &Tasks) {
        let (done, mut finished) = tokio::sync::mpsc::channel::<()>(self.providers.len().max(1));
        for id in self.providers.keys() {
            let (table, id, done) = (self.clone(), id.clone(), done.clone());
            tasks.spawn("list provider models", async move {
                match table.refresh(&id).await {
                    Ok(n) => tracing::info!(provider_id = %id, models = n, "listed models"),
                    Err(e) => tracing::warn!(provider_id = %id, "could not list models: {e}"),
                }
                let _ = done.send(()).await;
            });
        }
        drop(done);
        let _ = tokio::time::timeout(wait, async { while finished.recv().await.is_some() {} }).await;
        for (id, provider) in &self.providers {
            if provider.refresh_models() {
                let (table, id, stop) = (self.clone(), id.clone(), tasks.stop_token());
                tasks.spawn("refresh provider models", async move {
                    let mut tick = tokio::time::interval(Duration::from_secs(300));
                    tick.tick().await;
                    loop {
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = tick.tick() => {}
                        }
                        if let Err(e) = table.refresh(&id).await {
                            tracing::warn!(provider_id = %id, "could not refresh models: {e}");
                        }
                    }
                });
            }
        }
    }

    /// The provider and provider-side model id for a client's model id. Registered ids must
    /// have the expected type; unregistered `provider_id/x` ids fall back to provider `provider_id`.
    pub fn resolve(&self, model_id: &str, expected: ModelType) -> Result<(Arc<dyn InferenceProvider>, String)> {
        if let Ok(model) = self.get(model_id) {
            if model.model_type != expected {
                return Err(Error::invalid(format!(
                    "Model '{model_id}' is of type '{}' rather than the expected type '{}'",
                    model.model_type.as_str(),
                    expected.as_str()
                ))
                .with_param("model"));
            }
            let provider = self
                .providers
                .get(&model.provider_id)
                .ok_or_else(|| Error::internal(format!("provider '{}' of model '{model_id}' is not running", model.provider_id)))?;
            return Ok((provider.clone(), model.provider_resource_id));
        }
        if let Some((provider_id, rest)) = model_id.split_once('/')
            && let Some(provider) = self.providers.get(provider_id).filter(|_| !rest.is_empty())
        {
            return Ok((provider.clone(), rest.to_owned()));
        }
        Err(Error::resource_not_found("Model", model_id, "client.models.list()").with_param("model"))
    }
}

#[async_trait::async_trait]
impl lls_api_models::Models for ModelsTable {
    fn list(&self) -> Vec<Model> {
        ModelsTable::list(self)
    }

    fn get(&self, identifier: &str) -> Result<Model> {
        ModelsTable::get(self, identifier)
    }

    async fn register(&self, request: RegisterModelRequest) -> Result<Model> {
        ModelsTable::register(self, request).await
    }

    async fn unregister(&self, identifier: &str) -> Result<()> {
        ModelsTable::unregister(self, identifier).await
    }
}
