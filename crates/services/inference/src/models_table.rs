//! The models routing table: models registered by run.yaml or `POST /v1/models`, plus those
//! discovered from providers, persisted in the resource registry; and model-id resolution.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lls_api_common::access::{Action, Owner, ProtectedResource};
use lls_api_common::{Error, RequestContext, Result, Tasks};
use lls_api_inference::{Capability, InferenceProvider};
use lls_api_models::{Model, ModelSource, ModelType, RegisterModelRequest};
use lls_registry::{ResourceRegistry, StoredResource, chosen_provider};
use parking_lot::RwLock;
use serde_json::Value;

const RESOURCE: &str = "model";

/// Models by identifier, and the inference providers that serve them.
pub struct ModelsTable {
    registry: Arc<ResourceRegistry>,
    providers: BTreeMap<String, Arc<dyn InferenceProvider>>,
    /// Each provider's last listing, so a model the API shadowed comes back when it is removed.
    listed: RwLock<BTreeMap<String, Vec<Model>>>,
    /// Inference providers run.yaml switches on by a variable unset in this run (`${env.X:+id}`):
    /// `(variable, provider_type)`, named when a chat model is asked of a server without one.
    switched_off: Vec<(String, String)>,
}

/// 0.3.5's registry refusal (a 400), for an identifier already taken by a different model.
fn already_exists(identifier: &str) -> Error {
    Error::invalid(format!(
        "Object of type 'model' and identifier '{identifier}' already exists. Unregister it first if you want to replace it."
    ))
    .with_param("model_id")
}

impl ModelsTable {
    pub fn new(registry: Arc<ResourceRegistry>, providers: BTreeMap<String, Arc<dyn InferenceProvider>>) -> Self {
        ModelsTable { registry, providers, listed: RwLock::new(BTreeMap::new()), switched_off: Vec::new() }
    }

    /// The same, knowing which inference providers run.yaml's variables left off.
    pub fn with_switched_off(mut self, switched_off: &[lls_config::SwitchedOff]) -> Self {
        self.switched_off =
            switched_off.iter().filter(|s| s.api == "inference").map(|s| (s.variable.clone(), s.provider_type.clone())).collect();
        self
    }

    pub fn provider(&self, provider_id: &str) -> Option<&Arc<dyn InferenceProvider>> {
        self.providers.get(provider_id)
    }

    pub fn provider_ids(&self) -> impl Iterator<Item = &String> {
        self.providers.keys()
    }

    /// The models the caller may read.
    pub async fn list(&self, ctx: &RequestContext) -> Result<Vec<Model>> {
        self.registry.list_as(ctx, RESOURCE).await
    }

    /// A model the caller may read; any other is not found (ids of others do not leak).
    pub async fn get(&self, ctx: &RequestContext, identifier: &str) -> Result<Model> {
        self.registry.get_as(ctx, RESOURCE, identifier).await?.ok_or_else(|| not_found(identifier))
    }

    /// `POST /v1/models`. As in 0.3.5, an identifier (`provider_id/provider_model_id`) that a
    /// different model holds, listed by its provider or registered before, is refused; the same
    /// registration again answers the model.
    /// The caller must be allowed to create it (it becomes its owner).
    pub async fn register(&self, ctx: &RequestContext, request: RegisterModelRequest) -> Result<Model> {
        let model = self.model_of(request)?;
        let owner = ctx.owner();
        ctx.check(Action::Create, &ProtectedResource::new(RESOURCE, &model.identifier, owner.as_ref()))?;
        if let Some(existing) = self.registry.get(RESOURCE, &model.identifier).await? {
            let same = existing.source == "via_register_api" && serde_json::from_value::<Model>(existing.body).ok().as_ref() == Some(&model);
            return if same { Ok(model) } else { Err(already_exists(&model.identifier)) };
        }
        self.store(&model, ModelSource::ViaRegisterApi, owner).await?;
        Ok(model)
    }

    /// A model of run.yaml's `registered_resources`: run.yaml is the source of truth, so it
    /// replaces what an earlier run stored (or listed) under the same identifier.
    pub async fn register_from_config(&self, request: RegisterModelRequest) -> Result<Model> {
        let model = self.model_of(request)?;
        self.store(&model, ModelSource::ViaRegisterApi, None).await?;
        Ok(model)
    }

