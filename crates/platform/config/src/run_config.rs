//! The typed run.yaml (upstream 0.3.5's `StackRunConfig`) and the way in: YAML text, then env
//! expansion, then section-by-section parsing that names the path of every error.

use std::collections::BTreeMap;
use std::path::Path;

use lls_api_common::Api;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::env::{self, is_disabled_provider_id};
use crate::error::ConfigErrors;
use crate::parse;
use crate::resources::RegisteredResources;
use crate::scalar::{self, TextLike};
use crate::server::ServerConfig;
use crate::storage::StorageConfig;

/// The run.yaml format version this build reads and writes.
pub const RUN_CONFIG_VERSION: i64 = 2;

/// A whole run.yaml. Unknown top-level keys are ignored, as upstream ignores them, but their names
/// are kept in [`RunConfig::ignored_keys`] so the CLI can warn about them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunConfig {
    pub version: i64,
    pub image_name: String,
    pub container_image: Option<String>,
    /// APIs to serve; when empty, every API that has providers.
    pub apis: Vec<String>,
    /// API name to its providers, disabled ones already dropped.
    pub providers: BTreeMap<String, Vec<ProviderEntry>>,
    pub storage: StorageConfig,
    pub registered_resources: RegisteredResources,
    pub server: ServerConfig,
    pub vector_stores: Option<VectorStoresConfig>,
    pub logging: Option<Value>,
    pub telemetry: Option<TelemetryConfig>,
    /// Rejected by validation: this build links its providers at compile time.
    pub external_providers_dir: Option<Value>,
    pub external_apis_dir: Option<Value>,
    /// Top-level keys this version does not know (for example 0.2.x's `metadata_store`), in file order.
    #[serde(skip)]
    pub ignored_keys: Vec<String>,
    /// Providers switched on by an environment variable that is unset here (`${env.X:+id}`), so
    /// messages can name the variable; filled by [`RunConfig::from_yaml_str`].
    #[serde(skip)]
    pub switched_off: Vec<crate::SwitchedOff>,
}

/// One entry under `providers.<api>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderEntry {
    #[serde(deserialize_with = "scalar::text")]
    pub provider_id: String,
    /// `inline::<name>` or `remote::<name>`.
    pub provider_type: String,
    /// The provider's own config, checked by the provider's descriptor; always an object.
    #[serde(
        default = "scalar::empty_object",
        deserialize_with = "scalar::object_or_null"
    )]
    pub config: Value,
    /// Upstream loads external providers from this Python module; kept only to be reported.
    #[serde(default)]
    pub module: Option<String>,
}

/// `vector_stores:`: defaults for vector stores created without naming a provider or a model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorStoresConfig {
    #[serde(default)]
    pub default_provider_id: Option<String>,
    #[serde(default)]
    pub default_embedding_model: Option<QualifiedModel>,
}

/// A model named by its provider and the provider's id for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualifiedModel {
    pub provider_id: String,
    pub model_id: String,
}

/// `telemetry:`: `enabled` exports traces over OTLP to the collector the `OTEL_*` variables
/// name (`lls-telemetry`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    #[serde(default, deserialize_with = "null_is_false")]
    pub enabled: bool,
}

/// `enabled: ${env.OTEL_EXPORTER_OTLP_ENDPOINT:+true}` expands to null when the variable is
/// unset: that means off.
fn null_is_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

