//! Doubles of the APIs the agents provider calls besides inference, for its suite: a vector
//! stores service that searches a few in-memory documents by shared words, and a tool runtime
//! that defines `knowledge_search` and `web_search` as their 0.3.5 groups do and answers web
//! searches from a fixed page. Operations the agents provider never calls are refused.

use std::collections::HashSet;

use async_trait::async_trait;
use lls_api_common::{Error, RequestContext, Result};
use lls_api_tool_runtime::{
    InterleavedContent, McpEndpoint, ToolDef, ToolInvocationResult, ToolRuntime,
};
use lls_api_vector_io::chunk::{Chunk, QueryChunksResponse};
use lls_api_vector_io::file::{
    AttachFileRequest, CreateFileBatchRequest, ListFilesQuery, UpdateFileRequest,
    VectorStoreFileBatchObject, VectorStoreFileContents, VectorStoreFileDeleted,
    VectorStoreFileObject,
};
use lls_api_vector_io::native::QueryParams;
use lls_api_vector_io::store::{
    CreateVectorStoreRequest, ListPage, ListQuery, UpdateVectorStoreRequest, VectorStoreDeleted,
    VectorStoreObject,
};
use lls_api_vector_io::{
    SearchRequest, SearchResult, SearchResultsPage, VectorStoreContent, VectorStores,
};
use serde_json::{Map, Value, json};

/// One searchable document.
#[derive(Debug, Clone)]
pub struct Document {
    pub vector_store_id: String,
    pub file_id: String,
    pub filename: String,
    pub attributes: Map<String, Value>,
    pub text: String,
}

/// Vector stores holding [`Document`]s; search scores by the share of query words a document has.
#[derive(Debug, Default)]
pub struct SearchStores {
    pub documents: Vec<Document>,
}

fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(str::to_lowercase)
        .collect()
}

fn refused(what: &str) -> Error {
    Error::unsupported(format!(
        "the test double of the vector stores API does not {what}"
    ))
}

