//! run.yaml's `registered_resources:`: models, shields, tool groups and the rest, registered at
//! startup. Entries whose `provider_id` is missing, empty or `__disabled__` are dropped, as upstream
//! skips them.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::env::is_disabled_id;
use crate::error::ConfigErrors;
use crate::parse;

/// What a model is for (`llm` by default), shared with the models API.
pub use lls_api_models::ModelType;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RegisteredResources {
    pub models: Vec<ModelInput>,
    pub shields: Vec<ShieldInput>,
    /// Parsed but, as in upstream 0.3.5, never registered at startup.
    pub vector_stores: Vec<Value>,
    /// A leftover that distributions still write; ignored.
    pub vector_dbs: Vec<Value>,
    /// Kept whole: datasets have no `provider_id`; the datasets routing table picks one.
    pub datasets: Vec<Value>,
    pub scoring_fns: Vec<Value>,
    pub benchmarks: Vec<Value>,
    pub tool_groups: Vec<ToolGroupInput>,
}

impl RegisteredResources {
    /// Reads each list item by item; unknown keys are ignored as upstream's pydantic ignores them.
    pub(crate) fn parse(value: Value, path: &str, errors: &mut ConfigErrors) -> Self {
        let Some(mut map) = parse::object(value, path, errors) else {
            return Self::default();
        };
        let map = &mut map;
        let models = field(map, path, "models", errors);
        let shields = field(map, path, "shields", errors);
        let vector_stores: Vec<Value> = field(map, path, "vector_stores", errors);
        let vector_dbs = field(map, path, "vector_dbs", errors);
        let datasets = field(map, path, "datasets", errors);
        let scoring_fns: Vec<Value> = field(map, path, "scoring_fns", errors);
        let benchmarks: Vec<Value> = field(map, path, "benchmarks", errors);
        let tool_groups = field(map, path, "tool_groups", errors);
        RegisteredResources {
            models,
            shields,
            vector_stores: vector_stores
                .into_iter()
                .filter(has_enabled_provider)
                .collect(),
            vector_dbs,
            datasets,
            scoring_fns: scoring_fns
                .into_iter()
                .filter(has_enabled_provider)
                .collect(),
            benchmarks: benchmarks
                .into_iter()
                .filter(has_enabled_provider)
                .collect(),
            tool_groups,
        }
        .without_disabled()
    }

    fn without_disabled(mut self) -> Self {
        self.models.retain(|m| enabled(m.provider_id.as_deref()));
        self.shields.retain(|s| enabled(s.provider_id.as_deref()));
        self.tool_groups.retain(|t| enabled(Some(&t.provider_id)));
        self
    }
}

/// One list under `registered_resources`, item by item; absent or null is empty.
fn field<T: DeserializeOwned>(
    map: &mut Map<String, Value>,
    path: &str,
    key: &str,
    errors: &mut ConfigErrors,
) -> Vec<T> {
    parse::take(map, key)
        .map(|v| parse::list(v, &parse::child(path, key), errors))
        .unwrap_or_default()
}

fn enabled(provider_id: Option<&str>) -> bool {
    provider_id.is_some_and(|id| !is_disabled_id(id))
}

fn has_enabled_provider(item: &Value) -> bool {
    enabled(item.get("provider_id").and_then(Value::as_str))
}

/// `registered_resources.models[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInput {
    pub model_id: String,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub provider_model_id: Option<String>,
    #[serde(default)]
    pub model_type: ModelType,
    /// Free-form; an embedding model needs an integer `embedding_dimension` here.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// `registered_resources.shields[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShieldInput {
    pub shield_id: String,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub provider_shield_id: Option<String>,
    #[serde(default)]
    pub params: Option<Value>,
}

/// `registered_resources.tool_groups[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolGroupInput {
    pub toolgroup_id: String,
    pub provider_id: String,
    #[serde(default)]
    pub args: Option<Value>,
    #[serde(default)]
    pub mcp_endpoint: Option<McpEndpoint>,
}

/// Where a `model-context-protocol` tool group's server listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpEndpoint {
    pub uri: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value) -> (RegisteredResources, ConfigErrors) {
        let mut errors = ConfigErrors::new();
        let parsed = RegisteredResources::parse(value, "registered_resources", &mut errors);
        (parsed, errors)
    }

    #[test]
    fn lists_are_read_with_defaults() {
        let (r, errors) = parse(json!({
            "models": [
                { "model_id": "m", "provider_id": "p" },
                { "model_id": "e", "provider_id": "p", "model_type": "embedding", "metadata": { "embedding_dimension": 384 } },
            ],
            "shields": [ { "shield_id": "s", "provider_id": "llama-guard", "params": { "x": 1 } } ],
            "tool_groups": [ { "toolgroup_id": "mcp::x", "provider_id": "model-context-protocol", "mcp_endpoint": { "uri": "http://m" } } ],
            "datasets": [ { "dataset_id": "d" } ],
            "vector_dbs": [],
        }));
        assert!(errors.is_empty(), "{errors}");
        assert_eq!(r.models[0].model_type, ModelType::Llm);
        assert!(r.models[0].metadata.is_empty());
        assert_eq!(r.models[1].model_type, ModelType::Embedding);
        assert_eq!(r.shields[0].params, Some(json!({ "x": 1 })));
        assert_eq!(
            r.tool_groups[0].mcp_endpoint,
            Some(McpEndpoint {
                uri: "http://m".into()
            })
        );
        assert_eq!(r.datasets, [json!({ "dataset_id": "d" })]);
    }

    #[test]
    fn disabled_entries_are_dropped() {
        let (r, errors) = parse(json!({
            "models": [
                { "model_id": "none" },
                { "model_id": "empty", "provider_id": "" },
                { "model_id": "off", "provider_id": "__disabled__" },
                { "model_id": "on", "provider_id": "p" },
            ],
            "shields": [ { "shield_id": "s" } ],
            "tool_groups": [ { "toolgroup_id": "t", "provider_id": "__disabled__" } ],
            "scoring_fns": [ { "scoring_fn_id": "a" }, { "scoring_fn_id": "b", "provider_id": "basic" } ],
            "benchmarks": [ { "benchmark_id": "a", "provider_id": null } ],
            "datasets": [ { "dataset_id": "kept" } ],
        }));
        assert!(errors.is_empty(), "{errors}");
        let models: Vec<&str> = r.models.iter().map(|m| m.model_id.as_str()).collect();
        assert_eq!(models, ["on"]);
        assert!(r.shields.is_empty() && r.tool_groups.is_empty() && r.benchmarks.is_empty());
        assert_eq!(
            r.scoring_fns,
            [json!({ "scoring_fn_id": "b", "provider_id": "basic" })]
        );
        assert_eq!(r.datasets.len(), 1);
    }

    #[test]
    fn bad_items_are_reported_with_paths() {
        let (_, errors) = parse(json!({
            "models": [ { "model_id": "m", "model_type": "vision" } ],
            "tool_groups": [ { "toolgroup_id": "t" } ],
            "datasets": {},
        }));
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[0]
                .starts_with("registered_resources.models[0].model_type: unknown variant `vision`"),
            "{}",
            lines[0]
        );
        assert_eq!(
            lines[1],
            "registered_resources.datasets: invalid type: map, expected a list"
        );
        assert_eq!(
            lines[2],
            "registered_resources.tool_groups[0]: missing field `provider_id`"
        );
    }
}
