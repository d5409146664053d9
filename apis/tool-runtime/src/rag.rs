//! The legacy RAG tool of 0.3.5 (`/v1/tool-runtime/rag-tool/{insert,query}`): documents,
//! the query config with its defaults and checks, the result, and the [`RagTool`] trait the
//! provider serving `knowledge_search`/`insert_into_memory` implements.

use async_trait::async_trait;
use lls_api_common::{Error, RequestContext, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{InterleavedContent, McpEndpoint};

/// The tool that searches; `rag-tool/query` goes to the provider serving it.
pub const KNOWLEDGE_SEARCH: &str = "knowledge_search";
/// The tool that inserts; `rag-tool/insert` goes to the provider serving it.
pub const INSERT_INTO_MEMORY: &str = "insert_into_memory";

/// A document's content: 0.3.5's `InterleavedContent | URL` (a `data:` URL may also be given as
/// the text itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RagDocumentContent {
    Url(McpEndpoint),
    Content(InterleavedContent),
}

/// `RAGDocument`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RagDocument {
    pub document_id: String,
    pub content: RagDocumentContent,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// `POST /v1/tool-runtime/rag-tool/insert`. `vector_db_id` is 0.3.5's name; `vector_store_id`
/// (the later name) is accepted too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RagInsertRequest {
    pub documents: Vec<RagDocument>,
    #[serde(alias = "vector_store_id")]
    pub vector_db_id: String,
    #[serde(default = "default_chunk_size")]
    pub chunk_size_in_tokens: i64,
}

fn default_chunk_size() -> i64 {
    512
}

/// `POST /v1/tool-runtime/rag-tool/query`; `vector_store_ids` is accepted for `vector_db_ids`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RagQueryRequest {
    pub content: InterleavedContent,
    #[serde(alias = "vector_store_ids")]
    pub vector_db_ids: Vec<String>,
    #[serde(default)]
    pub query_config: Option<RagQueryConfig>,
}

/// `RAGQueryResult`: `content` is `null` when nothing was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, schemars::JsonSchema)]
pub struct RagQueryResult {
    #[serde(default)]
    pub content: Option<InterleavedContent>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// `RAGSearchMode`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RagSearchMode {
    #[default]
    Vector,
    Keyword,
    Hybrid,
}

impl RagSearchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RagSearchMode::Vector => "vector",
            RagSearchMode::Keyword => "keyword",
            RagSearchMode::Hybrid => "hybrid",
        }
    }
}

/// `Ranker`: reciprocal rank fusion or a weighted blend (hybrid mode only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum RagRanker {
    Rrf {
        #[serde(default = "default_impact_factor")]
        impact_factor: f64,
    },
    Weighted {
        #[serde(default = "default_alpha")]
        #[schemars(range(min = 0.0, max = 1.0))]
        alpha: f64,
    },
}

fn default_impact_factor() -> f64 {
    60.0
}

fn default_alpha() -> f64 {
    0.5
}

/// `RAGQueryGeneratorConfig`: how the query text is made from the content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum QueryGeneratorConfig {
    /// The content's text parts joined with `separator`.
    Default {
        #[serde(default = "default_separator")]
        separator: String,
    },
    /// A model rewrites the content into a query with a Jinja `template`.
    Llm { model: String, template: String },
}

fn default_separator() -> String {
    " ".into()
}

impl Default for QueryGeneratorConfig {
    fn default() -> Self {
        QueryGeneratorConfig::Default {
            separator: default_separator(),
        }
    }
}

/// The default `chunk_template`.
pub const DEFAULT_CHUNK_TEMPLATE: &str =
    "Result {index}\nContent: {chunk.content}\nMetadata: {metadata}\n";

/// `RAGQueryConfig`, with 0.3.5's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RagQueryConfig {
    #[serde(default)]
    pub query_generator_config: QueryGeneratorConfig,
    #[serde(default = "default_max_tokens")]
    #[schemars(range(min = 0))]
    pub max_tokens_in_context: i64,
    #[serde(default = "default_max_chunks")]
    #[schemars(range(min = 1))]
    pub max_chunks: i64,
    #[serde(default = "default_template")]
    pub chunk_template: String,
    #[serde(default = "default_mode")]
    pub mode: Option<RagSearchMode>,
    #[serde(default)]
    pub ranker: Option<RagRanker>,
}

fn default_max_tokens() -> i64 {
    4096
}

fn default_max_chunks() -> i64 {
    5
}

fn default_template() -> String {
    DEFAULT_CHUNK_TEMPLATE.into()
}

