//! `RagRuntime`: the `builtin::rag` tools (`knowledge_search`, `insert_into_memory`) and the
//! RAG tool's insert (files API upload + static-chunked attach) and query (every store
//! searched at once, results formatted by `context`).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::try_join_all;
use lls_api_common::{BuildContext, Error, RequestContext, Result};
use lls_api_files::{FilePurpose, Files, UploadFile};
use lls_api_tool_runtime::{
    INSERT_INTO_MEMORY, InterleavedContent, KNOWLEDGE_SEARCH, McpEndpoint, QueryGeneratorConfig, RagInsertRequest,
    RagQueryConfig, RagQueryRequest, RagQueryResult, RagRanker, RagTool, ToolDef, ToolInvocationResult,
    ToolRuntimeProvider,
};
use lls_api_vector_io::{
    AttachFileRequest, ChunkingStrategy, FileStatus, QueryParams, StaticChunking, VectorStores,
    native::RankerParams,
};
use serde_json::{Map, Value, json};

use crate::RagRuntimeConfig;
use crate::context::{ChunkTemplate, ScoredChunk, format_results};
use crate::document::{content_as_str, raw_document};

/// Static chunking bounds of the vector stores API (`max_chunk_size_tokens`).
const CHUNK_SIZE_RANGE: std::ops::RangeInclusive<i64> = 100..=4096;

/// `inline::rag-runtime`.
pub struct RagRuntime {
    provider_id: String,
    vector_stores: Arc<dyn VectorStores>,
    files: Arc<dyn Files>,
}

impl std::fmt::Debug for RagRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RagRuntime").field("provider_id", &self.provider_id).finish_non_exhaustive()
    }
}

impl RagRuntime {
    pub fn new(provider_id: impl Into<String>, vector_stores: Arc<dyn VectorStores>, files: Arc<dyn Files>) -> Self {
        RagRuntime { provider_id: provider_id.into(), vector_stores, files }
    }

    /// The registry's build function: the vector stores service and the files API.
    pub async fn build(ctx: BuildContext, _config: RagRuntimeConfig) -> Result<Arc<dyn ToolRuntimeProvider>> {
        let missing = |what: &str| {
            Error::invalid(format!(
                "provider '{}' (inline::rag-runtime) needs a {what} provider in run.yaml",
                ctx.provider_id
            ))
        };
        let vector_stores = ctx.deps.get::<lls_api_vector_io::VectorIoApi>().ok_or_else(|| missing("vector_io"))?;
        let files = ctx.deps.get::<lls_api_files::FilesApi>().ok_or_else(|| missing("files"))?;
        Ok(Arc::new(RagRuntime::new(ctx.provider_id.clone(), vector_stores, files)))
    }

