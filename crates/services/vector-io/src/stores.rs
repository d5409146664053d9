//! Vector store lifecycle: create (choosing the provider and the embedding model as 0.3.5
//! does), list, retrieve, update and delete.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use lls_api_common::store::Order;
use lls_api_common::access::{Action, ProtectedResource};
use lls_api_common::{Error, RequestContext, Result, unix_now};
use lls_api_models::ModelType;
use lls_api_vector_io::store::parse_dimension;
use lls_api_vector_io::{
    AttachFileRequest, CreateVectorStoreRequest, IndexSpec, ListPage, ListQuery, UpdateVectorStoreRequest,
    VectorStoreDeleted, VectorStoreObject,
};
use serde_json::{Map, Value};

use crate::ingestion::chunking_params;
use crate::pagination::{Bounds, paginate};
use crate::records::{BatchRow, FileRow, StoreRow, keys};

/// The prefix of every file record, of every store.
const FILES: &str = "file:";

/// The resource type of vector stores in access rules (`vector_store::<id>`).
pub const VECTOR_STORE_RESOURCE: &str = "vector_store";
use crate::service::{Inner, StoreState};

/// Files attached at once while a store is created with `file_ids`.
const CREATE_ATTACH_CONCURRENCY: usize = 4;

/// The embedding settings a new store gets.
struct EmbeddingChoice {
    model: String,
    dimension: usize,
    request_dimensions: Option<u32>,
}

impl Inner {
    pub async fn create_store(self: &Arc<Self>, ctx: &RequestContext, request: CreateVectorStoreRequest) -> Result<VectorStoreObject> {
        request.validate()?;
        let strategy = request.chunking_strategy.unwrap_or_default();
        chunking_params(strategy)?;
        let mut metadata = request.metadata.clone().unwrap_or_default();
        let provider_id = self.choose_provider(request.provider_id.as_deref())?;
        let embedding = self.choose_embedding(ctx, &request, &metadata).await?;
        let id = format!("vs_{}", uuid::Uuid::new_v4());
        let owner = ctx.owner();
        ctx.check(Action::Create, &ProtectedResource::new(VECTOR_STORE_RESOURCE, &id, owner.as_ref()))?;
        let provider = self.providers.get(&provider_id).ok_or_else(|| Error::internal("chosen provider vanished"))?;
        provider
            .provider
            .create_index(&IndexSpec {
                vector_store_id: id.clone(),
                embedding_model: embedding.model.clone(),
                embedding_dimension: embedding.dimension,
            })
            .await
            .map_err(|e| e.with_provider(provider_id.clone()))?;
        metadata.insert("provider_id".into(), Value::String(provider_id.clone()));
        metadata.insert("provider_vector_store_id".into(), Value::String(id.clone()));
        let now = unix_now();
        let row = StoreRow {
            id: id.clone(),
            created_at: now,
            created_ns: self.now_ns(),
            name: request.name.clone(),
            expires_after: request.expires_after,
            last_active_at: now,
            metadata,
            provider_id,
            embedding_model: embedding.model,
            embedding_dimension: embedding.dimension,
            request_dimensions: embedding.request_dimensions,
            owner,
        };
        self.records.put(&keys::store(&id), &row).await?;

        let mut seen = HashSet::new();
        let file_ids: Vec<String> =
            request.file_ids.unwrap_or_default().into_iter().filter(|f| seen.insert(f.clone())).collect();
        let attaches = futures::stream::iter(file_ids)
            .map(|file_id| {
                let request = AttachFileRequest {
                    file_id,
                    attributes: None,
                    chunking_strategy: Some(strategy),
                    extra: Map::new(),
                };
                self.attach_file(ctx, &id, request)
            })
            .buffer_unordered(CREATE_ATTACH_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        for result in attaches {
            result?;
        }
        self.retrieve_store(&id).await
    }

    /// The provider a new store goes to: the one named, else the only one, else the default.
    fn choose_provider(&self, requested: Option<&str>) -> Result<String> {
        let available = || self.providers.keys().cloned().collect::<Vec<_>>().join(", ");
        if let Some(p) = requested.filter(|p| !p.is_empty()) {
            if self.providers.contains_key(p) {
                return Ok(p.to_owned());
            }
            return Err(Error::invalid(format!(
                "provider_id '{p}' is not a vector_io provider of this stack. Available providers: {}",
                available()
            ))
            .with_param("provider_id"));
        }
        if self.providers.len() == 1
            && let Some(only) = self.providers.keys().next()
        {
            return Ok(only.clone());
        }
        match &self.defaults.provider_id {
            Some(p) => Ok(p.clone()),
            None => Err(Error::invalid(format!(
                "Multiple vector_io providers available. Please specify provider_id in extra_body. Available providers: {}",
                available()
            ))
            .with_param("provider_id")),
        }
    }

    /// The embedding model and dimension: `metadata.embedding_model` (with its dimension) wins,
    /// then the `embedding_model` extension, then run.yaml's default; the dimension defaults to
    /// the model's registered `embedding_dimension`.
    async fn choose_embedding(&self, ctx: &RequestContext, request: &CreateVectorStoreRequest, metadata: &Map<String, Value>) -> Result<EmbeddingChoice> {
        let from_metadata = metadata.get("embedding_model").and_then(Value::as_str).filter(|m| !m.is_empty());
        let (model_id, dimension) = match from_metadata {
            Some(m) => {
                let dimension = match metadata.get("embedding_dimension") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(parse_dimension(v).ok_or_else(|| {
                        Error::invalid(format!("metadata.embedding_dimension must be a positive integer, got {v}"))
                            .with_param("metadata.embedding_dimension")
                    })?),
                };
                (m.to_owned(), dimension)
            }
            None => {
                let model = request
                    .embedding_model
                    .clone()
                    .filter(|m| !m.is_empty())
                    .or_else(|| self.defaults.embedding_model.clone())
                    .ok_or_else(|| {
                        Error::invalid(
                            "embedding_model is required: pass it in the request (extra_body) or set \
                             vector_stores.default_embedding_model in run.yaml",
                        )
                        .with_param("embedding_model")
                    })?;
                (model, request.embedding_dimension)
            }
        };
        let model = self.deps()?.models.get(ctx, &model_id).await?;
        if model.model_type != ModelType::Embedding {
            return Err(Error::invalid(format!(
                "Model '{model_id}' is of type '{}' rather than the expected type 'embedding'",
                model.model_type.as_str()
            ))
            .with_param("embedding_model"));
        }
        let native = model.embedding_dimension().and_then(|d| usize::try_from(d).ok());
        let dimension = dimension.or(native).ok_or_else(|| {
            Error::invalid(format!(
                "Embedding model '{model_id}' has no embedding_dimension in metadata; pass embedding_dimension"
            ))
            .with_param("embedding_dimension")
        })?;
        let request_dimensions = match native {
            Some(n) if n != dimension => Some(u32::try_from(dimension).map_err(|_| {
                Error::invalid(format!("embedding_dimension {dimension} is too large")).with_param("embedding_dimension")
            })?),
            _ => None,
        };
        Ok(EmbeddingChoice { model: model_id, dimension, request_dimensions })
    }

