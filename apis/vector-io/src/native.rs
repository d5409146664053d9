//! The native vector_io routes of 0.3.5: `POST /v1/vector-io/insert` and
//! `POST /v1/vector-io/query`, with the validation of query `params`.

use lls_api_common::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chunk::{Chunk, content_text};
use crate::ranking::Ranker;
use crate::search::{SearchMode, rrf, weighted};

/// `POST /v1/vector-io/insert`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InsertChunksRequest {
    pub vector_db_id: String,
    pub chunks: Vec<Chunk>,
    /// Seconds after which the inserted chunks are removed again.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub ttl_seconds: Option<i64>,
}

/// `POST /v1/vector-io/query`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueryChunksRequest {
    pub vector_db_id: String,
    /// `InterleavedContent`; its text is the query.
    #[schemars(schema_with = "query_content_schema")]
    pub query: Value,
    #[serde(default)]
    pub params: Option<QueryParams>,
}

/// An `InterleavedContent` with some text ([`crate::content_text`] not blank): a string, a text
/// item, or a list that holds one (image items and the like may sit beside it).
fn query_content_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let text = serde_json::json!({"type": "string", "pattern": lls_api_common::NOT_BLANK_PATTERN});
    let text_item = serde_json::json!({
        "type": "object",
        "properties": {"type": {"const": "text"}, "text": text},
        "required": ["type", "text"]
    });
    schemars::json_schema!({
        "anyOf": [
            text,
            text_item,
            {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}, "contains": {"anyOf": [text, text_item]}}
        ]
    })
}

/// `params` of a native query: `max_chunks` (3), `mode` (`vector`), `score_threshold` (0.0) and
/// `ranker` `{strategy: rrf|weighted|normalized, params: {k} | {weights: [alpha, …]}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueryParams {
    #[serde(default)]
    #[schemars(range(min = 1, max = QueryParams::MAX_CHUNKS))]
    pub max_chunks: Option<i64>,
    #[serde(default)]
    #[schemars(with = "Option<SearchMode>")]
    pub mode: Option<String>,
    #[serde(default)]
    pub score_threshold: Option<f64>,
    #[serde(default)]
    pub ranker: Option<RankerParams>,
    /// Other keys are accepted and ignored, as 0.3.5 does.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RankerParams {
    #[serde(default)]
    pub strategy: Option<String>,
    #[serde(default)]
    pub params: Option<Map<String, Value>>,
}

/// A validated native query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlan {
    pub query: String,
    pub mode: SearchMode,
    pub max_chunks: usize,
    pub score_threshold: f32,
    pub ranker: Ranker,
}

impl QueryParams {
    pub const DEFAULT_MAX_CHUNKS: usize = 3;
    /// More than this is almost certainly a mistake (and would load a whole index).
    pub const MAX_CHUNKS: usize = 10_000;

    /// Validates the params for `query`.
    pub fn plan(&self, query: &Value) -> Result<QueryPlan> {
        let text = content_text(query);
        if text.trim().is_empty() {
            return Err(Error::invalid("query must contain text").with_param("query"));
        }
        let mode = SearchMode::parse(self.mode.as_deref(), "params.mode")?;
        let max_chunks = match self.max_chunks {
            None => Self::DEFAULT_MAX_CHUNKS,
            Some(n) if (1..=Self::MAX_CHUNKS as i64).contains(&n) => n as usize,
            Some(n) => {
                return Err(Error::invalid(format!(
                    "params.max_chunks must be between 1 and {} (got {n})",
                    Self::MAX_CHUNKS
                ))
                .with_param("params.max_chunks"));
            }
        };
        let score_threshold = self.score_threshold.unwrap_or(0.0);
        if !score_threshold.is_finite() {
            return Err(
                Error::invalid("params.score_threshold must be a finite number")
                    .with_param("params.score_threshold"),
            );
        }
        let ranker = self
            .ranker
            .as_ref()
            .map(RankerParams::ranker)
            .transpose()?
            .unwrap_or_default();
        Ok(QueryPlan {
            query: text,
            mode,
            max_chunks,
            score_threshold: score_threshold as f32,
            ranker,
        })
    }
}

