//! OpenAI attribute filters → Milvus boolean expressions over the `metadata` JSON field.
//!
//! The expression is a pre-filter: every chunk the filter accepts also passes the expression,
//! so applying [`Filter::matches`] to what Milvus returns gives exactly the filter's answer.
//! Parts Milvus cannot evaluate with the same meaning are left out (an `and` keeps the parts it
//! can translate; an `or` with an untranslatable part is dropped whole): `ne` and `nin` (a
//! missing key never matches ours), string ordering, and values Milvus's parser would read
//! differently. `in` becomes a chain of `==` (Milvus Lite takes `in` only on plain fields).

use lls_api_vector_io::Filter;
use lls_api_vector_io::filter::Comparison;
use serde_json::Value;

/// The JSON field holding each chunk's metadata.
pub(crate) const METADATA_FIELD: &str = "metadata";

/// The expression for `filter`, or `None` when no part of it can be pushed down.
pub fn filter_expression(filter: &Filter) -> Option<String> {
    match filter {
        Filter::And(parts) => {
            let parts: Vec<String> = parts.iter().filter_map(filter_expression).collect();
            join(parts, " and ")
        }
        Filter::Or(parts) => {
            let parts: Option<Vec<String>> = parts.iter().map(filter_expression).collect();
            join(parts?, " or ")
        }
        Filter::Compare { op, key, value } => compare(*op, key, value),
    }
}

fn join(parts: Vec<String>, with: &str) -> Option<String> {
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next(),
        _ => Some(parts.iter().map(|p| format!("({p})")).collect::<Vec<_>>().join(with)),
    }
}

fn compare(op: Comparison, key: &str, value: &Value) -> Option<String> {
    let field = format!("{METADATA_FIELD}[{}]", quoted(key)?);
    let symbol = match op {
        Comparison::Eq => "==",
        Comparison::Gt => ">",
        Comparison::Gte => ">=",
        Comparison::Lt => "<",
        Comparison::Lte => "<=",
        Comparison::In => {
            let alternatives: Option<Vec<String>> =
                value.as_array()?.iter().map(|v| Some(format!("{field} == {}", literal(v)?))).collect();
            return join(alternatives?, " or ");
        }
        Comparison::Ne | Comparison::Nin => return None,
    };
    // Ordering is pushed down for numbers only: string order need not be byte order there.
    if symbol != "==" && !value.is_number() {
        return None;
    }
    Some(format!("{field} {symbol} {}", literal(value)?))
}

/// A literal Milvus reads back as `value`: strings double-quoted with `\` and `"` escaped,
/// finite numbers in plain decimal, booleans.
fn literal(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => quoted(s),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i.to_string())
            } else if let Some(u) = n.as_u64() {
                Some(u.to_string())
            } else {
                // Debug prints the shortest text that reads back the same, with an exponent only
                // for very large or small values, which are left to the post-filter.
                n.as_f64().filter(|f| f.is_finite()).map(|f| format!("{f:?}")).filter(|t| !t.contains('e'))
            }
        }
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// `"text"` with `\` and `"` escaped; `None` for control characters (left to the post-filter).
fn quoted(text: &str) -> Option<String> {
    if text.chars().any(char::is_control) {
        return None;
    }
    Some(format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expr(v: Value) -> Option<String> {
        filter_expression(&Filter::parse(&v).unwrap())
    }

    #[test]
    fn comparisons_become_json_field_expressions() {
        assert_eq!(expr(json!({"type": "eq", "key": "topic", "value": "ai"})).unwrap(), r#"metadata["topic"] == "ai""#);
        assert_eq!(expr(json!({"type": "gte", "key": "year", "value": 2024})).unwrap(), r#"metadata["year"] >= 2024"#);
        assert_eq!(expr(json!({"type": "lt", "key": "score", "value": 0.5})).unwrap(), r#"metadata["score"] < 0.5"#);
        assert_eq!(expr(json!({"type": "eq", "key": "draft", "value": false})).unwrap(), r#"metadata["draft"] == false"#);
        assert_eq!(
            expr(json!({"type": "in", "key": "t", "value": ["a", 2]})).unwrap(),
            r#"(metadata["t"] == "a") or (metadata["t"] == 2)"#
        );
        // The shorthand object is an `and` of equalities.
        assert_eq!(expr(json!({"a": 1})).unwrap(), r#"metadata["a"] == 1"#);
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(
            expr(json!({"type": "eq", "key": "we\"ird\\key", "value": "say \"hi\" \\o/"})).unwrap(),
            r#"metadata["we\"ird\\key"] == "say \"hi\" \\o/""#
        );
        assert_eq!(expr(json!({"type": "eq", "key": "k", "value": "line\nbreak"})), None);
    }

    #[test]
    fn what_cannot_keep_its_meaning_is_left_to_the_post_filter() {
        assert_eq!(expr(json!({"type": "ne", "key": "a", "value": 1})), None);
        assert_eq!(expr(json!({"type": "nin", "key": "a", "value": [1]})), None);
        assert_eq!(expr(json!({"type": "gt", "key": "a", "value": "b"})), None);
        assert_eq!(expr(json!({"type": "in", "key": "a", "value": []})), None);
        assert_eq!(expr(json!({"type": "eq", "key": "a", "value": 1e300})), None);
        // `and` keeps what it can (a weaker pre-filter); `or` needs every branch.
        let and = json!({"type": "and", "filters": [
            {"type": "eq", "key": "a", "value": 1}, {"type": "ne", "key": "b", "value": 2}, {"type": "lte", "key": "c", "value": 3}]});
        assert_eq!(expr(and).unwrap(), r#"(metadata["a"] == 1) and (metadata["c"] <= 3)"#);
        let or = json!({"type": "or", "filters": [{"type": "eq", "key": "a", "value": 1}, {"type": "ne", "key": "b", "value": 2}]});
        assert_eq!(expr(or), None);
        let nested = json!({"type": "or", "filters": [
            {"type": "eq", "key": "a", "value": 1},
            {"type": "and", "filters": [{"type": "eq", "key": "b", "value": "x"}, {"type": "gt", "key": "c", "value": 1.5}]}]});
        assert_eq!(
            expr(nested).unwrap(),
            r#"(metadata["a"] == 1) or ((metadata["b"] == "x") and (metadata["c"] > 1.5))"#
        );
    }
}
