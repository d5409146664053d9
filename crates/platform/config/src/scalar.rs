//! Deserializers for scalars that env coercion may have retyped: a password `${env.PW}` set to
//! `1234` arrives as an integer, a quoted port as a string. Both are accepted where that is safe.

use lls_api_common::Secret;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A string, or a number or boolean written out as text (`image_name: 42` is the name "42").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextLike(pub String);

impl<'de> Deserialize<'de> for TextLike {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(TextLike(s)),
            Value::Number(n) => Ok(TextLike(n.to_string())),
            Value::Bool(b) => Ok(TextLike(b.to_string())),
            other => Err(D::Error::custom(format!(
                "invalid type: {}, expected a string",
                kind(&other)
            ))),
        }
    }
}

pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    TextLike::deserialize(d).map(|t| t.0)
}

pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<TextLike>::deserialize(d).map(|t| t.map(|t| t.0))
}

pub(crate) fn opt_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Option::<TextLike>::deserialize(d).map(|t| t.map(|t| Secret::new(t.0)))
}

/// A TCP port: an integer, or a string holding one (pydantic's lax mode accepts both).
pub(crate) fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let value = Value::deserialize(d)?;
    let number = match &value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    number.and_then(|n| u16::try_from(n).ok()).ok_or_else(|| {
        D::Error::custom(format!(
            "invalid port {value}: expected an integer from 0 to 65535"
        ))
    })
}

/// An object, with null read as an empty one (`config:` left blank in YAML).
pub(crate) fn object_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Value::Object(Default::default())),
        object @ Value::Object(_) => Ok(object),
        other => Err(D::Error::custom(format!(
            "invalid type: {}, expected a map",
            kind(&other)
        ))),
    }
}

pub(crate) fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// How serde names a JSON value's type in its messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "sequence",
        Value::Object(_) => "map",
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[serde(deserialize_with = "text")]
        name: String,
        #[serde(default, deserialize_with = "opt_secret")]
        password: Option<Secret>,
        #[serde(deserialize_with = "port")]
        port: u16,
        #[serde(default = "empty_object", deserialize_with = "object_or_null")]
        config: Value,
    }

    fn sample(value: Value) -> Result<Sample, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn numbers_are_accepted_as_text() {
        let s = sample(json!({ "name": 42, "password": 1234, "port": "5432" })).unwrap();
        assert_eq!(s.name, "42");
        assert_eq!(s.password.unwrap().expose(), "1234");
        assert_eq!(s.port, 5432);
        assert_eq!(s.config, json!({}));
    }

    #[test]
    fn bad_scalars_are_rejected() {
        assert!(
            sample(json!({ "name": [1], "port": 1 }))
                .unwrap_err()
                .to_string()
                .contains("expected a string")
        );
        assert!(
            sample(json!({ "name": "n", "port": 70000 }))
                .unwrap_err()
                .to_string()
                .contains("invalid port 70000")
        );
        assert!(sample(json!({ "name": "n", "port": "x" })).is_err());
        let err = sample(json!({ "name": "n", "port": 1, "config": [] })).unwrap_err();
        assert!(err.to_string().contains("expected a map"), "{err}");
    }

    #[test]
    fn null_config_is_an_empty_object() {
        assert_eq!(
            sample(json!({ "name": "n", "port": 1, "config": null }))
                .unwrap()
                .config,
            json!({})
        );
    }
}