    /// The model a registration describes, checked: bounds, a known provider (the only one
    /// when none is named) and an embedding dimension for embedding models.
    fn model_of(&self, request: RegisterModelRequest) -> Result<Model> {
        request.validate()?;
        let several = "'provider_id' is required when several inference providers exist: {have}";
        let (provider_id, _) = chosen_provider(&self.providers, request.provider_id, "inference", several)?;
        let model_type = request.model_type.unwrap_or_default();
        let metadata = request.metadata.unwrap_or_default();
        if model_type == ModelType::Embedding && metadata.get("embedding_dimension").and_then(Value::as_u64).is_none() {
            return Err(Error::invalid("an embedding model needs an integer 'metadata.embedding_dimension'").with_param("metadata"));
        }
        let resource_id = request.provider_model_id.filter(|p| !p.is_empty()).unwrap_or(request.model_id);
        Ok(Model::new(&provider_id, &resource_id, model_type, metadata))
    }

    /// Removes a model. A registered model that shadowed one its provider lists (stored by an
    /// earlier version, or by run.yaml) gives way to the listed one, so no listed model is lost.
    /// A model the caller may not read is not found; one it may read but not delete is a 403.
    pub async fn unregister(&self, ctx: &RequestContext, identifier: &str) -> Result<()> {
        let stored = self.registry.get_authorized(ctx, Action::Delete, RESOURCE, identifier, || not_found(identifier)).await?;
        let model: Model = serde_json::from_value(stored.body).map_err(|_| not_found(identifier))?;
        let source = stored.source;
        self.registry.remove(RESOURCE, identifier).await?;
        if source == "via_register_api" {
            let listed = self.listed.read().get(&model.provider_id).and_then(|l| l.iter().find(|m| m.identifier == identifier).cloned());
            if let Some(listed) = listed {
                self.store(&listed, ModelSource::ListedFromProvider, None).await?;
            }
        }
        Ok(())
    }

    async fn store(&self, model: &Model, source: ModelSource, owner: Option<Owner>) -> Result<()> {
        let source = serde_json::to_value(source)?.as_str().unwrap_or_default().to_owned();
        self.registry
            .put(StoredResource {
                resource_type: RESOURCE.into(),
                identifier: model.identifier.clone(),
                provider_id: model.provider_id.clone(),
                source,
                body: serde_json::to_value(model)?,
                owner,
            })
            .await
    }

