//! Fakes for the vector stores service's tests: an in-memory kv store, an in-memory files API
//! (with an optional delay, to catch ingestion in flight), a models table, and a harness that
//! builds the service over `FakeVectorIo` and `FakeInference`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use lls_api_common::store::KvStore;
use lls_api_common::{Error, RequestContext, Result, Tasks, unix_now};
use lls_api_files::{FileContent, FileDeleted, FileList, FileObject, FilePurpose, Files, ListFilesQuery, UploadFile};
use lls_api_models::{Model, ModelType};
use lls_api_vector_io::{VectorIo, VectorStores};
use lls_inference_inline_fake::{FakeConfig, FakeInference};
use lls_testkit::FakeVectorIo;
use lls_service_vector_io::{Defaults, Dependencies, EmbeddingModels, VectorIoProvider, VectorStoresService};
use parking_lot::Mutex;
use serde_json::{Map, json};

pub const DIM: usize = 384;
pub const EMBED: &str = "fake/fake-embed";

/// A kv store in memory; clones share the data (a restart keeps it).
#[derive(Clone, Default)]
pub struct MemoryKv(Arc<Mutex<BTreeMap<String, String>>>);

#[async_trait]
impl KvStore for MemoryKv {
    async fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.0.lock().get(key).cloned())
    }
    async fn set(&self, key: &str, value: &str, _expires_at: Option<i64>) -> Result<()> {
        self.0.lock().insert(key.to_owned(), value.to_owned());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.0.lock().remove(key);
        Ok(())
    }
    async fn incr(&self, key: &str, by: i64, _expires_at: Option<i64>) -> Result<i64> {
        let mut map = self.0.lock();
        let next = map.get(key).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0) + by;
        map.insert(key.to_owned(), next.to_string());
        Ok(next)
    }
    async fn values_in_range(&self, start: &str, end: &str) -> Result<Vec<String>> {
        Ok(self.0.lock().range(start.to_owned()..=end.to_owned()).map(|(_, v)| v.clone()).collect())
    }
    async fn keys_in_range(&self, start: &str, end: &str) -> Result<Vec<String>> {
        Ok(self.0.lock().range(start.to_owned()..=end.to_owned()).map(|(k, _)| k.clone()).collect())
    }
}

impl MemoryKv {
    pub fn keys(&self) -> Vec<String> {
        self.0.lock().keys().cloned().collect()
    }
}

/// The files API in memory.
#[derive(Default)]
pub struct FakeFiles {
    files: Mutex<BTreeMap<String, (FileObject, Bytes)>>,
    /// How long `content` takes.
    pub delay: Mutex<Duration>,
}

impl FakeFiles {
    pub fn add(&self, filename: &str, bytes: &[u8]) -> String {
        let id = format!("file-{}", uuid::Uuid::new_v4().simple());
        let object = FileObject {
            id: id.clone(),
            object: "file".into(),
            bytes: bytes.len() as u64,
            created_at: unix_now(),
            expires_at: None,
            filename: filename.into(),
            purpose: FilePurpose::Assistants,
        };
        self.files.lock().insert(id.clone(), (object, Bytes::copy_from_slice(bytes)));
        id
    }

    fn get(&self, id: &str) -> Result<(FileObject, Bytes)> {
        self.files
            .lock()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::resource_not_found("File", id, "client.files.list()"))
    }
}

#[async_trait]
impl Files for FakeFiles {
    async fn upload(&self, _ctx: &RequestContext, file: UploadFile) -> Result<FileObject> {
        let id = self.add(&file.filename, &file.content);
        self.get(&id).map(|f| f.0)
    }
    async fn list(&self, _ctx: &RequestContext, _query: ListFilesQuery) -> Result<FileList> {
        Ok(FileList::new(self.files.lock().values().map(|f| f.0.clone()).collect(), false))
    }
    async fn retrieve(&self, _ctx: &RequestContext, file_id: &str) -> Result<FileObject> {
        self.get(file_id).map(|f| f.0)
    }
    async fn delete(&self, _ctx: &RequestContext, file_id: &str) -> Result<FileDeleted> {
        self.get(file_id)?;
        self.files.lock().remove(file_id);
        Ok(FileDeleted { id: file_id.into(), object: "file".into(), deleted: true })
    }
    async fn content(&self, _ctx: &RequestContext, file_id: &str) -> Result<FileContent> {
        let delay = *self.delay.lock();
        tokio::time::sleep(delay).await;
        let (file, content) = self.get(file_id)?;
        Ok(FileContent { file, content })
    }
    fn max_upload_bytes(&self) -> u64 {
        1 << 30
    }
}

/// Registered models: `fake/fake-embed` (384), `fake/no-dim-embed` (no dimension), `fake/fake-llm`, and
/// `fake/error-503` (an embedding model whose calls fail).
pub struct Models;

#[async_trait::async_trait]
impl EmbeddingModels for Models {
    async fn get(&self, _: &lls_api_common::RequestContext, identifier: &str) -> Result<Model> {
        let embedding = |dim: u64| {
            let mut m = Map::new();
            m.insert("embedding_dimension".into(), json!(dim));
            m
        };
        let (model_type, metadata) = match identifier {
            "fake/fake-embed" | "fake/error-503" | "fake/error-429" => (ModelType::Embedding, embedding(DIM as u64)),
            "fake/no-dim-embed" => (ModelType::Embedding, Map::new()),
            "fake/fake-llm" => (ModelType::Llm, Map::new()),
            _ => return Err(Error::resource_not_found("Model", identifier, "client.models.list()")),
        };
        let (provider, rest) = identifier.split_once('/').unwrap();
        Ok(Model::new(provider, rest, model_type, metadata))
    }
}