    /// The tools of `builtin::rag`, as 0.3.5 lists them.
    pub fn tools(tool_group_id: Option<&str>) -> Vec<ToolDef> {
        let mut insert = ToolDef::named(INSERT_INTO_MEMORY);
        insert.description = Some("Insert documents into memory".into());
        let mut search = ToolDef::named(KNOWLEDGE_SEARCH);
        search.description = Some("Search for information in a database.".into());
        search.input_schema = json!({
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "description": "The query to search for. Can be a natural language sentence or keywords.",
                }
            },
            "required": ["query"],
        })
        .as_object()
        .cloned();
        let mut tools = vec![insert, search];
        for t in &mut tools {
            t.toolgroup_id = tool_group_id.map(str::to_owned);
        }
        tools
    }

    /// The query text: 0.3.5's default generator joins the content's parts with `separator`.
    fn query_text(content: &InterleavedContent, generator: &QueryGeneratorConfig) -> Result<String> {
        let text = match (generator, content) {
            (QueryGeneratorConfig::Default { separator }, InterleavedContent::Items(items)) => items
                .iter()
                .map(|i| content_as_str(&InterleavedContent::Item(i.clone())))
                .collect::<Vec<_>>()
                .join(separator),
            (QueryGeneratorConfig::Default { .. }, other) => content_as_str(other),
            (QueryGeneratorConfig::Llm { .. }, _) => {
                return Err(Error::unsupported(
                    "query_config.query_generator_config: type 'llm' is not supported by this server; use type 'default'",
                )
                .with_param("query_config.query_generator_config"));
            }
        };
        if text.trim().is_empty() {
            return Err(Error::invalid("the query must contain text").with_param("content"));
        }
        Ok(text)
    }

    fn query_params(config: &RagQueryConfig) -> QueryParams {
        let ranker = config.ranker.map(|r| match r {
            RagRanker::Rrf { impact_factor } => RankerParams {
                strategy: Some("rrf".into()),
                params: json!({ "k": impact_factor }).as_object().cloned(),
            },
            RagRanker::Weighted { alpha } => RankerParams {
                strategy: Some("weighted".into()),
                params: json!({ "alpha": alpha }).as_object().cloned(),
            },
        });
        QueryParams {
            max_chunks: Some(config.max_chunks),
            mode: config.mode.map(|m| m.as_str().to_owned()),
            score_threshold: Some(0.0),
            ranker,
            extra: Map::new(),
        }
    }

    /// `knowledge_search` as a tool: `query`, the stores (`vector_db_ids` or
    /// `vector_store_ids`) and an optional `query_config`.
    async fn knowledge_search(&self, ctx: &RequestContext, mut kwargs: Map<String, Value>) -> Result<ToolInvocationResult> {
        let bad = |m: String| Error::invalid(format!("knowledge_search: {m}"));
        let content: InterleavedContent = match kwargs.remove("query") {
            Some(q) => serde_json::from_value(q).map_err(|e| bad(format!("'query' must be text ({e})")))?,
            None => return Err(bad("the 'query' argument is required".into()).with_param("query")),
        };
        let ids = kwargs.remove("vector_db_ids").or_else(|| kwargs.remove("vector_store_ids")).unwrap_or(Value::Array(Vec::new()));
        let vector_db_ids: Vec<String> =
            serde_json::from_value(ids).map_err(|e| bad(format!("'vector_db_ids' must be a list of ids ({e})")))?;
        let query_config = match kwargs.remove("query_config") {
            None | Some(Value::Null) => None,
            Some(c) => Some(serde_json::from_value(c).map_err(|e| bad(format!("invalid 'query_config': {e}")))?),
        };
        let result = self.query(ctx, RagQueryRequest { content, vector_db_ids, query_config }).await?;
        let mut metadata = result.metadata;
        metadata.insert("citation_files".into(), Value::Null);
        Ok(ToolInvocationResult {
            content: Some(result.content.unwrap_or(InterleavedContent::Items(Vec::new()))),
            error_message: None,
            error_code: None,
            metadata: Some(metadata),
        })
    }

    /// `insert_into_memory` as a tool: the arguments of `rag-tool/insert`.
    async fn insert_into_memory(&self, ctx: &RequestContext, kwargs: Map<String, Value>) -> Result<ToolInvocationResult> {
        let request: RagInsertRequest = serde_json::from_value(Value::Object(kwargs))
            .map_err(|e| Error::invalid(format!("insert_into_memory: {e}")))?;
        let count = request.documents.len();
        self.insert(ctx, request).await?;
        Ok(ToolInvocationResult {
            content: Some(InterleavedContent::Text(format!("Inserted {count} documents"))),
            ..Default::default()
        })
    }
}

