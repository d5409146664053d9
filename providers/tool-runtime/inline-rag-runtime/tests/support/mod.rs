//! Fakes for the provider's tests: files and vector stores in memory. A file is attached as one
//! chunk per paragraph; a query scores chunks by the share of query words they contain.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{Error, RequestContext, Result, unix_now};
use lls_api_files::{FileContent, FileDeleted, FileList, FileObject, Files, ListFilesQuery, UploadFile};
use lls_api_tool_runtime::ToolRuntimeProvider;
use lls_api_vector_io::native::QueryParams;
use lls_api_vector_io::search::{SearchRequest, SearchResultsPage};
use lls_api_vector_io::store::{CreateVectorStoreRequest, ListPage, ListQuery, UpdateVectorStoreRequest, VectorStoreDeleted};
use lls_api_vector_io::{
    AttachFileRequest, Chunk, ChunkMetadata, ChunkingStrategy, CreateFileBatchRequest, FileCounts, FileStatus,
    QueryChunksResponse, StoreStatus, UpdateFileRequest, VectorStoreFileBatchObject, VectorStoreFileContents,
    VectorStoreFileDeleted, VectorStoreFileObject, VectorStoreObject, VectorStores,
};
use lls_tool_runtime_inline_rag_runtime::RagRuntime;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};

/// A stored file: its object, bytes and declared content type.
pub type StoredFile = (FileObject, bytes::Bytes, Option<String>);

#[derive(Default)]
pub struct MemFiles {
    pub files: Mutex<BTreeMap<String, StoredFile>>,
}

#[async_trait]
impl Files for MemFiles {
    async fn upload(&self, _: &RequestContext, f: UploadFile) -> Result<FileObject> {
        let mut files = self.files.lock();
        let id = format!("file-{}", files.len());
        let object = FileObject {
            id: id.clone(),
            object: "file".into(),
            bytes: f.content.len() as u64,
            created_at: unix_now(),
            expires_at: None,
            filename: f.filename,
            purpose: f.purpose,
        };
        files.insert(id, (object.clone(), f.content, f.content_type));
        Ok(object)
    }
    async fn list(&self, _: &RequestContext, _: ListFilesQuery) -> Result<FileList> {
        Ok(FileList::new(self.files.lock().values().map(|f| f.0.clone()).collect(), false))
    }
    async fn retrieve(&self, _: &RequestContext, id: &str) -> Result<FileObject> {
        self.files.lock().get(id).map(|f| f.0.clone()).ok_or_else(|| Error::resource_not_found("File", id, "client.files.list()"))
    }
    async fn delete(&self, _: &RequestContext, id: &str) -> Result<FileDeleted> {
        self.files.lock().remove(id);
        Ok(FileDeleted { id: id.into(), object: "file".into(), deleted: true })
    }
    async fn content(&self, _: &RequestContext, id: &str) -> Result<FileContent> {
        let f = self.files.lock().get(id).cloned().ok_or_else(|| Error::resource_not_found("File", id, "client.files.list()"))?;
        Ok(FileContent { file: f.0, content: f.1 })
    }
    fn max_upload_bytes(&self) -> u64 {
        1 << 20
    }
}

pub struct MemStores {
    pub files: Arc<MemFiles>,
    pub stores: Mutex<BTreeMap<String, Vec<Chunk>>>,
    /// Chunking strategies attach was called with.
    pub strategies: Mutex<Vec<ChunkingStrategy>>,
}

fn unknown(id: &str) -> Error {
    Error::invalid(format!("Vector_store `{id}` not found"))
}

fn unused() -> Error {
    Error::unsupported("not used by the RAG tool tests")
}

