//! serde with paths, one piece at a time: each section, list item and backend is read on its own
//! so that one bad entry does not hide the next, and every error names where it is.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ConfigErrors;
use crate::scalar::kind;

/// Reads `value` as a `T`, recording any failure at `path` joined with serde's inner path.
pub(crate) fn at<T: DeserializeOwned>(
    value: Value,
    path: &str,
    errors: &mut ConfigErrors,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            let inner = error.path().to_string();
            errors.push(join(path, &inner), error.into_inner().to_string());
            None
        }
    }
}

/// Reads a list item by item (null is an empty list); items that fail are recorded and skipped.
pub(crate) fn list<T: DeserializeOwned>(
    value: Value,
    path: &str,
    errors: &mut ConfigErrors,
) -> Vec<T> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .filter_map(|(i, item)| at(item, &index(path, i), errors))
            .collect(),
        other => {
            errors.push(
                path,
                format!("invalid type: {}, expected a list", kind(&other)),
            );
            Vec::new()
        }
    }
}

/// Reads an object, or records that something else stands where it should be.
pub(crate) fn object(
    value: Value,
    path: &str,
    errors: &mut ConfigErrors,
) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        other => {
            errors.push(
                path,
                format!("invalid type: {}, expected a map", kind(&other)),
            );
            None
        }
    }
}

/// Removes `key` from `map`; a null value counts as absent, as an omitted key would.
pub(crate) fn take(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    // shift_remove keeps the other keys in file order; leftovers are reported as ignored keys.
    map.shift_remove(key).filter(|value| !value.is_null())
}

/// `base.key`, or `key` at the top.
pub(crate) fn child(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

pub(crate) fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// Joins an outer path with serde_path_to_error's rendering of an inner one ("." when empty).
fn join(outer: &str, inner: &str) -> String {
    if inner == "." || inner.is_empty() {
        outer.to_owned()
    } else if outer.is_empty() || inner.starts_with('[') {
        format!("{outer}{inner}")
    } else {
        format!("{outer}.{inner}")
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        tags: Vec<u8>,
    }

    #[test]
    fn errors_carry_outer_and_inner_path() {
        let mut errors = ConfigErrors::new();
        let items: Vec<Item> = list(
            json!([{ "name": "a", "tags": [1] }, { "name": "b", "tags": [1, "x"] }, { "tags": [] }]),
            "root.items",
            &mut errors,
        );
        assert_eq!(items.len(), 1);
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["root.items[1].tags[1]", "root.items[2]"]);
        assert!(errors.0[1].message.contains("missing field `name`"));
    }

    #[test]
    fn non_lists_and_non_maps_are_reported() {
        let mut errors = ConfigErrors::new();
        let items: Vec<Item> = list(json!("x"), "l", &mut errors);
        assert!(items.is_empty());
        assert!(object(json!(3), "o", &mut errors).is_none());
        assert_eq!(
            errors.to_string(),
            "l: invalid type: string, expected a list\no: invalid type: number, expected a map"
        );
    }

    #[test]
    fn paths_join_cleanly() {
        assert_eq!(join("a", "."), "a");
        assert_eq!(join("a", "[2].b"), "a[2].b");
        assert_eq!(join("a", "b"), "a.b");
        assert_eq!(join("", "b"), "b");
        assert_eq!(child("", "k"), "k");
        assert_eq!(child("a", "k"), "a.k");
    }
}