    /// Re-lists one provider's models: drops those it listed before, registers what it lists
    /// now, and leaves models registered through the API alone.
    pub async fn refresh(&self, provider_id: &str) -> Result<usize> {
        let Some(provider) = self.providers.get(provider_id) else { return Ok(0) };
        let listed = provider.list_models().await?;
        let registered = self.registry.list(RESOURCE).await?;
        let by_api: Vec<&StoredResource> =
            registered.iter().filter(|r| r.provider_id == provider_id && r.source == "via_register_api").collect();
        let all: Vec<Model> =
            listed.into_iter().map(|m| Model::new(provider_id, &m.provider_resource_id, m.model_type, m.metadata)).collect();
        self.listed.write().insert(provider_id.to_owned(), all.clone());
        let fresh: Vec<Model> = all.into_iter().filter(|m| !by_api.iter().any(|r| r.identifier == m.identifier)).collect();
        for old in registered.iter().filter(|r| r.provider_id == provider_id && r.source == "listed_from_provider") {
            if !fresh.iter().any(|m| m.identifier == old.identifier) {
                self.registry.remove(RESOURCE, &old.identifier).await?;
            }
        }
        for m in &fresh {
            self.store(m, ModelSource::ListedFromProvider, None).await?;
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
    /// A registered model the caller may not read is not found (no fallback either); the
    /// fallback is checked as a read of `model::<model_id>`, as 0.3.5 does.
    pub async fn resolve(&self, ctx: &RequestContext, model_id: &str, expected: ModelType) -> Result<(Arc<dyn InferenceProvider>, String)> {
        self.resolve_with_id(ctx, model_id, expected).await.map(|(_, provider, model)| (provider, model))
    }

    /// [`Self::resolve`] with the provider's id first, refusing (400) a request that needs what
    /// the provider cannot do (`needs` as [`lls_api_inference::ChatCompletionRequest::needs`] lists it).
    pub async fn resolve_for(
        &self,
        ctx: &RequestContext,
        model_id: &str,
        expected: ModelType,
        needs: &[Capability],
    ) -> Result<(String, Arc<dyn InferenceProvider>, String)> {
        let (provider_id, provider, model) = self.resolve_with_id(ctx, model_id, expected).await?;
        provider.capabilities().require(model_id, &provider_id, needs)?;
        Ok((provider_id, provider, model))
    }

    async fn resolve_with_id(&self, ctx: &RequestContext, model_id: &str, expected: ModelType) -> Result<(String, Arc<dyn InferenceProvider>, String)> {
        let unknown = || Error::resource_not_found("Model", model_id, "client.models.list()").with_param("model");
        if let Some(stored) = self.registry.get(RESOURCE, model_id).await? {
            if !ctx.can(Action::Read, &stored.protected()) {
                return Err(unknown());
            }
            let model: Model = serde_json::from_value(stored.body).map_err(|_| unknown())?;
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
            return Ok((model.provider_id, provider.clone(), model.provider_resource_id));
        }
        if let Some((provider_id, rest)) = model_id.split_once('/')
            && let Some(provider) = self.providers.get(provider_id).filter(|_| !rest.is_empty())
            && ctx.can(Action::Read, &ProtectedResource::new(RESOURCE, model_id, None))
        {
            return Ok((provider_id.to_owned(), provider.clone(), rest.to_owned()));
        }
        if expected == ModelType::Llm
            && let Some(help) = self.no_chat_model_help(ctx).await
        {
            let unknown = Error::resource_not_found("Model", model_id, "client.models.list()");
            return Err(Error::not_found(format!("{} {help}", unknown.message())).with_param("model"));
        }
        Err(unknown())
    }

    /// When the caller can see no chat (llm) model at all: how to get one, from what this run
    /// left off (providers switched on by an unset variable, chat providers whose health says
    /// what they lack, such as an in-process model's weights).
    async fn no_chat_model_help(&self, ctx: &RequestContext) -> Option<String> {
        let models = self.list(ctx).await.ok()?;
        if models.iter().any(|m| m.model_type == ModelType::Llm) {
            return None;
        }
        let switches: Vec<String> =
            self.switched_off.iter().map(|(variable, provider_type)| format!("{variable} ({provider_type})")).collect();
        let mut ways = Vec::new();
        match switches.as_slice() {
            [] => {}
            [one] => ways.push(format!("set {one} and restart the server")),
            many => ways.push(format!("set one of {} and restart the server", many.join(", "))),
        }
        for (id, provider) in &self.providers {
            if !provider.capabilities().chat {
                continue;
            }
            let health = tokio::time::timeout(Duration::from_secs(2), provider.health()).await;
            if let Ok(h) = health
                && h.status == lls_api_common::HealthState::Error
            {
                ways.push(format!("provider '{id}': {}", h.message.unwrap_or_default()));
            }
        }
        ways.push("register a model of a running provider with POST /v1/models".to_owned());
        Some(format!("This server has no chat (llm) model. To add one: {}.", ways.join("; or ")))
    }
}

fn not_found(identifier: &str) -> Error {
    Error::resource_not_found("Model", identifier, "client.models.list()")
}

#[async_trait::async_trait]
impl lls_api_models::Models for ModelsTable {
    async fn list(&self, ctx: &RequestContext) -> Result<Vec<Model>> {
        ModelsTable::list(self, ctx).await
    }

    async fn get(&self, ctx: &RequestContext, identifier: &str) -> Result<Model> {
        ModelsTable::get(self, ctx, identifier).await
    }

    async fn register(&self, ctx: &RequestContext, request: RegisterModelRequest) -> Result<Model> {
        ModelsTable::register(self, ctx, request).await
    }

    async fn unregister(&self, ctx: &RequestContext, identifier: &str) -> Result<()> {
        ModelsTable::unregister(self, ctx, identifier).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lls_api_common::store::{KvStoreRef, StoreResolver};
    use lls_api_common::{ErrorKind, RequestContext};
    use lls_api_inference::{
        Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest, EmbeddingsRequest,
        EmbeddingsResponse, Inference, Output,
    };
    use lls_api_models::ProviderModel;
    use lls_storage::Stores;

    use super::*;

    /// Lists `models` and serves nothing: what the table sees of a provider.
    struct Lister {
        models: Vec<ProviderModel>,
        capabilities: lls_api_inference::Capabilities,
        health: lls_api_common::HealthStatus,
    }

    impl Lister {
        /// Lists the llm `listed`.
        fn listed() -> Self {
            Lister {
                models: vec![ProviderModel::llm("listed")],
                capabilities: lls_api_inference::Capabilities::all(),
                health: lls_api_common::HealthStatus::not_implemented(),
            }
        }

        /// An embeddings provider, or a chat provider whose weights are missing.
        fn unusable(chat: bool) -> Self {
            use lls_api_inference::Capabilities;
            Lister {
                models: if chat { Vec::new() } else { vec![ProviderModel::embedding("minilm", 384)] },
                capabilities: if chat { Capabilities::chat_only() } else { Capabilities::embeddings_only() },
                health: lls_api_common::HealthStatus::error(if chat {
                    "the chat weights are missing; run install.sh"
                } else {
                    "embedding weights missing"
                }),
            }
        }
    }

    #[async_trait::async_trait]
    impl Inference for Lister {
        async fn chat_completion(&self, _: &RequestContext, _: ChatCompletionRequest) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
            Err(Error::unsupported("no chat"))
        }
        async fn completion(&self, _: &RequestContext, _: CompletionRequest) -> Result<Output<Completion, Completion>> {
            Err(Error::unsupported("no completions"))
        }
        async fn embeddings(&self, _: &RequestContext, _: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
            Err(Error::unsupported("no embeddings"))
        }
    }

    #[async_trait::async_trait]
    impl InferenceProvider for Lister {
        async fn list_models(&self) -> Result<Vec<ProviderModel>> {
            Ok(self.models.clone())
        }
        fn capabilities(&self) -> lls_api_inference::Capabilities {
            self.capabilities
        }
        async fn health(&self) -> lls_api_common::HealthStatus {
            self.health.clone()
        }
    }

    async fn table(stores: &Stores) -> ModelsTable {
        let kv = stores.kv(&KvStoreRef { backend: "kv_default".into(), namespace: "registry".into() }).await.unwrap();
        let registry = Arc::new(ResourceRegistry::open(kv).await.unwrap());
        let provider: Arc<dyn InferenceProvider> = Arc::new(Lister::listed());
        let table = ModelsTable::new(registry, BTreeMap::from([("p".to_owned(), provider)]));
        table.refresh("p").await.unwrap();
        table
    }

    fn request(body: serde_json::Value) -> RegisterModelRequest {
        serde_json::from_value(body).unwrap()
    }

    async fn source(t: &ModelsTable, id: &str) -> String {
        t.registry.get(RESOURCE, id).await.unwrap().unwrap().source
    }

    #[tokio::test]
    async fn a_listed_model_is_never_replaced_by_registration() {
        let stores = Stores::in_memory();
        let t = table(&stores).await;
        let e = t.register(&RequestContext::default(), request(serde_json::json!({"model_id": "alias", "provider_model_id": "listed"}))).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert_eq!(
            e.message(),
            "Object of type 'model' and identifier 'p/listed' already exists. Unregister it first if you want to replace it."
        );
        assert_eq!(source(&t, "p/listed").await, "listed_from_provider");
        // Registering a new model twice is fine; a different one under its identifier is not.
        let mine = request(serde_json::json!({"model_id": "mine", "metadata": {"k": "v"}}));
        let model = t.register(&RequestContext::default(), mine.clone()).await.unwrap();
        assert_eq!(t.register(&RequestContext::default(), mine).await.unwrap(), model);
        assert!(t.register(&RequestContext::default(), request(serde_json::json!({"model_id": "mine"}))).await.is_err());
    }

    #[tokio::test]
    async fn removing_a_model_that_shadowed_a_listed_one_brings_the_listed_one_back() {
        let stores = Stores::in_memory();
        let t = table(&stores).await;
        // run.yaml (or an earlier version) may store a registration over a listed model.
        t.register_from_config(request(serde_json::json!({"model_id": "listed", "metadata": {"k": "v"}}))).await.unwrap();
        assert_eq!(source(&t, "p/listed").await, "via_register_api");
        t.unregister(&RequestContext::default(), "p/listed").await.unwrap();
        let back = t.get(&RequestContext::default(), "p/listed").await.unwrap();
        assert!(back.metadata.is_empty());
        assert_eq!(source(&t, "p/listed").await, "listed_from_provider");
        // A listed model itself can be removed (it comes back with the next listing).
        t.unregister(&RequestContext::default(), "p/listed").await.unwrap();
        assert_eq!(t.get(&RequestContext::default(), "p/listed").await.unwrap_err().kind(), ErrorKind::NotFound);
        t.refresh("p").await.unwrap();
        assert!(t.get(&RequestContext::default(), "p/listed").await.is_ok());
    }

    #[tokio::test]
    async fn a_chat_model_asked_of_a_server_without_one_says_how_to_add_one() {
        let stores = Stores::in_memory();
        let kv = stores.kv(&KvStoreRef { backend: "kv_default".into(), namespace: "registry".into() }).await.unwrap();
        let registry = Arc::new(ResourceRegistry::open(kv).await.unwrap());
        let providers: BTreeMap<String, Arc<dyn InferenceProvider>> = BTreeMap::from([
            ("emb".to_owned(), Arc::new(Lister::unusable(false)) as Arc<dyn InferenceProvider>),
            ("local".to_owned(), Arc::new(Lister::unusable(true)) as Arc<dyn InferenceProvider>),
        ]);
        let off = [
            lls_config::SwitchedOff { api: "inference".into(), provider_type: "remote::vllm".into(), variable: "VLLM_URL".into() },
            lls_config::SwitchedOff { api: "vector_io".into(), provider_type: "remote::pgvector".into(), variable: "ENABLE_PGVECTOR".into() },
        ];
        let t = ModelsTable::new(registry, providers).with_switched_off(&off);
        t.refresh("emb").await.unwrap();
        let ctx = RequestContext::default();
        let e = t.resolve(&ctx, "gpt-4o", ModelType::Llm).await.err().unwrap();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let m = e.message();
        assert!(m.starts_with("Model 'gpt-4o' not found."), "{m}");
        assert!(m.contains("no chat (llm) model") && m.contains("set VLLM_URL (remote::vllm) and restart"), "{m}");
        assert!(m.contains("provider 'local': the chat weights are missing; run install.sh"), "{m}");
        assert!(!m.contains("ENABLE_PGVECTOR") && !m.contains("embedding weights"), "{m}");
        // Embeddings of an unknown model, or a server with a chat model: the plain message.
        let e = t.resolve(&ctx, "nope", ModelType::Embedding).await.err().unwrap();
        assert!(!e.message().contains("no chat"), "{}", e.message());
        let with_chat = table(&stores).await;
        let e = with_chat.resolve(&ctx, "gpt-4o", ModelType::Llm).await.err().unwrap();
        assert!(!e.message().contains("no chat"), "{}", e.message());
    }

    #[tokio::test]
    async fn registrations_are_bounded() {
        let stores = Stores::in_memory();
        let t = table(&stores).await;
        assert_eq!(t.register(&RequestContext::default(), request(serde_json::json!({"model_id": ""}))).await.unwrap_err().param(), Some("model_id"));
        let long = "x".repeat(10_000);
        assert_eq!(t.register(&RequestContext::default(), request(serde_json::json!({"model_id": long}))).await.unwrap_err().param(), Some("model_id"));
        assert!(t.list(&RequestContext::default()).await.unwrap().iter().all(|m| m.identifier == "p/listed"));
    }
}
