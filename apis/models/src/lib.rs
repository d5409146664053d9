//! The `models` resource: the native `Model` object that `GET /v1/models` returns in 0.3.5,
//! the registration request, and what an inference provider reports when it lists its models.

pub mod limits;

use lls_api_common::RequestContext;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a model is for; routing checks it (chat needs `llm`, embeddings need `embedding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelType {
    #[default]
    Llm,
    Embedding,
    Rerank,
}

impl ModelType {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelType::Llm => "llm",
            ModelType::Embedding => "embedding",
            ModelType::Rerank => "rerank",
        }
    }
}

/// How a model came to be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    #[default]
    ViaRegisterApi,
    ListedFromProvider,
}

/// A registered model, in the 0.3.5 wire shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Model {
    /// Always `provider_id/provider_resource_id`.
    pub identifier: String,
    pub provider_resource_id: String,
    pub provider_id: String,
    #[serde(rename = "type", default = "model_kind")]
    pub kind: String,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    pub model_type: ModelType,
}

fn model_kind() -> String {
    "model".into()
}

impl Model {
    pub fn new(provider_id: &str, provider_resource_id: &str, model_type: ModelType, metadata: Map<String, Value>) -> Self {
        Model {
            identifier: format!("{provider_id}/{provider_resource_id}"),
            provider_resource_id: provider_resource_id.to_owned(),
            provider_id: provider_id.to_owned(),
            kind: model_kind(),
            metadata,
            model_type,
        }
    }

    /// `metadata.embedding_dimension`, when it is an integer.
    pub fn embedding_dimension(&self) -> Option<u64> {
        self.metadata.get("embedding_dimension").and_then(Value::as_u64)
    }
}

/// What OpenAI's model objects say owns a model (0.3.5's `/v1/openai/v1/models` says the same).
pub const OWNED_BY: &str = "llama_stack";

/// A model as the models routes answer: 0.3.5's fields and, beside them, OpenAI's (`id`, the
/// `identifier`; `object: "model"`; `created`; `owned_by`), so the `openai` SDK's
/// `models.list()`/`retrieve()` and `llama-stack-client` both read real values. Stored models
/// keep the `Model` shape; this is only what goes on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelObject {
    #[serde(flatten)]
    pub model: Model,
    /// The same as `identifier`.
    pub id: String,
    /// Always `"model"`.
    pub object: String,
    /// Unix seconds: when the answer was made (models carry no registration time).
    pub created: i64,
    /// Always `"llama_stack"`.
    pub owned_by: String,
}

impl ModelObject {
    pub fn new(model: Model, created: i64) -> Self {
        ModelObject { id: model.identifier.clone(), model, object: model_kind(), created, owned_by: OWNED_BY.into() }
    }
}

/// A model as an inference provider lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderModel {
    pub provider_resource_id: String,
    pub model_type: ModelType,
    pub metadata: Map<String, Value>,
}

impl ProviderModel {
    pub fn llm(id: impl Into<String>) -> Self {
        ProviderModel { provider_resource_id: id.into(), model_type: ModelType::Llm, metadata: Map::new() }
    }

    pub fn embedding(id: impl Into<String>, dimension: u64) -> Self {
        let mut metadata = Map::new();
        metadata.insert("embedding_dimension".into(), dimension.into());
        ProviderModel { provider_resource_id: id.into(), model_type: ModelType::Embedding, metadata }
    }
}

/// `POST /v1/models`.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
pub struct RegisterModelRequest {
    pub model_id: String,
    #[serde(default)]
    pub provider_model_id: Option<String>,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub model_type: Option<ModelType>,
}

/// The deprecated `/v1/openai/v1/models` item.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpenAiModel {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub owned_by: String,
}

/// `GET /v1/models`'s answer: 0.3.5's `data` list, with OpenAI's `object: "list"` beside it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListModelsResponse {
    pub data: Vec<ModelObject>,
    /// Always `"list"`.
    pub object: String,
}

impl ListModelsResponse {
    /// The models as listed at `created` (unix seconds).
    pub fn new(models: Vec<Model>, created: i64) -> Self {
        ListModelsResponse {
            data: models.into_iter().map(|m| ModelObject::new(m, created)).collect(),
            object: "list".into(),
        }
    }
}

/// `GET /v1/openai/v1/models`'s answer.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpenAiListModelsResponse {
    pub data: Vec<OpenAiModel>,
    /// Always `"list"`.
    pub object: String,
}

/// The models routing table as other services read and change it (the inference service
/// owns it; `GET /v1/models` and friends are its routes).
#[async_trait::async_trait]
pub trait Models: Send + Sync {
    /// The models the caller may read.
    async fn list(&self, ctx: &RequestContext) -> lls_api_common::Result<Vec<Model>>;
    /// The model registered under `identifier`, if the caller may read it; a not-found error
    /// otherwise.
    async fn get(&self, ctx: &RequestContext, identifier: &str) -> lls_api_common::Result<Model>;
    /// Registers a model the caller then owns (a 403 when the policy forbids creating it).
    async fn register(&self, ctx: &RequestContext, request: RegisterModelRequest) -> lls_api_common::Result<Model>;
    /// A model the caller may not read is not found; one it may not delete is a 403.
    async fn unregister(&self, ctx: &RequestContext, identifier: &str) -> lls_api_common::Result<()>;
}

/// The models API: no providers of its own (inference providers list the models); the
/// inference service exports the table as `dyn Models`.
#[derive(Debug)]
pub struct ModelsApi;

impl lls_api_common::ApiSpec for ModelsApi {
    const API: lls_api_common::Api = lls_api_common::Api::Models;
    type Provider = dyn Models;
    type Service = dyn Models;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn model_objects_carry_both_shapes_and_read_back() {
        let model = Model::new("st", "all-MiniLM-L6-v2", ModelType::Embedding, Map::new());
        let wire = serde_json::to_value(ListModelsResponse::new(vec![model.clone()], 1_700_000_000)).unwrap();
        assert_eq!(
            wire,
            json!({"object": "list", "data": [{
                "identifier": "st/all-MiniLM-L6-v2", "provider_resource_id": "all-MiniLM-L6-v2", "provider_id": "st",
                "type": "model", "metadata": {}, "model_type": "embedding",
                "id": "st/all-MiniLM-L6-v2", "object": "model", "created": 1_700_000_000, "owned_by": "llama_stack",
            }]})
        );
        let back: ModelObject = serde_json::from_value(wire["data"][0].clone()).unwrap();
        assert_eq!(back.model, model);
    }
}
