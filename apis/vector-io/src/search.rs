//! `POST /v1/vector_stores/{id}/search`: the request (with 0.3.5's `search_mode` and this
//! project's ranker extensions), its validation, and the results page.

use lls_api_common::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::filter::Filter;
use crate::ranking::Ranker;

/// Which index answers a search.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    #[default]
    Vector,
    Keyword,
    Hybrid,
}

impl SearchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Vector => "vector",
            SearchMode::Keyword => "keyword",
            SearchMode::Hybrid => "hybrid",
        }
    }

    /// Parses `search_mode` (or the native `params.mode`); `None` is `vector`.
    pub fn parse(value: Option<&str>, param: &str) -> Result<Self> {
        match value {
            None | Some("vector") => Ok(SearchMode::Vector),
            Some("keyword") => Ok(SearchMode::Keyword),
            Some("hybrid") => Ok(SearchMode::Hybrid),
            Some(other) => Err(Error::invalid(format!(
                "{param} must be one of 'vector', 'keyword', 'hybrid', got '{other}'"
            ))
            .with_param(param)),
        }
    }
}

/// `query`: one string, or several joined with spaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum SearchQuery {
    /// Not blank.
    One(#[schemars(pattern(lls_api_common::NOT_BLANK_PATTERN))] String),
    /// At least one of them not blank.
    Many(#[schemars(schema_with = "texts_not_all_blank")] Vec<String>),
}

fn texts_not_all_blank(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {"type": "string"},
        "contains": {"type": "string", "pattern": lls_api_common::NOT_BLANK_PATTERN}
    })
}

impl SearchQuery {
    pub fn joined(&self) -> String {
        match self {
            SearchQuery::One(s) => s.clone(),
            SearchQuery::Many(v) => v.join(" "),
        }
    }
}

/// `ranking_options`. `ranker` takes OpenAI's values (`auto`, `default-2024-11-15`, `none`:
/// reciprocal rank fusion for hybrid search) and this project's `rrf` (with `impact_factor`,
/// default 60) and `weighted` (with `alpha`, default 0.5: the weight of the vector score).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RankingOptions {
    #[serde(default)]
    pub ranker: Option<String>,
    #[serde(default)]
    pub score_threshold: Option<f64>,
    #[serde(default)]
    pub impact_factor: Option<f64>,
    #[serde(default)]
    pub alpha: Option<f64>,
}

impl RankingOptions {
    /// The hybrid ranker these options ask for.
    pub fn ranker(&self) -> Result<Ranker> {
        match self.ranker.as_deref() {
            None | Some("auto" | "default-2024-11-15" | "none" | "rrf") => {
                if self.alpha.is_some() {
                    return Err(Error::invalid("ranking_options.alpha applies only to ranker 'weighted'")
                        .with_param("ranking_options.alpha"));
                }
                rrf(self.impact_factor, "ranking_options.impact_factor")
            }
            Some("weighted") => {
                if self.impact_factor.is_some() {
                    return Err(Error::invalid("ranking_options.impact_factor applies only to ranker 'rrf'")
                        .with_param("ranking_options.impact_factor"));
                }
                weighted(self.alpha, "ranking_options.alpha")
            }
            Some(other) => Err(Error::invalid(format!(
                "ranking_options.ranker must be one of 'auto', 'default-2024-11-15', 'none', 'rrf', 'weighted', got '{other}'"
            ))
            .with_param("ranking_options.ranker")),
        }
    }
}

/// Reciprocal rank fusion with impact factor `k` (default 60; must be positive).
pub fn rrf(k: Option<f64>, param: &str) -> Result<Ranker> {
    let k = k.unwrap_or(Ranker::DEFAULT_RRF_K);
    if !(k.is_finite() && k > 0.0) {
        return Err(
            Error::invalid(format!("{param} must be a positive number, got {k}")).with_param(param),
        );
    }
    Ok(Ranker::Rrf { k })
}

/// A weighted sum with vector weight `alpha` in 0..=1 (default 0.5).
pub fn weighted(alpha: Option<f64>, param: &str) -> Result<Ranker> {
    let alpha = alpha.unwrap_or(Ranker::DEFAULT_ALPHA);
    if !(0.0..=1.0).contains(&alpha) {
        return Err(
            Error::invalid(format!("{param} must be between 0 and 1, got {alpha}"))
                .with_param(param),
        );
    }
    Ok(Ranker::Weighted { alpha })
}

/// The search request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchRequest {
    pub query: SearchQuery,
    /// OpenAI's attribute filter: `{type: eq|ne|gt|gte|lt|lte, key, value}` or
    /// `{type: and|or, filters: [...]}`.
    #[serde(default)]
    pub filters: Option<Value>,
    /// 1..=50, default 10.
    #[serde(default)]
    #[schemars(range(min = 1, max = SearchRequest::MAX_RESULTS))]
    pub max_num_results: Option<i64>,
    #[serde(default, deserialize_with = "lls_api_common::object_or_null")]
    pub ranking_options: Option<RankingOptions>,
    /// Accepted for OpenAI compatibility; queries are used as given (as in 0.3.5).
    #[serde(default)]
    pub rewrite_query: Option<bool>,
    #[serde(default)]
    #[schemars(with = "Option<SearchMode>")]
    pub search_mode: Option<String>,
}

/// A [`SearchRequest`] after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPlan {
    pub query: String,
    pub mode: SearchMode,
    pub max_num_results: usize,
    pub score_threshold: f32,
    pub ranker: Ranker,
    pub filter: Option<Filter>,
}