#[async_trait]
impl VectorStores for MemStores {
    async fn create_vector_store(&self, _: &RequestContext, _: CreateVectorStoreRequest) -> Result<VectorStoreObject> {
        Err(unused())
    }
    async fn list_vector_stores(&self, _: &RequestContext, _: ListQuery) -> Result<ListPage<VectorStoreObject>> {
        Err(unused())
    }
    async fn retrieve_vector_store(&self, _: &RequestContext, id: &str) -> Result<VectorStoreObject> {
        if !self.stores.lock().contains_key(id) {
            return Err(unknown(id));
        }
        Ok(VectorStoreObject {
            id: id.into(),
            object: "vector_store".into(),
            created_at: 0,
            name: None,
            usage_bytes: 0,
            file_counts: FileCounts::default(),
            status: StoreStatus::Completed,
            expires_after: None,
            expires_at: None,
            last_active_at: None,
            metadata: Map::new(),
        })
    }
    async fn update_vector_store(&self, _: &RequestContext, _: &str, _: UpdateVectorStoreRequest) -> Result<VectorStoreObject> {
        Err(unused())
    }
    async fn delete_vector_store(&self, _: &RequestContext, _: &str) -> Result<VectorStoreDeleted> {
        Err(unused())
    }
    async fn search_vector_store(&self, _: &RequestContext, _: &str, _: SearchRequest) -> Result<SearchResultsPage> {
        Err(unused())
    }
    async fn attach_file(&self, ctx: &RequestContext, id: &str, r: AttachFileRequest) -> Result<VectorStoreFileObject> {
        let content = self.files.content(ctx, &r.file_id).await?;
        let text = String::from_utf8_lossy(&content.content).into_owned();
        let attributes = r.attributes.clone().unwrap_or_default();
        let chunks: Vec<Chunk> = text
            .split("\n\n")
            .filter(|p| !p.trim().is_empty())
            .enumerate()
            .map(|(i, p)| {
                let mut metadata = attributes.clone();
                metadata.insert("document_id".into(), json!(r.file_id));
                metadata.insert("token_count".into(), json!(p.split_whitespace().count()));
                metadata.insert("metadata_token_count".into(), json!(1));
                let mut c = Chunk::text(p.trim(), metadata);
                c.chunk_metadata = Some(ChunkMetadata { chunk_id: Some(format!("{}-{i}", r.file_id)), document_id: Some(r.file_id.clone()), ..Default::default() });
                c
            })
            .collect();
        self.stores.lock().get_mut(id).ok_or_else(|| unknown(id))?.extend(chunks);
        let strategy = r.chunking_strategy.unwrap_or_default();
        self.strategies.lock().push(strategy);
        Ok(VectorStoreFileObject {
            id: r.file_id,
            object: "vector_store.file".into(),
            attributes,
            chunking_strategy: strategy,
            created_at: 0,
            last_error: None,
            status: FileStatus::Completed,
            usage_bytes: 0,
            vector_store_id: id.into(),
        })
    }
    async fn list_files(&self, _: &RequestContext, _: &str, _: ListFilesQuery2) -> Result<ListPage<VectorStoreFileObject>> {
        Err(unused())
    }
    async fn retrieve_file(&self, _: &RequestContext, _: &str, _: &str) -> Result<VectorStoreFileObject> {
        Err(unused())
    }
    async fn file_contents(&self, _: &RequestContext, _: &str, _: &str) -> Result<VectorStoreFileContents> {
        Err(unused())
    }
    async fn update_file(&self, _: &RequestContext, _: &str, _: &str, _: UpdateFileRequest) -> Result<VectorStoreFileObject> {
        Err(unused())
    }
    async fn delete_file(&self, _: &RequestContext, _: &str, _: &str) -> Result<VectorStoreFileDeleted> {
        Err(unused())
    }
    async fn create_file_batch(&self, _: &RequestContext, _: &str, _: CreateFileBatchRequest) -> Result<VectorStoreFileBatchObject> {
        Err(unused())
    }
    async fn retrieve_file_batch(&self, _: &RequestContext, _: &str, _: &str) -> Result<VectorStoreFileBatchObject> {
        Err(unused())
    }
    async fn list_files_in_batch(&self, _: &RequestContext, _: &str, _: &str, _: ListFilesQuery2) -> Result<ListPage<VectorStoreFileObject>> {
        Err(unused())
    }
    async fn cancel_file_batch(&self, _: &RequestContext, _: &str, _: &str) -> Result<VectorStoreFileBatchObject> {
        Err(unused())
    }
    async fn insert_chunks(&self, _: &RequestContext, id: &str, chunks: Vec<Chunk>, _: Option<i64>) -> Result<()> {
        self.stores.lock().get_mut(id).ok_or_else(|| unknown(id))?.extend(chunks);
        Ok(())
    }
    async fn query_chunks(&self, _: &RequestContext, id: &str, query: &Value, params: QueryParams) -> Result<QueryChunksResponse> {
        let plan = params.plan(query)?;
        let words: Vec<String> = plan.query.to_lowercase().split_whitespace().map(str::to_owned).collect();
        let stores = self.stores.lock();
        let chunks = stores.get(id).ok_or_else(|| unknown(id))?;
        let mut scored: Vec<(f32, Chunk)> = chunks
            .iter()
            .map(|c| {
                let text = c.content_text().to_lowercase();
                (words.iter().filter(|w| text.contains(w.as_str())).count() as f32 / words.len().max(1) as f32, c.clone())
            })
            .filter(|(s, _)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.truncate(plan.max_chunks);
        Ok(QueryChunksResponse { scores: scored.iter().map(|s| s.0).collect(), chunks: scored.into_iter().map(|s| s.1).collect() })
    }
}

type ListFilesQuery2 = lls_api_vector_io::ListFilesQuery;

/// A provider over empty fakes with the stores `ids`.
pub fn provider(ids: &[&str]) -> (Arc<RagRuntime>, Arc<MemStores>, Arc<MemFiles>) {
    let files = Arc::new(MemFiles::default());
    let stores = Arc::new(MemStores {
        files: files.clone(),
        stores: Mutex::new(ids.iter().map(|id| ((*id).to_owned(), Vec::new())).collect()),
        strategies: Mutex::default(),
    });
    let rag = Arc::new(RagRuntime::new("rag-runtime", stores.clone(), files.clone()));
    (rag, stores, files)
}

/// Upcast for harnesses.
pub fn as_tool_runtime(rag: Arc<RagRuntime>) -> Arc<dyn ToolRuntimeProvider> {
    rag
}
