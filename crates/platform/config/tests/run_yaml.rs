//! Whole run.yaml files through the public API: text, env expansion, typed parsing, validation.

use std::collections::HashMap;

use lls_api_common::Api;
use lls_config::{BackendConfig, ConfigErrors, ModelType, RunConfig};
use serde_json::json;

const STARTER: &str = include_str!("fixtures/starter-like.yaml");

fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    let map: HashMap<&str, &str> = vars.iter().copied().collect();
    move |name| map.get(name).map(|v| (*v).to_owned())
}

fn load(text: &str, vars: &[(&str, &str)]) -> Result<RunConfig, ConfigErrors> {
    RunConfig::from_yaml_str(text, &env(vars))
}

fn lines(errors: &ConfigErrors) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

fn ids(config: &RunConfig, api: &str) -> Vec<String> {
    config
        .provider_entries(api)
        .iter()
        .map(|p| p.provider_id.clone())
        .collect()
}

#[test]
fn starter_with_no_env_keeps_only_always_on_providers() {
    let config = load(STARTER, &[("HOME", "/home/me")]).unwrap();
    config.validate().unwrap();
    assert_eq!(
        ids(&config, "inference"),
        ["openai", "sentence-transformers"]
    );
    assert_eq!(ids(&config, "vector_io"), ["faiss"]);
    let openai = &config.provider_entries("inference")[0].config;
    assert_eq!(openai["api_key"], json!(null), "an empty default is null");
    assert_eq!(openai["base_url"], json!("https://api.openai.com/v1"));
    assert!(
        config.registered_resources.shields.is_empty(),
        "SAFETY_MODEL unset disables the shield"
    );
    assert_eq!(config.registered_resources.tool_groups.len(), 2);
    let Some(BackendConfig::KvSqlite(kv)) = config.storage.backend("kv_default") else {
        unreachable!()
    };
    assert_eq!(
        kv.db_path,
        "/home/me/.llama/distributions/starter/kvstore.db"
    );
    assert_eq!(
        config
            .storage
            .stores
            .inference
            .as_ref()
            .unwrap()
            .num_writers,
        4
    );
    assert!(!config.telemetry.unwrap().enabled);
    assert!(config.ignored_keys.is_empty());
}

#[test]
fn starter_with_env_turns_providers_on_and_coerces_values() {
    let vars = [
        ("VLLM_URL", "http://gpu:8000/v1"),
        ("VLLM_MAX_TOKENS", "8192"),
        ("VLLM_TLS_VERIFY", "False"),
        ("SAFETY_MODEL", "meta-llama/Llama-Guard-3-1B"),
        ("SQLITE_STORE_DIR", "/data"),
    ];
    let config = load(STARTER, &vars).unwrap();
    config.validate().unwrap();
    assert_eq!(
        ids(&config, "inference"),
        ["vllm", "openai", "sentence-transformers"]
    );
    let vllm = &config.provider_entries("inference")[0].config;
    assert_eq!(
        vllm,
        &json!({ "url": "http://gpu:8000/v1", "max_tokens": 8192, "api_token": "fake", "tls_verify": false })
    );
    let shield = &config.registered_resources.shields[0];
    assert_eq!(shield.provider_id.as_deref(), Some("llama-guard"));
    assert_eq!(
        shield.provider_shield_id.as_deref(),
        Some("meta-llama/Llama-Guard-3-1B")
    );
    let Some(BackendConfig::SqlSqlite(sql)) = config.storage.backend("sql_default") else {
        unreachable!()
    };
    assert_eq!(sql.db_path, "/data/sql_store.db");
}

#[test]
fn served_apis_follow_the_apis_list_or_the_providers() {
    let config = load(STARTER, &[]).unwrap();
    assert_eq!(
        config.served_apis(),
        [
            Api::Agents,
            Api::Inference,
            Api::Safety,
            Api::ToolRuntime,
            Api::VectorIo
        ]
    );

    let mut config = config;
    config.apis.clear();
    // Without a list, every API under `providers`, in map order.
    assert_eq!(
        config.served_apis(),
        [
            Api::Agents,
            Api::Inference,
            Api::Safety,
            Api::ToolRuntime,
            Api::VectorIo
        ]
    );
    config.providers.remove("safety");
    assert!(!config.served_apis().contains(&Api::Safety));
    assert!(config.provider_entries("safety").is_empty());
}

const MINIMAL: &str = "
image_name: 42
providers: {}
storage:
  backends: { kv: { type: kv_sqlite, db_path: /tmp/kv.db } }
  stores: { metadata: { backend: kv, namespace: registry } }
";

#[test]
fn minimal_file_gets_upstream_defaults() {
    let config = load(MINIMAL, &[]).unwrap();
    config.validate().unwrap();
    assert_eq!(config.image_name, "42", "numbers are cast to the name");
    assert_eq!(config.version, 2);
    assert!(config.apis.is_empty() && config.providers.is_empty());
    assert_eq!(
        (
            config.server.port,
            config.server.workers,
            config.server.host.as_deref()
        ),
        (8321, 1, None)
    );
    assert_eq!(config.registered_resources, Default::default());
    assert!(
        config.vector_stores.is_none() && config.telemetry.is_none() && config.logging.is_none()
    );
    assert!(config.served_apis().is_empty());
}

#[test]
fn unknown_top_level_keys_are_collected_not_rejected() {
    let text =
        format!("{MINIMAL}metadata_store: {{ type: sqlite }}\nmodels: []\nlogging_config: {{}}\n");
    let config = load(&text, &[]).unwrap();
    assert_eq!(
        config.ignored_keys,
        ["metadata_store", "models", "logging_config"]
    );
}