fn default_mode() -> Option<RagSearchMode> {
    Some(RagSearchMode::Vector)
}

impl Default for RagQueryConfig {
    fn default() -> Self {
        RagQueryConfig {
            query_generator_config: QueryGeneratorConfig::default(),
            max_tokens_in_context: default_max_tokens(),
            max_chunks: default_max_chunks(),
            chunk_template: default_template(),
            mode: default_mode(),
            ranker: None,
        }
    }
}

impl RagQueryConfig {
    /// 0.3.5's checks on `chunk_template`, plus bounds serde cannot express.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, message: &str| {
            Err(Error::invalid(format!("query_config.{field}: {message}"))
                .with_param(format!("query_config.{field}")))
        };
        if self.chunk_template.is_empty() {
            return bad("chunk_template", "must not be empty");
        }
        for needed in ["{chunk.content}", "{index}"] {
            if !self.chunk_template.contains(needed) {
                return bad("chunk_template", &format!("must contain {needed}"));
            }
        }
        if self.max_chunks < 1 {
            return bad("max_chunks", "must be at least 1");
        }
        if self.max_tokens_in_context < 0 {
            return bad("max_tokens_in_context", "must not be negative");
        }
        match self.ranker {
            Some(RagRanker::Rrf { impact_factor })
                if !(impact_factor > 0.0 && impact_factor.is_finite()) =>
            {
                bad("ranker.impact_factor", "must be greater than 0")
            }
            Some(RagRanker::Weighted { alpha }) if !(0.0..=1.0).contains(&alpha) => {
                bad("ranker.alpha", "must be between 0 and 1")
            }
            _ => Ok(()),
        }
    }
}

/// The RAG tool: what the provider of `knowledge_search` and `insert_into_memory` offers
/// besides running them as tools. The tool runtime router implements it too, forwarding to
/// that provider.
#[async_trait]
pub trait RagTool: Send + Sync {
    /// Uploads each document to the files API and attaches it to the vector store.
    async fn insert(&self, ctx: &RequestContext, request: RagInsertRequest) -> Result<()>;

    /// Searches the vector stores and formats the best chunks as model context.
    async fn query(&self, ctx: &RequestContext, request: RagQueryRequest)
    -> Result<RagQueryResult>;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn query_config_defaults_are_0_3_5s() {
        let c: RagQueryConfig = serde_json::from_value(json!({})).unwrap();
        assert_eq!(c, RagQueryConfig::default());
        assert_eq!(
            (c.max_chunks, c.max_tokens_in_context, c.mode),
            (5, 4096, Some(RagSearchMode::Vector))
        );
        c.validate().unwrap();
    }

    #[test]
    fn bad_query_configs_are_refused() {
        let parse = |v: Value| serde_json::from_value::<RagQueryConfig>(v).unwrap();
        let e = parse(json!({"chunk_template": "no index {chunk.content}"}))
            .validate()
            .unwrap_err();
        assert!(e.message().contains("{index}"), "{e}");
        assert!(parse(json!({"max_chunks": 0})).validate().is_err());
        assert!(
            parse(json!({"ranker": {"type": "weighted", "alpha": 2.0}}))
                .validate()
                .is_err()
        );
        assert!(serde_json::from_value::<RagQueryConfig>(json!({"mode": "fuzzy"})).is_err());
        assert!(
            serde_json::from_value::<RagQueryConfig>(json!({"ranker": {"type": "best"}})).is_err()
        );
    }

    #[test]
    fn requests_accept_both_store_id_names() {
        let q: RagQueryRequest =
            serde_json::from_value(json!({"content": "q", "vector_store_ids": ["vs"]})).unwrap();
        assert_eq!(q.vector_db_ids, ["vs"]);
        let i: RagInsertRequest = serde_json::from_value(json!({
            "documents": [{"document_id": "d", "content": {"uri": "data:text/plain,hi"}}],
            "vector_store_id": "vs",
        }))
        .unwrap();
        assert_eq!(
            (i.vector_db_id.as_str(), i.chunk_size_in_tokens),
            ("vs", 512)
        );
        assert!(matches!(i.documents[0].content, RagDocumentContent::Url(_)));
        let d: RagDocument = serde_json::from_value(
            json!({"document_id": "d", "content": {"type": "text", "text": "x"}}),
        )
        .unwrap();
        assert!(matches!(
            d.content,
            RagDocumentContent::Content(InterleavedContent::Item(_))
        ));
    }
}