impl RunConfig {
    /// Reads a run.yaml file; see [`RunConfig::from_yaml_str`].
    pub fn load(
        path: impl AsRef<Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigErrors> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors::single("", format!("cannot read {}: {e}", path.display()))
        })?;
        Self::from_yaml_str(&text, env)
    }

    /// YAML text to a typed config: parse, expand `${env.*}` with `env`, then read each section.
    /// Validation is separate: call [`RunConfig::validate`].
    pub fn from_yaml_str(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigErrors> {
        let raw = parse_yaml(text)?;
        let expanded = env::expand(&raw, env)?;
        let mut config = Self::from_value(expanded)?;
        config.switched_off = crate::switches::switched_off(&raw, env);
        Ok(config)
    }

    /// Reads an already expanded document. Null counts as absent for every top-level key.
    pub fn from_value(value: Value) -> Result<Self, ConfigErrors> {
        let Value::Object(mut map) = value else {
            let found = scalar::kind(&value);
            return Err(ConfigErrors::single(
                "",
                format!("run.yaml must be a map of settings, found {found}"),
            ));
        };
        let present = |key: &str| map.get(key).is_some_and(|v| !v.is_null());
        let required_present = [
            present("image_name"),
            present("providers"),
            present("storage"),
        ];
        let mut errors = ConfigErrors::new();
        let errs = &mut errors;
        let version = section(&mut map, "version", errs).unwrap_or(RUN_CONFIG_VERSION);
        let image_name = section::<TextLike>(&mut map, "image_name", errs).map(|t| t.0);
        let container_image = section(&mut map, "container_image", errs);
        let apis = section(&mut map, "apis", errs).unwrap_or_default();
        let providers = parse::take(&mut map, "providers").map(|v| parse_providers(v, errs));
        let storage =
            parse::take(&mut map, "storage").and_then(|v| StorageConfig::parse(v, "storage", errs));
        let registered_resources = parse::take(&mut map, "registered_resources")
            .map(|v| RegisteredResources::parse(v, "registered_resources", errs))
            .unwrap_or_default();
        let server = section(&mut map, "server", errs).unwrap_or_default();
        let vector_stores = section(&mut map, "vector_stores", errs);
        let logging = parse::take(&mut map, "logging");
        let telemetry = section(&mut map, "telemetry", errs);
        let external_providers_dir = parse::take(&mut map, "external_providers_dir");
        let external_apis_dir = parse::take(&mut map, "external_apis_dir");

        let [has_image_name, has_providers, has_storage] = required_present;
        if !has_image_name {
            errs.push(
                "image_name",
                "required field is missing: the name of this distribution",
            );
        }
        if !has_providers {
            errs.push(
                "providers",
                "required field is missing: a map from API name to a list of providers",
            );
        }
        if !has_storage {
            errs.push("storage", missing_storage_message(&map));
        }
        let (Some(image_name), Some(providers), Some(storage)) = (image_name, providers, storage)
        else {
            return Err(errors);
        };
        errors.into_result(RunConfig {
            version,
            image_name,
            container_image,
            apis,
            providers,
            storage,
            registered_resources,
            server,
            vector_stores,
            logging,
            telemetry,
            external_providers_dir,
            external_apis_dir,
            ignored_keys: map.keys().cloned().collect(),
            switched_off: Vec::new(),
        })
    }

    /// The providers declared for `api` (as run.yaml names it), or none.
    pub fn provider_entries(&self, api: &str) -> &[ProviderEntry] {
        self.providers.get(api).map_or(&[], Vec::as_slice)
    }

    /// The APIs to serve: the `apis` list, or every API with providers when that list is empty.
    /// Unknown names are left out here; validation reports them.
    pub fn served_apis(&self) -> Vec<Api> {
        let names: Vec<&String> = if self.apis.is_empty() {
            self.providers.keys().collect()
        } else {
            self.apis.iter().collect()
        };
        let mut apis = Vec::new();
        for api in names
            .into_iter()
            .filter_map(|name| name.parse::<Api>().ok())
        {
            if !apis.contains(&api) {
                apis.push(api);
            }
        }
        apis
    }
}

/// Parses YAML text into a JSON tree (mapping keys become strings, merge keys `<<` are applied),
/// before env expansion. Syntax errors name their line and column.
pub fn parse_yaml(text: &str) -> Result<Value, ConfigErrors> {
    let mut yaml: serde_yaml::Value = serde_yaml::from_str(text)
        .map_err(|e| ConfigErrors::single("", format!("invalid YAML: {e}")))?;
    yaml.apply_merge()
        .map_err(|e| ConfigErrors::single("", format!("invalid YAML: {e}")))?;
    let mut errors = ConfigErrors::new();
    let value = yaml_to_json(yaml, "", &mut errors);
    errors.into_result(value)
}