    pub async fn retrieve_store(&self, id: &str) -> Result<VectorStoreObject> {
        let handle = self.store(id).await?;
        let state = handle.lock().await;
        Ok(state.object())
    }

    /// The stores the caller may read, from the records (two range reads: stores, then every
    /// file record for the counts).
    pub async fn list_stores(&self, ctx: &RequestContext, query: ListQuery) -> Result<ListPage<VectorStoreObject>> {
        query.limit()?;
        let rows: Vec<StoreRow> =
            self.records.all::<StoreRow>(keys::STORES).await?.into_iter().filter(|r| ctx.can(Action::Read, &r.protected())).collect();
        let mut files: BTreeMap<String, Vec<FileRow>> = BTreeMap::new();
        for f in self.records.all::<FileRow>(FILES).await? {
            files.entry(f.object.vector_store_id.clone()).or_default().push(f);
        }
        let now = unix_now();
        let mut all: Vec<(i64, VectorStoreObject)> = rows
            .into_iter()
            .map(|row| {
                let object = row.object(files.get(&row.id).into_iter().flatten(), now);
                (row.created_ns, object)
            })
            .collect();
        match query.order() {
            Order::Desc => all.sort_by_key(|a| std::cmp::Reverse(a.0)),
            Order::Asc => all.sort_by_key(|a| a.0),
        }
        let objects = all.into_iter().map(|(_, o)| o).collect();
        paginate(objects, |o: &VectorStoreObject| &o.id, &query, Bounds::Page)
    }

    pub async fn update_store(&self, id: &str, request: UpdateVectorStoreRequest) -> Result<VectorStoreObject> {
        request.validate()?;
        let handle = self.store(id).await?;
        let mut state = handle.lock().await;
        let mut row = state.row.clone();
        if let Some(name) = request.name {
            row.name = Some(name);
        }
        if let Some(e) = request.expires_after {
            row.expires_after = Some(e);
        }
        if let Some(m) = request.metadata {
            row.metadata = m;
        }
        row.last_active_at = unix_now();
        self.records.put(&keys::store(id), &row).await?;
        state.row = row;
        Ok(state.object())
    }

    /// Drops the provider's index first: if that fails, nothing is forgotten.
    pub async fn delete_store(&self, id: &str) -> Result<VectorStoreDeleted> {
        let handle = self.store(id).await?;
        let mut state = handle.lock().await;
        if state.deleted {
            return Err(self.not_served(id));
        }
        let provider = self.provider(&state.row)?;
        provider.provider.delete_index(id).await.map_err(|e| e.with_provider(state.row.provider_id.clone()))?;
        state.deleted = true;
        self.stores.write().remove(id);
        // The store record goes first: from then on no replica serves the store.
        self.records.delete(&keys::store(id)).await?;
        for b in self.records.all::<BatchRow>(keys::BATCHES).await? {
            if b.vector_store_id == id {
                self.records.delete(&keys::batch(&b.id)).await?;
            }
        }
        self.records.delete_prefix(&keys::work_of(id)).await?;
        self.records.delete_prefix(&keys::files_of(id)).await?;
        self.records.delete_prefix(&keys::contents_of(id)).await?;
        self.records.delete_prefix(&keys::natives_of(id)).await?;
        Ok(VectorStoreDeleted { id: id.to_owned(), object: "vector_store.deleted".into(), deleted: true })
    }
}

impl StoreRow {
    /// What access checks about the store look at.
    pub fn protected(&self) -> ProtectedResource<'_> {
        ProtectedResource::new(VECTOR_STORE_RESOURCE, &self.id, self.owner.as_ref())
    }
}

impl Inner {
    /// Whether the caller may do `action` to store `id`: a store it may not read answers as
    /// one no provider serves (ids of others do not leak); one it may read but not change is
    /// a 403.
    pub async fn authorize(&self, ctx: &RequestContext, id: &str, action: Action) -> Result<()> {
        if ctx.user().is_none() {
            return Ok(());
        }
        let row = self.row(id).await?;
        ctx.authorize(action, &row.protected()).map_err(|r| r.or_not_found(|| self.not_served(id)))
    }
}

impl StoreState {
    pub fn object(&self) -> VectorStoreObject {
        self.row.object(self.files.values(), unix_now())
    }
}
