//! OpenAI's attribute filters for vector store search: comparisons (`eq`, `ne`, `gt`, `gte`,
//! `lt`, `lte`, `in`, `nin`) and compounds (`and`, `or`), parsed with errors that name the bad
//! part, and matched against a chunk's metadata.

use std::cmp::Ordering;

use lls_api_common::{Error, Result};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    Nin,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        op: Comparison,
        key: String,
        value: Value,
    },
    And(Vec<Filter>),
    Or(Vec<Filter>),
}

const PARAM: &str = "filters";

impl Filter {
    /// Parses OpenAI's filter JSON. An object without `type` is read as shorthand for `eq` on
    /// each of its keys (`{"topic": "ai"}`), which 0.3.5's tests send.
    pub fn parse(value: &Value) -> Result<Filter> {
        Self::parse_at(value, PARAM)
    }

    fn parse_at(value: &Value, path: &str) -> Result<Filter> {
        let Value::Object(map) = value else {
            return Err(invalid(
                path,
                format!("a filter must be an object, got {value}"),
            ));
        };
        let Some(kind) = map.get("type") else {
            if map.is_empty() {
                return Err(invalid(path, "a filter must not be empty".into()));
            }
            let each = map
                .iter()
                .map(|(k, v)| Filter::Compare {
                    op: Comparison::Eq,
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect();
            return Ok(Filter::And(each));
        };
        let kind = kind
            .as_str()
            .ok_or_else(|| invalid(path, "'type' must be a string".into()))?;
        let op = match kind {
            "and" | "or" => {
                let Some(Value::Array(items)) = map.get("filters") else {
                    return Err(invalid(
                        path,
                        format!("a '{kind}' filter needs a 'filters' list"),
                    ));
                };
                let parts = items
                    .iter()
                    .enumerate()
                    .map(|(i, f)| Self::parse_at(f, &format!("{path}.filters[{i}]")))
                    .collect::<Result<Vec<_>>>()?;
                return Ok(if kind == "and" {
                    Filter::And(parts)
                } else {
                    Filter::Or(parts)
                });
            }
            "eq" => Comparison::Eq,
            "ne" => Comparison::Ne,
            "gt" => Comparison::Gt,
            "gte" => Comparison::Gte,
            "lt" => Comparison::Lt,
            "lte" => Comparison::Lte,
            "in" => Comparison::In,
            "nin" => Comparison::Nin,
            other => {
                return Err(invalid(
                    path,
                    format!(
                        "unsupported filter type '{other}': expected one of eq, ne, gt, gte, lt, lte, in, nin, and, or"
                    ),
                ));
            }
        };
        let key = map
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(path, format!("a '{kind}' filter needs a string 'key'")))?;
        let value = map
            .get("value")
            .ok_or_else(|| invalid(path, format!("a '{kind}' filter needs a 'value'")))?;
        match (op, value) {
            (Comparison::In | Comparison::Nin, Value::Array(_)) => {}
            (Comparison::In | Comparison::Nin, _) => {
                return Err(invalid(
                    path,
                    format!("an '{kind}' filter needs a list 'value'"),
                ));
            }
            (_, Value::String(_) | Value::Number(_) | Value::Bool(_)) => {}
            (_, other) => {
                return Err(invalid(
                    path,
                    format!("'value' must be a string, number or boolean, got {other}"),
                ));
            }
        }
        Ok(Filter::Compare {
            op,
            key: key.to_owned(),
            value: value.clone(),
        })
    }

    /// Whether `metadata` passes. A missing key never matches, whatever the comparison.
    pub fn matches(&self, metadata: &Map<String, Value>) -> bool {
        match self {
            Filter::And(parts) => parts.iter().all(|f| f.matches(metadata)),
            Filter::Or(parts) => parts.iter().any(|f| f.matches(metadata)),
            Filter::Compare { op, key, value } => {
                let Some(actual) = metadata.get(key) else {
                    return false;
                };
                match op {
                    Comparison::Eq => same(actual, value),
                    Comparison::Ne => !same(actual, value),
                    Comparison::In => value
                        .as_array()
                        .is_some_and(|vs| vs.iter().any(|v| same(actual, v))),
                    Comparison::Nin => value
                        .as_array()
                        .is_some_and(|vs| !vs.iter().any(|v| same(actual, v))),
                    Comparison::Gt => order(actual, value) == Some(Ordering::Greater),
                    Comparison::Gte => matches!(
                        order(actual, value),
                        Some(Ordering::Greater | Ordering::Equal)
                    ),
                    Comparison::Lt => order(actual, value) == Some(Ordering::Less),
                    Comparison::Lte => {
                        matches!(order(actual, value), Some(Ordering::Less | Ordering::Equal))
                    }
                }
            }
        }
    }
}

fn invalid(path: &str, message: String) -> Error {
    Error::invalid(format!("{path}: {message}")).with_param(path)
}

/// Equality with numbers compared by value (`1 == 1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Order of two numbers or two strings; other pairs do not compare (and so never match).
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn parse(v: Value) -> Filter {
        Filter::parse(&v).unwrap()
    }

    #[test]
    fn comparisons_match_like_openai() {
        let m = meta(json!({"topic": "ai", "year": 2024, "draft": false}));
        assert!(parse(json!({"type": "eq", "key": "topic", "value": "ai"})).matches(&m));
        assert!(parse(json!({"type": "ne", "key": "topic", "value": "ml"})).matches(&m));
        assert!(parse(json!({"type": "gt", "key": "year", "value": 2023})).matches(&m));
        assert!(parse(json!({"type": "lte", "key": "year", "value": 2024.0})).matches(&m));
        assert!(!parse(json!({"type": "lt", "key": "year", "value": "2025"})).matches(&m));
        assert!(parse(json!({"type": "eq", "key": "draft", "value": false})).matches(&m));
        assert!(parse(json!({"type": "in", "key": "topic", "value": ["ai", "ml"]})).matches(&m));
        assert!(!parse(json!({"type": "nin", "key": "topic", "value": ["ai"]})).matches(&m));
        assert!(!parse(json!({"type": "ne", "key": "missing", "value": 1})).matches(&m));
    }

    #[test]
    fn compounds_nest() {
        let m = meta(json!({"a": 1, "b": "x"}));
        let f = parse(json!({"type": "or", "filters": [
            {"type": "eq", "key": "a", "value": 2},
            {"type": "and", "filters": [{"type": "eq", "key": "a", "value": 1}, {"type": "eq", "key": "b", "value": "x"}]}
        ]}));
        assert!(f.matches(&m));
        assert!(
            !parse(json!({"type": "and", "filters": [{"type": "eq", "key": "a", "value": 2}]}))
                .matches(&m)
        );
    }

    #[test]
    fn shorthand_means_equality() {
        assert!(parse(json!({"topic": "ai"})).matches(&meta(json!({"topic": "ai"}))));
        assert!(!parse(json!({"topic": "ai"})).matches(&meta(json!({"topic": "ml"}))));
    }

    #[test]
    fn bad_filters_name_their_path() {
        let e = Filter::parse(
            &json!({"type": "and", "filters": [{"type": "near", "key": "a", "value": 1}]}),
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("filters.filters[0]"));
        assert!(Filter::parse(&json!({"type": "eq", "value": 1})).is_err());
        assert!(Filter::parse(&json!({"type": "eq", "key": "a", "value": {"x": 1}})).is_err());
        assert!(Filter::parse(&json!({"type": "in", "key": "a", "value": 1})).is_err());
        assert!(Filter::parse(&json!("eq")).is_err());
    }
}
