//! Deterministic JSON documents for a JSON Schema: the arguments of mock tool calls and the
//! content of mock structured outputs. One implementation, shared by the mock and the fake.

use serde_json::{Map, Value, json};

/// Which object properties to fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Properties {
    /// Only the `required` ones (tool-call arguments).
    Required,
    /// Every declared property (structured outputs).
    All,
}

/// Deeper schemas (or `$ref` cycles) end in `null` rather than recursing forever.
const MAX_DEPTH: usize = 32;

/// A document valid for `schema`: strings are `word`, numbers 1 (or the bound that excludes 1),
/// booleans true, enums their first item, arrays empty, objects filled per `properties`.
pub fn fill(schema: &Value, word: &str, properties: Properties) -> Value {
    Filler {
        root: schema,
        word,
        properties,
    }
    .fill(schema, 0)
}

struct Filler<'a> {
    root: &'a Value,
    word: &'a str,
    properties: Properties,
}

impl Filler<'_> {
    fn fill(&self, node: &Value, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            return match resolve(self.root, reference) {
                Some(target) => self.fill(target, depth + 1),
                None => Value::String(self.word.to_owned()),
            };
        }
        if let Some(c) = node.get("const") {
            return c.clone();
        }
        if let Some(first) = node
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return first.clone();
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(branches) = node.get(key).and_then(Value::as_array) {
                let branch = branches
                    .iter()
                    .find(|b| type_of(b) != Some("null"))
                    .or(branches.first());
                if let Some(b) = branch {
                    return self.fill(b, depth + 1);
                }
            }
        }
        match type_of(node).unwrap_or("string") {
            "number" => number(node, false),
            "integer" => number(node, true),
            "boolean" => Value::Bool(true),
            "array" => Value::Array(Vec::new()),
            "object" => self.object(node, depth),
            "null" => Value::Null,
            _ => self.string(node),
        }
    }

    fn object(&self, node: &Value, depth: usize) -> Value {
        let required: Vec<&str> = node
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (name, schema) in props {
                if self.properties == Properties::All || required.contains(&name.as_str()) {
                    out.insert(name.clone(), self.fill(schema, depth + 1));
                }
            }
        }
        // A required name without a declared schema still has to be present.
        for name in required {
            if !out.contains_key(name) {
                out.insert(name.to_owned(), Value::String(self.word.to_owned()));
            }
        }
        Value::Object(out)
    }

    fn string(&self, node: &Value) -> Value {
        let formatted = match node.get("format").and_then(Value::as_str) {
            Some("date-time") => "2024-01-01T00:00:00Z",
            Some("date") => "2024-01-01",
            Some("time") => "00:00:00",
            Some("email") => "user@example.com",
            Some("uri" | "url") => "https://example.com/",
            Some("uuid") => "00000000-0000-4000-8000-000000000000",
            _ => self.word,
        };
        Value::String(formatted.to_owned())
    }
}

/// The schema's type; a list of types counts as its first non-null member.
fn type_of(node: &Value) -> Option<&str> {
    match node.get("type") {
        Some(Value::String(t)) => Some(t),
        Some(Value::Array(ts)) => {
            let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
            names
                .iter()
                .find(|t| **t != "null")
                .or(names.first())
                .copied()
        }
        _ if node.get("properties").is_some() => Some("object"),
        _ if node.get("items").is_some() => Some("array"),
        _ => None,
    }
}

/// 1, unless the bounds exclude it.
fn number(node: &Value, integer: bool) -> Value {
    let min = node.get("minimum").and_then(Value::as_f64);
    let max = node.get("maximum").and_then(Value::as_f64);
    let v = match (min, max) {
        (Some(lo), _) if lo > 1.0 => lo,
        (_, Some(hi)) if hi < 1.0 => hi,
        _ => 1.0,
    };
    if integer {
        json!(v.ceil() as i64)
    } else {
        json!(v)
    }
}

/// `#/$defs/Name` and `#/definitions/Name` (any JSON pointer into the root, in fact).
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    reference
        .strip_prefix('#')
        .and_then(|pointer| root.pointer(pointer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_required_for_tools_and_all_for_outputs() {
        let schema = json!({
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
                "precise": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "extra": {"type": "object"}
            },
            "required": ["location", "unit"]
        });
        assert_eq!(
            fill(&schema, "Paris", Properties::Required),
            json!({"location": "Paris", "unit": "celsius"})
        );
        assert_eq!(
            fill(&schema, "Paris", Properties::All),
            json!({"location": "Paris", "unit": "celsius", "days": 1, "precise": true, "tags": [], "extra": {}})
        );
    }

    #[test]
    fn refs_unions_and_bounds() {
        let schema = json!({
            "$defs": {"Person": {"type": "object", "properties": {"age": {"type": "integer", "minimum": 18}}}},
            "type": "object",
            "properties": {
                "who": {"$ref": "#/$defs/Person"},
                "maybe": {"anyOf": [{"type": "null"}, {"type": "number"}]},
                "nullable": {"type": ["null", "string"]},
                "when": {"type": "string", "format": "date"},
                "fixed": {"const": 7}
            }
        });
        assert_eq!(
            fill(&schema, "w", Properties::All),
            json!({"who": {"age": 18}, "maybe": 1.0, "nullable": "w", "when": "2024-01-01", "fixed": 7})
        );
    }

    #[test]
    fn self_reference_terminates() {
        let schema =
            json!({"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]});
        let v = fill(&schema, "w", Properties::Required);
        assert!(v.get("next").is_some());
    }
}