impl RankerParams {
    /// `rrf` takes `params.k` (or `impact_factor`); `weighted` takes `params.weights[0]` (or
    /// `alpha`); `normalized` is an even weighting of min-max normalised scores.
    pub fn ranker(&self) -> Result<Ranker> {
        let params = self.params.clone().unwrap_or_default();
        let number = |key: &str| -> Result<Option<f64>> {
            match params.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_f64().map(Some).ok_or_else(|| {
                    Error::invalid(format!("params.ranker.params.{key} must be a number"))
                        .with_param(format!("params.ranker.params.{key}"))
                }),
            }
        };
        match self.strategy.as_deref() {
            None | Some("rrf") => {
                let k = match number("k")? {
                    Some(k) => Some(k),
                    None => number("impact_factor")?,
                };
                rrf(k, "params.ranker.params.k")
            }
            Some("weighted") => {
                let alpha = match params.get("weights") {
                    Some(Value::Array(w)) => match w.first() {
                        None => None,
                        Some(v) => Some(v.as_f64().ok_or_else(|| {
                            Error::invalid("params.ranker.params.weights must be numbers")
                                .with_param("params.ranker.params.weights")
                        })?),
                    },
                    Some(_) => {
                        return Err(Error::invalid("params.ranker.params.weights must be a list of numbers")
                            .with_param("params.ranker.params.weights"));
                    }
                    None => number("alpha")?,
                };
                weighted(alpha, "params.ranker.params.weights")
            }
            Some("normalized") => Ok(Ranker::Weighted { alpha: Ranker::DEFAULT_ALPHA }),
            Some(other) => Err(Error::invalid(format!(
                "params.ranker.strategy must be one of 'rrf', 'weighted', 'normalized', got '{other}'"
            ))
            .with_param("params.ranker.strategy")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> QueryParams {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_follow_upstream() {
        let p = QueryParams::default().plan(&json!("hello")).unwrap();
        assert_eq!(
            (p.max_chunks, p.mode, p.score_threshold, p.ranker),
            (3, SearchMode::Vector, 0.0, Ranker::Rrf { k: 60.0 })
        );
        let p = QueryParams::default()
            .plan(&json!([{"type": "text", "text": "a"}, "b"]))
            .unwrap();
        assert_eq!(p.query, "a b");
    }

    #[test]
    fn rankers_and_their_params() {
        let p = params(
            json!({"mode": "hybrid", "ranker": {"strategy": "weighted", "params": {"weights": [0.8, 0.2]}}}),
        );
        assert_eq!(
            p.plan(&json!("q")).unwrap().ranker,
            Ranker::Weighted { alpha: 0.8 }
        );
        let p = params(json!({"ranker": {"strategy": "rrf", "params": {"k": 10}}}));
        assert_eq!(p.plan(&json!("q")).unwrap().ranker, Ranker::Rrf { k: 10.0 });
        let p = params(json!({"ranker": {"strategy": "normalized"}}));
        assert_eq!(
            p.plan(&json!("q")).unwrap().ranker,
            Ranker::Weighted { alpha: 0.5 }
        );
    }

    #[test]
    fn bad_params_are_rejected() {
        assert!(
            params(json!({"mode": "semantic"}))
                .plan(&json!("q"))
                .is_err()
        );
        assert!(params(json!({"max_chunks": 0})).plan(&json!("q")).is_err());
        assert!(
            params(json!({"ranker": {"strategy": "weighted", "params": {"weights": [3]}}}))
                .plan(&json!("q"))
                .is_err()
        );
        assert!(
            params(json!({"ranker": {"strategy": "best"}}))
                .plan(&json!("q"))
                .is_err()
        );
        assert!(
            QueryParams::default()
                .plan(&json!({"type": "image"}))
                .is_err()
        );
    }
}
