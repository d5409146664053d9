//! The OpenAPI 3.1 document, derived from the route table so it cannot drift from what is
//! served: each route's body, query, path parameters and answers come from the Rust types its
//! handler uses (schemars, which reads their serde attributes). Request schemas describe what
//! deserializing accepts and response schemas what serializing writes; a type whose two
//! shapes differ appears twice, the request one named `…Input`.
//! `cargo xtask codegen` writes the document to `docs/openapi.json`; a test fails when it is stale.

use std::collections::{BTreeMap, BTreeSet};

use lls_http::{PathParam, RequestBody, Response, RouteInfo};
use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// Where schemas of requests sit until they are merged with those of responses.
const REQUEST_DEFS: &str = "#/components/x-request-schemas/";
const SCHEMAS: &str = "#/components/schemas/";

/// The document for `routes`.
pub fn document(routes: &[RouteInfo]) -> Value {
    let mut requests = generator("/components/x-request-schemas", true);
    let mut responses = generator("/components/schemas", false);
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for r in routes {
        let op = operation(r, &mut requests, &mut responses);
        paths.entry(&r.path).or_default().insert(r.method.to_ascii_lowercase(), op);
    }
    let (mut schemas, renames) = merge(requests.take_definitions(true), responses.take_definitions(true));
    schemas.insert("Error".into(), error_schema());
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Llama Stack (llama-stack-rs)",
            "version": crate::API_VERSION,
            "description": "The Llama Stack 0.3.5 HTTP API as served by llama-stack-rs."
        },
        "servers": [{"url": "http://localhost:8321"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                "Error": {
                    "description": "An error: OpenAI's `error` object and a `detail` string.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                }
            }
        }
    });
    rewrite_refs(&mut doc, &renames);
    doc
}

/// A generator whose `$ref`s point at `path`; `deserialize` picks the contract.
fn generator(path: &'static str, deserialize: bool) -> SchemaGenerator {
    let settings = SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = path.into();
        s.meta_schema = None;
    });
    if deserialize { settings.for_deserialize() } else { settings.for_serialize() }.into_generator()
}

fn operation(r: &RouteInfo, requests: &mut SchemaGenerator, responses: &mut SchemaGenerator) -> Value {
    let mut parameters: Vec<Value> = r.path_params.iter().map(|p| path_parameter(p, requests)).collect();
    if let Some(query) = r.query {
        parameters.extend(query_parameters(query(requests)));
    }
    let mut answers = Map::new();
    for (status, content) in grouped(&r.responses, responses) {
        let description = if status == 204 { "No content" } else { "OK" };
        let mut answer = json!({ "description": description });
        if !content.is_empty() {
            answer["content"] = Value::Object(content);
        }
        answers.insert(status.to_string(), answer);
    }
    answers.insert("4XX".into(), json!({"$ref": "#/components/responses/Error"}));
    answers.insert("5XX".into(), json!({"$ref": "#/components/responses/Error"}));
    let mut op = json!({
        "operationId": if r.deprecated { format!("{}_deprecated", r.operation_id) } else { r.operation_id.to_owned() },
        "summary": r.summary,
        "tags": [r.api.as_str()],
        "parameters": parameters,
        "responses": answers,
    });
    if let Some(body) = r.body {
        op["requestBody"] = request_body(body, requests);
    }
    if r.deprecated {
        op["deprecated"] = Value::Bool(true);
    }
    op
}

/// The answers by status, each with its media types.
fn grouped(answers: &[Response], generator: &mut SchemaGenerator) -> BTreeMap<u16, Map<String, Value>> {
    let mut by_status: BTreeMap<u16, Map<String, Value>> = BTreeMap::new();
    for answer in answers {
        let content = by_status.entry(answer.status()).or_default();
        match answer {
            Response::Json(schema) => {
                content.insert("application/json".into(), json!({ "schema": schema(generator) }));
            }
            Response::EventStream(schema) => {
                content.insert("text/event-stream".into(), json!({ "schema": event_schema(schema(generator)) }));
            }
            Response::Bytes => {
                content.insert("*/*".into(), json!({ "schema": {"type": "string", "contentMediaType": "application/octet-stream"} }));
            }
            Response::NoContent => {}
        }
    }
    by_status
}

