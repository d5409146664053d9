//! The OpenAPI document, derived from the route table so it cannot drift from what is served.
//! `cargo xtask codegen` writes it to `docs/openapi.json`; a test fails when that file is stale.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::RouteInfo;

/// The document for `routes`.
pub fn document(routes: &[RouteInfo]) -> Value {
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for r in routes {
        paths.entry(&r.path).or_default().insert(r.method.to_ascii_lowercase(), operation(r));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Llama Stack (llama-stack-rs)",
            "version": crate::API_VERSION,
            "description": "The Llama Stack 0.3.5 HTTP API as served by llama-stack-rs."
        },
        "servers": [{"url": "http://localhost:8321"}],
        "paths": paths,
        "components": {"schemas": {"Error": error_schema()}}
    })
}

fn operation(r: &RouteInfo) -> Value {
    let params: Vec<Value> = path_params(&r.path)
        .into_iter()
        .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    let error = json!({"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let ok = if r.method == "DELETE" && r.api != lls_api_common::Api::Inference {
        json!({"description": "Deleted"})
    } else {
        json!({"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}})
    };
    let mut op = json!({
        "operationId": if r.deprecated { format!("{}_deprecated", r.operation_id) } else { r.operation_id.to_owned() },
        "summary": r.summary,
        "tags": [r.api.as_str()],
        "parameters": params,
        "responses": {
            if r.method == "DELETE" && r.api != lls_api_common::Api::Inference { "204" } else { "200" }: ok,
            "400": error.clone(),
            "404": error.clone(),
            "500": error,
        }
    });
    if r.method == "POST" {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
    }
    if r.deprecated {
        op["deprecated"] = Value::Bool(true);
    }
    op
}

fn path_params(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect()
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type"],
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                    "code": {"type": ["string", "null"]}
                }
            },
            "detail": {"type": "string"}
        }
    })
}