#[async_trait]
impl VectorStores for SearchStores {
    async fn create_vector_store(
        &self,
        _: &RequestContext,
        _: CreateVectorStoreRequest,
    ) -> Result<VectorStoreObject> {
        Err(refused("create stores"))
    }
    async fn list_vector_stores(
        &self,
        _: &RequestContext,
        _: ListQuery,
    ) -> Result<ListPage<VectorStoreObject>> {
        Err(refused("list stores"))
    }
    async fn retrieve_vector_store(
        &self,
        _: &RequestContext,
        _: &str,
    ) -> Result<VectorStoreObject> {
        Err(refused("retrieve stores"))
    }
    async fn update_vector_store(
        &self,
        _: &RequestContext,
        _: &str,
        _: UpdateVectorStoreRequest,
    ) -> Result<VectorStoreObject> {
        Err(refused("update stores"))
    }
    async fn delete_vector_store(&self, _: &RequestContext, _: &str) -> Result<VectorStoreDeleted> {
        Err(refused("delete stores"))
    }
    async fn search_vector_store(
        &self,
        _: &RequestContext,
        vector_store_id: &str,
        request: SearchRequest,
    ) -> Result<SearchResultsPage> {
        if !self
            .documents
            .iter()
            .any(|d| d.vector_store_id == vector_store_id)
        {
            return Err(Error::invalid(format!(
                "Vector store {vector_store_id} not found"
            )));
        }
        let query = request.query.joined();
        let wanted = words(&query);
        let mut hits: Vec<SearchResult> = self
            .documents
            .iter()
            .filter(|d| d.vector_store_id == vector_store_id)
            .filter_map(|d| {
                let shared = words(&d.text).intersection(&wanted).count();
                (shared > 0).then(|| SearchResult {
                    file_id: d.file_id.clone(),
                    filename: d.filename.clone(),
                    score: shared as f64 / wanted.len().max(1) as f64,
                    attributes: d.attributes.clone(),
                    content: vec![VectorStoreContent::text(d.text.clone())],
                })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(request.max_num_results.unwrap_or(10).max(1) as usize);
        Ok(SearchResultsPage::new(query, hits))
    }
    async fn attach_file(
        &self,
        _: &RequestContext,
        _: &str,
        _: AttachFileRequest,
    ) -> Result<VectorStoreFileObject> {
        Err(refused("attach files"))
    }
    async fn list_files(
        &self,
        _: &RequestContext,
        _: &str,
        _: ListFilesQuery,
    ) -> Result<ListPage<VectorStoreFileObject>> {
        Err(refused("list files"))
    }
    async fn retrieve_file(
        &self,
        _: &RequestContext,
        _: &str,
        _: &str,
    ) -> Result<VectorStoreFileObject> {
        Err(refused("retrieve files"))
    }
    async fn file_contents(
        &self,
        _: &RequestContext,
        _: &str,
        _: &str,
    ) -> Result<VectorStoreFileContents> {
        Err(refused("read files"))
    }
    async fn update_file(
        &self,
        _: &RequestContext,
        _: &str,
        _: &str,
        _: UpdateFileRequest,
    ) -> Result<VectorStoreFileObject> {
        Err(refused("update files"))
    }
    async fn delete_file(
        &self,
        _: &RequestContext,
        _: &str,
        _: &str,
    ) -> Result<VectorStoreFileDeleted> {
        Err(refused("delete files"))
    }
    async fn create_file_batch(
        &self,
        _: &RequestContext,
        _: &str,
        _: CreateFileBatchRequest,
    ) -> Result<VectorStoreFileBatchObject> {
        Err(refused("create batches"))
    }
    async fn retrieve_file_batch(
        &self,
        _: &RequestContext,
        _: &str,
        _: &str,
    ) -> Result<VectorStoreFileBatchObject> {
        Err(refused("retrieve batches"))
    }
    async fn list_files_in_batch(
        &self,
        _: &RequestContext,
        _: &str,
        _: &str,
        _: ListFilesQuery,
    ) -> Result<ListPage<VectorStoreFileObject>> {
        Err(refused("list batches"))
    }
    async fn cancel_file_batch(
        &self,
        _: &RequestContext,
        _: &str,
        _: &str,
    ) -> Result<VectorStoreFileBatchObject> {
        Err(refused("cancel batches"))
    }
    async fn insert_chunks(
        &self,
        _: &RequestContext,
        _: &str,
        _: Vec<Chunk>,
        _: Option<i64>,
    ) -> Result<()> {
        Err(refused("insert chunks"))
    }
    async fn query_chunks(
        &self,
        _: &RequestContext,
        _: &str,
        _: &Value,
        _: QueryParams,
    ) -> Result<QueryChunksResponse> {
        Err(refused("query chunks"))
    }
}

/// The page every web search of [`SearchTools`] finds.
pub const WEB_PAGE: &str = "Llamas are domesticated South American camelids.";

/// A tool runtime with `builtin::rag`'s `knowledge_search` and `builtin::websearch`'s
/// `web_search`; `web_search` answers with [`WEB_PAGE`] and the query.
#[derive(Debug, Default)]
pub struct SearchTools;

fn query_tool(name: &str, description: &str, group: &str) -> ToolDef {
    let mut def = ToolDef::named(name);
    def.toolgroup_id = Some(group.to_owned());
    def.description = Some(description.to_owned());
    def.input_schema = json!({"type": "object", "properties": {"query": {"type": "string", "description": "The query to search for"}}, "required": ["query"]})
        .as_object()
        .cloned();
    def
}

#[async_trait]
impl ToolRuntime for SearchTools {
    async fn list_runtime_tools(
        &self,
        _: &RequestContext,
        _: Option<&str>,
        _: Option<&McpEndpoint>,
    ) -> Result<Vec<ToolDef>> {
        Ok(vec![
            self.get_tool(&RequestContext::default(), "knowledge_search")
                .await?,
            self.get_tool(&RequestContext::default(), "web_search")
                .await?,
        ])
    }

    async fn invoke_tool(
        &self,
        _: &RequestContext,
        tool_name: &str,
        kwargs: Map<String, Value>,
    ) -> Result<ToolInvocationResult> {
        match tool_name {
            "web_search" => {
                let query = kwargs
                    .get("query")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let content = json!({"query": query, "top_k": [{"title": "Llama", "url": "https://example.com/llama", "content": WEB_PAGE}]});
                Ok(ToolInvocationResult {
                    content: Some(InterleavedContent::Text(content.to_string())),
                    ..ToolInvocationResult::default()
                })
            }
            other => Err(Error::not_found(format!("Tool '{other}' not found"))),
        }
    }

    async fn get_tool(&self, _: &RequestContext, tool_name: &str) -> Result<ToolDef> {
        match tool_name {
            "knowledge_search" => Ok(query_tool(
                "knowledge_search",
                "Search for information in a database.",
                "builtin::rag",
            )),
            "web_search" => Ok(query_tool(
                "web_search",
                "Search the web for information",
                "builtin::websearch",
            )),
            other => Err(Error::not_found(format!("Tool '{other}' not found"))),
        }
    }

    async fn list_mcp_tools(
        &self,
        _: &RequestContext,
        endpoint: &McpEndpoint,
    ) -> Result<Vec<ToolDef>> {
        Err(Error::invalid(format!(
            "this test double serves no MCP server ({})",
            endpoint.uri
        )))
    }

    async fn invoke_mcp_tool(
        &self,
        _: &RequestContext,
        endpoint: &McpEndpoint,
        _: &str,
        _: Map<String, Value>,
    ) -> Result<ToolInvocationResult> {
        Err(Error::invalid(format!(
            "this test double serves no MCP server ({})",
            endpoint.uri
        )))
    }
}