fn yaml_to_json(yaml: serde_yaml::Value, path: &str, errors: &mut ConfigErrors) -> Value {
    use serde_yaml::Value as Yaml;
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => yaml_number(&n),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| yaml_to_json(item, &parse::index(path, i), errors))
                .collect(),
        ),
        Yaml::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, item) in mapping {
                let key = match key {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    Yaml::Null => "null".to_owned(),
                    _ => {
                        errors.push(path, "mapping keys must be plain scalars");
                        continue;
                    }
                };
                let item = yaml_to_json(item, &parse::child(path, &key), errors);
                map.insert(key, item);
            }
            Value::Object(map)
        }
        // A local tag (`!foo`) carries no meaning here; keep what it tags.
        Yaml::Tagged(tagged) => yaml_to_json(tagged.value, path, errors),
    }
}

fn yaml_number(n: &serde_yaml::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::from(i)
    } else if let Some(u) = n.as_u64() {
        Value::from(u)
    } else {
        // `.inf` and `.nan` have no JSON form; keep their spelling.
        n.as_f64()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(n.to_string()), Value::Number)
    }
}

/// Reads one top-level section with serde, recording errors under its key.
fn section<T: serde::de::DeserializeOwned>(
    map: &mut Map<String, Value>,
    key: &str,
    errors: &mut ConfigErrors,
) -> Option<T> {
    parse::take(map, key).and_then(|value| parse::at(value, key, errors))
}

fn parse_providers(
    value: Value,
    errors: &mut ConfigErrors,
) -> BTreeMap<String, Vec<ProviderEntry>> {
    let Some(map) = parse::object(value, "providers", errors) else {
        return BTreeMap::new();
    };
    let mut providers = BTreeMap::new();
    for (api, list) in map {
        let path = parse::child("providers", &api);
        let items = match list {
            Value::Null => Vec::new(),
            Value::Array(items) => items,
            other => {
                errors.push(
                    &path,
                    format!(
                        "invalid type: {}, expected a list of providers",
                        scalar::kind(&other)
                    ),
                );
                continue;
            }
        };
        let entries = items
            .into_iter()
            .enumerate()
            .filter(|(_, item)| !item.get("provider_id").is_some_and(is_disabled_provider_id))
            .filter_map(|(i, item)| parse::at(item, &parse::index(&path, i), errors))
            .collect();
        providers.insert(api, entries);
    }
    providers
}

/// 0.3.0 moved 0.2.x's top-level stores under `storage`; say so when an old file is loaded.
fn missing_storage_message(map: &Map<String, Value>) -> String {
    let old: Vec<&str> = ["metadata_store", "inference_store", "conversations_store"]
        .into_iter()
        .filter(|key| map.contains_key(*key))
        .collect();
    let mut message =
        "required field is missing: it declares the storage backends and the stores that use them"
            .to_owned();
    if !old.is_empty() {
        message.push_str(&format!(
            " (this file uses the 0.2.x layout: move {} under storage.backends and storage.stores)",
            old.join(", ")
        ));
    }
    message
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn yaml_becomes_json_with_string_keys_and_merges() {
        let value = parse_yaml(
            "base: &b {a: 1, b: x}\nother:\n  <<: *b\n  b: y\n8080: port\nt: !custom 3\nf: .inf\n",
        )
        .unwrap();
        assert_eq!(
            value,
            json!({ "base": { "a": 1, "b": "x" }, "other": { "a": 1, "b": "y" }, "8080": "port", "t": 3, "f": ".inf" })
        );
    }

    #[test]
    fn yaml_syntax_errors_name_line_and_column() {
        let errors = parse_yaml("a: 1\nb: [1, 2\n").unwrap_err();
        let message = errors.to_string();
        assert!(message.starts_with("invalid YAML: "), "{message}");
        assert!(message.contains("line 3 column 1"), "{message}");
    }

    #[test]
    fn complex_keys_are_rejected_with_a_path() {
        let errors = parse_yaml("outer:\n  ? [1, 2]\n  : v\n").unwrap_err();
        assert_eq!(
            errors.to_string(),
            "outer: mapping keys must be plain scalars"
        );
    }

    #[test]
    fn missing_storage_points_at_the_0_2_layout() {
        let map = json!({ "metadata_store": {}, "inference_store": {} });
        let message = missing_storage_message(map.as_object().unwrap());
        assert!(
            message.contains("move metadata_store, inference_store under storage"),
            "{message}"
        );
    }
}
