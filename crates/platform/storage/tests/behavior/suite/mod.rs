//! The scenarios every backend must pass.

pub mod authorized;
pub mod kv;
pub mod queue;
pub mod sql;

use lls_api_common::store::Row;
use serde_json::Value;

/// A row from a `json!({...})` object literal.
pub fn row(value: Value) -> Row {
    value.as_object().cloned().expect("a JSON object")
}