/// One server-sent event of a stream whose `data` is JSON of `item` (as OpenAPI 3.2's `itemSchema`
/// for `text/event-stream` describes events; before 3.2, `schema` describes each event).
fn event_schema(item: Schema) -> Value {
    json!({
        "type": "object",
        "description": "One server-sent event, when the request sets `stream: true`. `data` is one JSON chunk; the stream ends with `data: [DONE]`, or, when it fails midway, with one event whose data is an `Error`.",
        "properties": {
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": {"anyOf": [item, {"$ref": "#/components/schemas/Error"}]}
            },
            "event": {"type": "string"},
            "id": {"type": "string"},
            "retry": {"type": "integer", "minimum": 0}
        },
        "required": ["data"]
    })
}

fn request_body(body: RequestBody, generator: &mut SchemaGenerator) -> Value {
    match body {
        RequestBody::Json(schema) => json!({
            "required": true,
            "content": {"application/json": {"schema": schema(generator)}}
        }),
        RequestBody::Multipart(schema) => {
            let schema = schema(generator);
            parts_without_null(&schema, generator);
            // Object-valued parts (e.g. `expires_after`) are JSON text.
            let encoding: Map<String, Value> = definition_of(&schema, generator)
                .and_then(|s| s.get("properties").and_then(Value::as_object).cloned())
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, p)| is_object_schema(p, generator))
                .map(|(name, _)| (name, json!({"contentType": "application/json"})))
                .collect();
            let mut media = json!({ "schema": schema });
            if !encoding.is_empty() {
                media["encoding"] = Value::Object(encoding);
            }
            json!({ "required": true, "content": {"multipart/form-data": media} })
        }
    }
}

/// A form cannot say `null`: an optional part is simply absent, so the parts of the form's
/// definition drop their `null` alternative (as query parameters do).
fn parts_without_null(schema: &Schema, generator: &mut SchemaGenerator) {
    let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()) else {
        return;
    };
    if let Some(properties) =
        generator.definitions_mut().get_mut(name).and_then(|d| d.get_mut("properties")).and_then(Value::as_object_mut)
    {
        for property in properties.values_mut() {
            *property = without_null(property.take());
        }
    }
}

/// The schema a `$ref` (into the generator's definitions) points at, or the schema itself.
fn definition_of(schema: &Schema, generator: &SchemaGenerator) -> Option<Value> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => generator.definitions().get(r.rsplit('/').next()?).cloned(),
        None => Some(schema.as_value().clone()),
    }
}

/// Whether a property holds an object (directly, through a `$ref`, or as an optional one).
fn is_object_schema(schema: &Value, generator: &SchemaGenerator) -> bool {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or_default();
        return generator.definitions().get(name).is_some_and(|d| is_object_schema(d, generator));
    }
    if schema.get("type").and_then(Value::as_str) == Some("object") {
        return true;
    }
    ["anyOf", "oneOf"].iter().any(|k| {
        schema.get(*k).and_then(Value::as_array).is_some_and(|alts| alts.iter().any(|a| is_object_schema(a, generator)))
    })
}

fn path_parameter(p: &PathParam, generator: &mut SchemaGenerator) -> Value {
    let mut param = json!({"name": p.name, "in": "path", "required": true, "schema": (p.schema)(generator)});
    if p.greedy {
        param["description"] = Value::from("The rest of the path: the id may contain `/`.");
    }
    param
}

/// One `in: query` parameter per property of the query type's object schema. A query string
/// cannot say `null`, so an optional parameter is simply absent.
fn query_parameters(schema: Schema) -> Vec<Value> {
    let required: BTreeSet<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let mut property = without_null(property.clone());
            let description = property.as_object_mut().and_then(|p| p.remove("description"));
            let mut param = json!({
                "name": name,
                "in": "query",
                "required": required.contains(name.as_str()),
                "schema": property,
            });
            if let Some(d) = description {
                param["description"] = d;
            }
            param
        })
        .collect()
}

/// `schema` without its `null` alternative (`type: [T, "null"]` or `anyOf: [.., {type: null}]`).
fn without_null(mut schema: Value) -> Value {
    if let Some(types) = schema.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            schema["type"] = types[0].clone();
        }
    }
    let any_of = schema.get_mut("anyOf").and_then(Value::as_array_mut).map(|alts| {
        alts.retain(|a| a.get("type").and_then(Value::as_str) != Some("null"));
        alts.clone()
    });
    if let Some(alts) = any_of
        && alts.len() == 1
        && let Some(obj) = schema.as_object_mut()
    {
        obj.remove("anyOf");
        if let Value::Object(only) = &alts[0] {
            obj.extend(only.clone());
        }
    }
    if let Some(values) = schema.get_mut("enum").and_then(Value::as_array_mut) {
        values.retain(|v| !v.is_null());
    }
    if schema.get("default").is_some_and(Value::is_null)
        && let Some(obj) = schema.as_object_mut()
    {
        obj.remove("default");
    }
    schema
}