#[test]
fn old_0_2_layout_gets_a_pointed_message() {
    let text =
        "image_name: old\nproviders: {}\nmetadata_store: { type: sqlite, db_path: /tmp/r.db }\n";
    let errors = load(text, &[]).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors.0[0].message.contains("0.2.x layout"), "{errors}");
    assert_eq!(errors.0[0].path, "storage");
}

#[test]
fn missing_required_fields_are_all_reported() {
    let errors = load("version: 2\nimage_name: ~\n", &[]).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["image_name", "providers", "storage"]);
}

#[test]
fn parse_errors_name_their_paths_and_all_are_reported() {
    let text = "
image_name: [x]
apis: inference
providers:
  inference:
  - provider_id: a
    provider_type: remote::vllm
    config: [1]
  - provider_id: b
  safety: { provider_id: x }
storage:
  backends:
    kv: { type: kv_postgres, port: 99999 }
  stores: { metadata: { backend: kv } }
registered_resources:
  models:
  - { model_id: m, provider_id: a, model_type: chat }
server: { port: http }
";
    let errors = load(text, &[]).unwrap_err();
    let got = lines(&errors);
    let expected_starts = [
        "image_name: invalid type: sequence, expected a string",
        "apis: invalid type: string \"inference\", expected a sequence",
        "providers.inference[0].config: invalid type: sequence, expected a map",
        "providers.inference[1]: missing field `provider_type`",
        "providers.safety: invalid type: map, expected a list of providers",
        "storage.backends.kv.port: invalid port 99999",
        "storage.stores.metadata: missing field `namespace`",
        "registered_resources.models[0].model_type: unknown variant `chat`",
        "server.port: invalid port \"http\"",
    ];
    assert_eq!(got.len(), expected_starts.len(), "{got:#?}");
    for (line, start) in got.iter().zip(expected_starts) {
        assert!(
            line.starts_with(start),
            "{line:?} should start with {start:?}"
        );
    }
}

#[test]
fn env_errors_come_before_parsing_and_are_all_reported() {
    let text = "
image_name: ${env.NAME}
providers:
  inference:
  - provider_id: remote
    provider_type: remote::vllm
    config: { url: '${env.VLLM_URL}', token: '${env.TOKEN}' }
  - provider_id: ${env.OFF:+off}
    provider_type: remote::off
    config: { url: '${env.NEVER_CHECKED}' }
storage: nonsense
";
    let errors = load(text, &[]).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "image_name",
            "providers.inference[0].config.url",
            "providers.inference[0].config.token"
        ]
    );
}

#[test]
fn yaml_syntax_errors_name_line_and_column() {
    let errors = load("image_name: x\nproviders: {inference: [\n", &[]).unwrap_err();
    let message = errors.to_string();
    assert!(message.starts_with("invalid YAML: "), "{message}");
    assert!(message.contains("line "), "{message}");
    assert!(message.contains("column "), "{message}");
}

#[test]
fn documents_that_are_not_maps_are_rejected() {
    assert_eq!(
        load("", &[]).unwrap_err().to_string(),
        "run.yaml must be a map of settings, found null"
    );
    assert_eq!(
        load("- a\n", &[]).unwrap_err().to_string(),
        "run.yaml must be a map of settings, found sequence"
    );
}

#[test]
fn embedding_models_parse_and_validate() {
    let text = format!(
        "{MINIMAL}registered_resources:\n  models:\n  - {{ model_id: e, provider_id: st, model_type: embedding, metadata: {{ embedding_dimension: '${{env.DIM:=768}}' }} }}\n"
    );
    let config = load(&text, &[]).unwrap();
    let model = &config.registered_resources.models[0];
    assert_eq!(model.model_type, ModelType::Embedding);
    assert_eq!(
        model.metadata["embedding_dimension"],
        json!(768),
        "coerced to an integer"
    );
    // `inference` is not served (no providers), so the unknown provider is not an error.
    config.validate().unwrap();
}

#[test]
fn load_reads_files_and_reports_missing_ones() {
    let dir = std::env::temp_dir().join(format!("lls-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.yaml");
    std::fs::write(&path, MINIMAL).unwrap();
    let config = RunConfig::load(&path, &env(&[])).unwrap();
    assert_eq!(config.image_name, "42");
    std::fs::remove_dir_all(&dir).unwrap();

    let errors = RunConfig::load(dir.join("absent.yaml"), &env(&[])).unwrap_err();
    assert!(errors.to_string().starts_with("cannot read "), "{errors}");
}

#[test]
fn passwords_are_redacted_in_debug_and_serialized_output() {
    let text = "
image_name: pg
providers: {}
storage:
  backends:
    kv: { type: kv_postgres, user: '${env.PGUSER:=stack}', password: '${env.PGPASSWORD}' }
  stores: { metadata: { backend: kv, namespace: registry } }
";
    let config = load(text, &[("PGPASSWORD", "12345")]).unwrap();
    let Some(BackendConfig::KvPostgres(pg)) = config.storage.backend("kv") else {
        unreachable!()
    };
    assert_eq!(
        pg.password.as_ref().unwrap().expose(),
        "12345",
        "a numeric password is still a password"
    );
    assert!(!format!("{config:?}").contains("12345"));
    assert!(!serde_json::to_string(&config).unwrap().contains("12345"));
}