#[async_trait]
impl RagTool for RagRuntime {
    async fn insert(&self, ctx: &RequestContext, request: RagInsertRequest) -> Result<()> {
        if request.documents.is_empty() {
            return Ok(());
        }
        let size = request.chunk_size_in_tokens;
        if !CHUNK_SIZE_RANGE.contains(&size) {
            return Err(Error::invalid(format!(
                "chunk_size_in_tokens must be between {} and {} (got {size})",
                CHUNK_SIZE_RANGE.start(),
                CHUNK_SIZE_RANGE.end()
            ))
            .with_param("chunk_size_in_tokens"));
        }
        // Every document is read before anything is stored, so a bad one stores nothing.
        let raw = request.documents.iter().map(raw_document).collect::<Result<Vec<_>>>()?;
        self.vector_stores.retrieve_vector_store(ctx, &request.vector_db_id).await?;
        let size = size as usize;
        let chunking = ChunkingStrategy::Static { config: StaticChunking { max_chunk_size_tokens: size, chunk_overlap_tokens: size / 4 } };
        for (doc, raw) in request.documents.into_iter().zip(raw) {
            let upload = UploadFile {
                filename: raw.filename,
                content_type: Some(raw.mime_type),
                content: Bytes::from(raw.bytes),
                purpose: FilePurpose::Assistants,
                expires_after: None,
            };
            let file = self.files.upload(ctx, upload).await?;
            let attach = AttachFileRequest {
                file_id: file.id.clone(),
                attributes: Some(doc.metadata),
                chunking_strategy: Some(chunking),
                extra: Map::new(),
            };
            let attached = self.vector_stores.attach_file(ctx, &request.vector_db_id, attach).await?;
            if attached.status == FileStatus::Failed {
                // As 0.3.5: a document that cannot be ingested is logged and skipped.
                tracing::warn!(
                    document_id = %doc.document_id,
                    file_id = %file.id,
                    error = ?attached.last_error,
                    "rag-tool insert: the document could not be ingested"
                );
            }
        }
        Ok(())
    }

    async fn query(&self, ctx: &RequestContext, request: RagQueryRequest) -> Result<RagQueryResult> {
        if request.vector_db_ids.is_empty() {
            return Err(Error::invalid(
                "No vector DBs were provided to the knowledge search tool. Please provide at least one vector DB ID.",
            )
            .with_param("vector_db_ids"));
        }
        let config = request.query_config.unwrap_or_default();
        config.validate()?;
        let template = ChunkTemplate::parse(&config.chunk_template)?;
        let query = Self::query_text(&request.content, &config.query_generator_config)?;
        let params = Self::query_params(&config);
        let query_value = Value::String(query);
        let searches = request.vector_db_ids.iter().map(|id| {
            let params = params.clone();
            let query_value = &query_value;
            async move { self.vector_stores.query_chunks(ctx, id, query_value, params).await.map(|r| (id, r)) }
        });
        let mut hits = Vec::new();
        for (id, found) in try_join_all(searches).await? {
            for (chunk, score) in found.chunks.into_iter().zip(found.scores) {
                hits.push(ScoredChunk { chunk, score, vector_db_id: id.clone() });
            }
        }
        Ok(format_results(hits, &config, &template, &content_as_str(&request.content)))
    }
}

#[async_trait]
impl ToolRuntimeProvider for RagRuntime {
    async fn list_runtime_tools(
        &self,
        _ctx: &RequestContext,
        tool_group_id: Option<&str>,
        _mcp_endpoint: Option<&McpEndpoint>,
    ) -> Result<Vec<ToolDef>> {
        Ok(Self::tools(tool_group_id))
    }

    async fn invoke_tool(&self, ctx: &RequestContext, tool: &ToolDef, kwargs: Map<String, Value>) -> Result<ToolInvocationResult> {
        match tool.name.as_str() {
            KNOWLEDGE_SEARCH => self.knowledge_search(ctx, kwargs).await,
            INSERT_INTO_MEMORY => self.insert_into_memory(ctx, kwargs).await,
            other => Err(Error::not_found(format!(
                "Tool '{other}' is not served by {} (it serves {KNOWLEDGE_SEARCH} and {INSERT_INTO_MEMORY})",
                self.provider_id
            ))),
        }
    }

    fn rag_tool(&self) -> Option<&dyn RagTool> {
        Some(self)
    }
}