/// Strips the `fake/` prefix, as the inference router does before calling the provider.
pub struct Router(pub FakeInference);

#[async_trait]
impl lls_api_inference::Inference for Router {
    async fn chat_completion(
        &self,
        ctx: &RequestContext,
        mut request: lls_api_inference::ChatCompletionRequest,
    ) -> Result<lls_api_inference::Output<lls_api_inference::ChatCompletion, lls_api_inference::ChatCompletionChunk>> {
        request.model = request.model.trim_start_matches("fake/").to_owned();
        self.0.chat_completion(ctx, request).await
    }
    async fn completion(
        &self,
        ctx: &RequestContext,
        mut request: lls_api_inference::CompletionRequest,
    ) -> Result<lls_api_inference::Output<lls_api_inference::Completion, lls_api_inference::Completion>> {
        request.model = request.model.trim_start_matches("fake/").to_owned();
        self.0.completion(ctx, request).await
    }
    async fn embeddings(
        &self,
        ctx: &RequestContext,
        mut request: lls_api_inference::EmbeddingsRequest,
    ) -> Result<lls_api_inference::Answer<lls_api_inference::EmbeddingsResponse>> {
        request.model = request.model.trim_start_matches("fake/").to_owned();
        self.0.embeddings(ctx, request).await
    }
}

/// A service with its fakes.
pub struct Harness {
    pub service: VectorStoresService,
    pub files: Arc<FakeFiles>,
    pub kv: MemoryKv,
    pub providers: Vec<(String, FakeVectorIo)>,
    pub ctx: RequestContext,
    /// The service's supervisor, to shut it down as the stack would.
    pub tasks: Tasks,
}

pub struct Setup {
    /// `(provider_id, keyword search?)`
    pub providers: Vec<(&'static str, bool)>,
    pub defaults: Defaults,
    pub with_files: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            providers: vec![("memory", true)],
            defaults: Defaults { provider_id: None, embedding_model: Some(EMBED.into()) },
            with_files: true,
        }
    }
}

impl Harness {
    pub async fn new() -> Harness {
        Self::with(Setup::default()).await
    }

    pub async fn with(setup: Setup) -> Harness {
        let providers: Vec<(String, FakeVectorIo)> = setup
            .providers
            .iter()
            .map(|(id, keyword)| (id.to_string(), if *keyword { FakeVectorIo::new() } else { FakeVectorIo::vector_only() }))
            .collect();
        let files = Arc::new(FakeFiles::default());
        Self::open(providers, MemoryKv::default(), files, setup.defaults, setup.with_files).await
    }

    async fn open(
        providers: Vec<(String, FakeVectorIo)>,
        kv: MemoryKv,
        files: Arc<FakeFiles>,
        defaults: Defaults,
        with_files: bool,
    ) -> Harness {
        let map = providers
            .iter()
            .map(|(id, p)| {
                let provider: Arc<dyn VectorIo> = Arc::new(p.clone());
                (id.clone(), VectorIoProvider { provider, provider_type: "inline::memory".into() })
            })
            .collect();
        let files_dep: Option<Arc<dyn Files>> = if with_files { Some(files.clone()) } else { None };
        let deps = Dependencies {
            inference: Arc::new(Router(FakeInference::new(FakeConfig::default()))),
            files: files_dep,
            models: Arc::new(Models),
        };
        let tasks = Tasks::new();
        let service = VectorStoresService::open(map, Arc::new(kv.clone()), defaults, deps, tasks.clone()).await.unwrap();
        service.start().await.unwrap();
        Harness { service, files, kv, providers, ctx: RequestContext::default(), tasks }
    }

    /// The same state opened again, as after a restart.
    pub async fn restart(&self, defaults: Defaults) -> Harness {
        let providers = self.providers.iter().map(|(id, p)| (id.clone(), p.reopen())).collect();
        Self::open(providers, self.kv.clone(), self.files.clone(), defaults, true).await
    }

    pub fn api(&self) -> &dyn VectorStores {
        &self.service
    }

    /// Creates a store from a JSON request body.
    pub async fn create(&self, body: serde_json::Value) -> Result<lls_api_vector_io::VectorStoreObject> {
        self.api().create_vector_store(&self.ctx, serde_json::from_value(body).unwrap()).await
    }

    pub async fn attach(&self, store: &str, body: serde_json::Value) -> Result<lls_api_vector_io::VectorStoreFileObject> {
        self.api().attach_file(&self.ctx, store, serde_json::from_value(body).unwrap()).await
    }

    pub async fn search(&self, store: &str, body: serde_json::Value) -> Result<lls_api_vector_io::SearchResultsPage> {
        self.api().search_vector_store(&self.ctx, store, serde_json::from_value(body).unwrap()).await
    }

    /// A file's record in a store.
    pub async fn file(&self, store: &str, file_id: &str) -> lls_api_vector_io::VectorStoreFileObject {
        self.api().retrieve_file(&self.ctx, store, file_id).await.unwrap()
    }

    /// Waits (up to 5 s) until the file is no longer `in_progress`.
    pub async fn settled(&self, store: &str, file_id: &str) -> lls_api_vector_io::VectorStoreFileObject {
        for _ in 0..500 {
            let f = self.file(store, file_id).await;
            if f.status != lls_api_vector_io::FileStatus::InProgress {
                return f;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("file {file_id} stayed in_progress");
    }
}