/// Merges request and response definitions into one `components.schemas`. A request schema
/// equal to the response one of the same name (once its own references are merged) is shared;
/// otherwise it is kept as `<name>Input`. Returns the schemas and each request name's final name.
fn merge(requests: Map<String, Value>, responses: Map<String, Value>) -> (BTreeMap<String, Value>, BTreeMap<String, String>) {
    let mut renamed: BTreeSet<String> = BTreeSet::new();
    let final_names = |renamed: &BTreeSet<String>| -> BTreeMap<String, String> {
        requests.keys().map(|n| (n.clone(), if renamed.contains(n) { input_name(n, &requests, &responses) } else { n.clone() })).collect()
    };
    // Renaming one schema can make another differ (it refers to the renamed one): repeat until stable.
    loop {
        let names = final_names(&renamed);
        let before = renamed.len();
        for (name, schema) in &requests {
            if renamed.contains(name) {
                continue;
            }
            let Some(other) = responses.get(name) else { continue };
            let mut schema = schema.clone();
            rewrite_refs(&mut schema, &names);
            if &schema != other {
                renamed.insert(name.clone());
            }
        }
        if renamed.len() == before {
            break;
        }
    }
    let names = final_names(&renamed);
    let mut schemas: BTreeMap<String, Value> = responses.into_iter().collect();
    for (name, schema) in requests {
        schemas.entry(names[&name].clone()).or_insert(schema);
    }
    (schemas, names)
}

/// `<name>Input`, or with a number when a type of that name exists.
fn input_name(name: &str, requests: &Map<String, Value>, responses: &Map<String, Value>) -> String {
    let taken = |n: &str| requests.contains_key(n) || responses.contains_key(n);
    let base = format!("{name}Input");
    (1..).map(|i| if i == 1 { base.clone() } else { format!("{base}{i}") }).find(|n| !taken(n)).unwrap_or(base)
}

/// Points references to request definitions at their final names in `components.schemas`.
fn rewrite_refs(value: &mut Value, names: &BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(name) = r.strip_prefix(REQUEST_DEFS)
            {
                let decoded = name.replace("~1", "/").replace("~0", "~");
                let target = names.get(&decoded).cloned().unwrap_or(decoded);
                *r = format!("{SCHEMAS}{}", target.replace('~', "~0").replace('/', "~1"));
            }
            map.values_mut().for_each(|v| rewrite_refs(v, names));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, names)),
        _ => {}
    }
}

/// The body of every error (`lls_http::error_body`), also the last event of a failed stream.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "description": "OpenAI's error object (read by the `openai` SDKs) and a `detail` string (read by `llama-stack-client`).",
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn request_schemas_that_differ_are_kept_as_input_and_references_follow() {
        let requests = map(json!({
            "Same": {"type": "string"},
            "Differs": {"type": "object", "properties": {"a": {"type": "string"}}},
            "Holder": {"type": "object", "properties": {"d": {"$ref": "#/components/x-request-schemas/Differs"}}},
            "OnlyIn": {"$ref": "#/components/x-request-schemas/Same"}
        }));
        let responses = map(json!({
            "Same": {"type": "string"},
            "Differs": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            "Holder": {"type": "object", "properties": {"d": {"$ref": "#/components/schemas/Differs"}}}
        }));
        let (schemas, names) = merge(requests, responses);
        assert_eq!(names["Same"], "Same");
        assert_eq!(names["Differs"], "DiffersInput");
        assert_eq!(names["Holder"], "HolderInput", "it refers to a renamed schema");
        let mut holder = schemas["HolderInput"].clone();
        rewrite_refs(&mut holder, &names);
        assert_eq!(holder["properties"]["d"]["$ref"], "#/components/schemas/DiffersInput");
        assert!(schemas.contains_key("OnlyIn") && schemas.contains_key("Differs"));
    }

    #[test]
    fn query_parameters_drop_null() {
        let schema: Schema = json!({
            "type": "object",
            "properties": {
                "limit": {"type": ["integer", "null"], "default": null, "description": "How many."},
                "order": {"anyOf": [{"$ref": "#/x/Order"}, {"type": "null"}]}
            },
            "required": ["order"]
        })
        .try_into()
        .unwrap();
        let params = query_parameters(schema);
        assert_eq!(params[0], json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer"}, "description": "How many."}));
        assert_eq!(params[1], json!({"name": "order", "in": "query", "required": true, "schema": {"$ref": "#/x/Order"}}));
    }
}
