//! The checks behind every API's `limits` module: ids, list lengths and key-value maps, each
//! refused with a 400 that names the field. The numbers live in each API crate's `limits.rs`.

use serde_json::{Map, Value};

use crate::{Error, Result};

/// Ids stored under a client's choice (models, tool groups, attached files) are at most this
/// long; ids we mint are far shorter. OpenAI documents no limit; its own ids are under 64.
pub const MAX_ID_CHARS: usize = 256;

fn too_long(field: &str, what: &str, max: usize, got: usize) -> Error {
    Error::invalid(format!(
        "'{field}' must be at most {max} {what} long (got {got})"
    ))
    .with_param(field.to_owned())
}

/// `value`'s length in characters, counting no further than `max + 1` (cheap on huge input).
fn chars_up_to(value: &str, max: usize) -> usize {
    if value.len() <= max {
        value.chars().count()
    } else {
        value.chars().take(max + 1).count()
    }
}

/// A client-chosen id: not empty (nor only whitespace) and at most `max_chars` characters.
pub fn check_id(field: &str, value: &str, max_chars: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(
            Error::invalid(format!("'{field}' must not be empty")).with_param(field.to_owned())
        );
    }
    check_chars(field, value, max_chars)
}

/// A string of at most `max_chars` characters.
pub fn check_chars(field: &str, value: &str, max_chars: usize) -> Result<()> {
    if chars_up_to(value, max_chars) > max_chars {
        return Err(too_long(
            field,
            "characters",
            max_chars,
            value.chars().count(),
        ));
    }
    Ok(())
}

/// A list of at most `max` items.
pub fn check_len(field: &str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(Error::invalid(format!(
            "'{field}' must have at most {max} items (got {len})"
        ))
        .with_param(field.to_owned()));
    }
    Ok(())
}

/// Bounds of a key-value map such as OpenAI's `metadata` and `attributes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapLimits {
    pub max_keys: usize,
    pub max_key_chars: usize,
    /// Longest string value; a nested value (where allowed) is bounded by its JSON text.
    pub max_value_chars: usize,
    /// What the values may be.
    pub values: MapValues,
}

/// The values a bounded map may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapValues {
    /// Strings only (OpenAI's `metadata` of batches): anything else is a 400 with OpenAI's
    /// `invalid_type` code naming `field.key`.
    Strings,
    /// Strings, numbers and booleans (OpenAI's `attributes`).
    Scalars,
    /// Nested values too, as 0.3.5's `dict[str, Any]` metadata takes them.
    Any,
}

/// How OpenAI names a JSON value's type in its messages ("a string", "an array", …).
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A map within `limits`; errors name `field.key`.
pub fn check_map(field: &str, map: &Map<String, Value>, limits: &MapLimits) -> Result<()> {
    if map.len() > limits.max_keys {
        return Err(Error::invalid(format!(
            "'{field}' must have at most {} keys (got {})",
            limits.max_keys,
            map.len()
        ))
        .with_param(field.to_owned()));
    }
    for (key, value) in map {
        if chars_up_to(key, limits.max_key_chars) > limits.max_key_chars {
            return Err(Error::invalid(format!(
                "'{field}' keys must be at most {} characters long (got one of {})",
                limits.max_key_chars,
                key.chars().count()
            ))
            .with_param(field.to_owned()));
        }
        let name = format!("{field}.{key}");
        match value {
            Value::String(s) => check_chars(&name, s, limits.max_value_chars)?,
            other if limits.values == MapValues::Strings => {
                return Err(Error::invalid(format!(
                    "Invalid type for '{name}': expected a string, but got {} instead.",
                    type_name(other)
                ))
                .with_param(name)
                .with_code("invalid_type"));
            }
            Value::Number(_) | Value::Bool(_) => {}
            Value::Null | Value::Array(_) | Value::Object(_) if limits.values == MapValues::Scalars => {
                return Err(Error::invalid(format!(
                    "'{name}' must be a string, a number or a boolean"
                ))
                .with_param(field.to_owned()));
            }
            nested => {
                let text = serde_json::to_string(nested).unwrap_or_default();
                check_chars(&name, &text, limits.max_value_chars)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ErrorKind;

    const LIMITS: MapLimits = MapLimits {
        max_keys: 2,
        max_key_chars: 3,
        max_value_chars: 5,
        values: MapValues::Scalars,
    };

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn ids_are_non_empty_and_bounded() {
        assert!(check_id("model_id", "m", 3).is_ok());
        assert!(
            check_id("model_id", "ééé", 3).is_ok(),
            "characters, not bytes"
        );
        let e = check_id("model_id", " ", 3).unwrap_err();
        assert_eq!(
            (e.kind(), e.message(), e.param()),
            (
                ErrorKind::InvalidRequest,
                "'model_id' must not be empty",
                Some("model_id")
            )
        );
        let e = check_id("model_id", &"x".repeat(10_000_000), 256).unwrap_err();
        assert_eq!(
            e.message(),
            "'model_id' must be at most 256 characters long (got 10000000)"
        );
    }

    #[test]
    fn lists_are_bounded() {
        assert!(check_len("tools", 128, 128).is_ok());
        let e = check_len("tools", 129, 128).unwrap_err();
        assert_eq!(
            (e.message(), e.param()),
            (
                "'tools' must have at most 128 items (got 129)",
                Some("tools")
            )
        );
    }

    #[test]
    fn maps_are_bounded_by_keys_key_length_and_values() {
        assert!(check_map("attributes", &map(json!({"a": "12345", "b": 1.5})), &LIMITS).is_ok());
        let e =
            check_map("attributes", &map(json!({"a": 1, "b": 2, "c": 3})), &LIMITS).unwrap_err();
        assert_eq!(e.message(), "'attributes' must have at most 2 keys (got 3)");
        let e = check_map("attributes", &map(json!({"long": 1})), &LIMITS).unwrap_err();
        assert!(
            e.message().contains("keys must be at most 3 characters"),
            "{e}"
        );
        let e = check_map("attributes", &map(json!({"a": "123456"})), &LIMITS).unwrap_err();
        assert_eq!(
            e.message(),
            "'attributes.a' must be at most 5 characters long (got 6)"
        );
        let e = check_map("attributes", &map(json!({"a": [1]})), &LIMITS).unwrap_err();
        assert_eq!(
            e.message(),
            "'attributes.a' must be a string, a number or a boolean"
        );
        let nested = MapLimits {
            values: MapValues::Any,
            ..LIMITS
        };
        assert!(check_map("metadata", &map(json!({"a": [1]})), &nested).is_ok());
        assert!(check_map("metadata", &map(json!({"a": [1, 2, 3]})), &nested).is_err());
        let strings = MapLimits {
            values: MapValues::Strings,
            ..LIMITS
        };
        assert!(check_map("metadata", &map(json!({"a": "x"})), &strings).is_ok());
        let e = check_map("metadata", &map(json!({"a": 1})), &strings).unwrap_err();
        assert_eq!(
            (e.message(), e.param(), e.code()),
            (
                "Invalid type for 'metadata.a': expected a string, but got a number instead.",
                Some("metadata.a"),
                Some("invalid_type")
            )
        );
    }
}