impl SearchRequest {
    pub const DEFAULT_MAX_RESULTS: usize = 10;
    pub const MAX_RESULTS: usize = 50;

    /// Checks every field, naming the first bad one.
    pub fn plan(&self) -> Result<SearchPlan> {
        let mode = SearchMode::parse(self.search_mode.as_deref(), "search_mode")?;
        let query = self.query.joined();
        if query.trim().is_empty() {
            return Err(Error::invalid("query must not be empty").with_param("query"));
        }
        let max_num_results = match self.max_num_results {
            None => Self::DEFAULT_MAX_RESULTS,
            Some(n) if (1..=Self::MAX_RESULTS as i64).contains(&n) => n as usize,
            Some(n) => {
                return Err(Error::invalid(format!(
                    "max_num_results must be between 1 and {} (got {n})",
                    Self::MAX_RESULTS
                ))
                .with_param("max_num_results"));
            }
        };
        let options = self.ranking_options.clone().unwrap_or_default();
        let score_threshold = options.score_threshold.unwrap_or(0.0);
        if !score_threshold.is_finite() {
            return Err(
                Error::invalid("ranking_options.score_threshold must be a finite number")
                    .with_param("ranking_options.score_threshold"),
            );
        }
        let ranker = options.ranker()?;
        let filter = self
            .filters
            .as_ref()
            .filter(|f| !f.is_null())
            .map(Filter::parse)
            .transpose()?;
        Ok(SearchPlan {
            query,
            mode,
            max_num_results,
            score_threshold: score_threshold as f32,
            ranker,
            filter,
        })
    }
}

/// One text item of a result or of a file's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VectorStoreContent {
    /// Always `"text"`.
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
}

impl VectorStoreContent {
    pub fn text(text: impl Into<String>) -> Self {
        VectorStoreContent {
            kind: "text".into(),
            text: text.into(),
        }
    }

    /// The text items of a chunk's `InterleavedContent` (other items are skipped).
    pub fn from_content(content: &Value) -> Vec<Self> {
        match content {
            Value::String(s) => vec![Self::text(s.clone())],
            Value::Array(items) => items.iter().flat_map(Self::from_content).collect(),
            Value::Object(item) => {
                match (item.get("type").and_then(Value::as_str), item.get("text")) {
                    (Some("text") | None, Some(Value::String(t))) => vec![Self::text(t.clone())],
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }
}

/// One search hit: the chunk's text with its file and all of its metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchResult {
    /// The chunk's `metadata.document_id` (the file id for attached files).
    pub file_id: String,
    pub filename: String,
    pub score: f64,
    pub attributes: Map<String, Value>,
    pub content: Vec<VectorStoreContent>,
}

/// The search answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchResultsPage {
    /// Always `"vector_store.search_results.page"`.
    pub object: String,
    pub search_query: String,
    pub data: Vec<SearchResult>,
    pub has_more: bool,
    pub next_page: Option<String>,
}

impl SearchResultsPage {
    pub fn new(search_query: String, data: Vec<SearchResult>) -> Self {
        SearchResultsPage {
            object: "vector_store.search_results.page".into(),
            search_query,
            data,
            has_more: false,
            next_page: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(v: Value) -> SearchRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_and_joined_queries() {
        let p = request(json!({"query": ["a", "b"]})).plan().unwrap();
        assert_eq!(p.query, "a b");
        assert_eq!(p.mode, SearchMode::Vector);
        assert_eq!(p.max_num_results, 10);
        assert_eq!(p.ranker, Ranker::Rrf { k: 60.0 });
        assert!(p.filter.is_none());
    }

    #[test]
    fn bad_fields_are_named() {
        let e = request(json!({"query": "q", "search_mode": "fuzzy"}))
            .plan()
            .unwrap_err();
        assert_eq!(e.param(), Some("search_mode"));
        let e = request(json!({"query": "q", "max_num_results": 51}))
            .plan()
            .unwrap_err();
        assert_eq!(e.param(), Some("max_num_results"));
        let e =
            request(json!({"query": "q", "ranking_options": {"ranker": "weighted", "alpha": 2}}))
                .plan()
                .unwrap_err();
        assert_eq!(e.param(), Some("ranking_options.alpha"));
        let e = request(json!({"query": "q", "ranking_options": {"ranker": "magic"}}))
            .plan()
            .unwrap_err();
        assert_eq!(e.param(), Some("ranking_options.ranker"));
        assert!(request(json!({"query": " "})).plan().is_err());
    }

    #[test]
    fn rankers_can_be_chosen() {
        let p =
            request(json!({"query": "q", "ranking_options": {"ranker": "weighted", "alpha": 0.7}}))
                .plan()
                .unwrap();
        assert_eq!(p.ranker, Ranker::Weighted { alpha: 0.7 });
        let p = request(
            json!({"query": "q", "ranking_options": {"ranker": "rrf", "impact_factor": 10}}),
        )
        .plan()
        .unwrap();
        assert_eq!(p.ranker, Ranker::Rrf { k: 10.0 });
    }

    #[test]
    fn content_keeps_text_items_only() {
        let c = VectorStoreContent::from_content(
            &json!([{"type": "text", "text": "a"}, {"type": "image"}, "b"]),
        );
        assert_eq!(
            c,
            vec![VectorStoreContent::text("a"), VectorStoreContent::text("b")]
        );
    }
}
