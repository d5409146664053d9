//! Validation, one broken piece of an otherwise valid config at a time.

use serde_json::{Value, json};

use crate::{ConfigErrors, QuotaPeriod, RunConfig};

/// A valid config to break one piece at a time.
fn base() -> Value {
    json!({
        "image_name": "test",
        "providers": {
            "inference": [
                { "provider_id": "fake", "provider_type": "inline::fake" },
                { "provider_id": "st", "provider_type": "inline::sentence-transformers" },
            ],
            "vector_io": [ {
                "provider_id": "faiss", "provider_type": "inline::faiss",
                "config": { "persistence": { "backend": "kv_default", "namespace": "vector_io::faiss" } },
            } ],
            "agents": [ {
                "provider_id": "ref", "provider_type": "inline::meta-reference",
                "config": { "persistence": {
                    "agent_state": { "backend": "kv_default", "namespace": "agents" },
                    "responses": { "backend": "sql_default", "table_name": "responses", "max_write_queue_size": 10000, "num_writers": 4 },
                } },
            } ],
        },
        "storage": {
            "backends": {
                "kv_default": { "type": "kv_sqlite", "db_path": "/tmp/kv.db" },
                "sql_default": { "type": "sql_sqlite", "db_path": "/tmp/sql.db" },
            },
            "stores": {
                "metadata": { "backend": "kv_default", "namespace": "registry" },
                "inference": { "backend": "sql_default", "table_name": "inference_store" },
                "conversations": { "backend": "sql_default", "table_name": "openai_conversations" },
                "prompts": { "backend": "kv_default", "namespace": "prompts" },
            },
        },
        "registered_resources": {
            "models": [
                { "model_id": "m", "provider_id": "fake" },
                { "model_id": "e", "provider_id": "st", "model_type": "embedding", "metadata": { "embedding_dimension": 384 } },
            ],
        },
        "vector_stores": {
            "default_provider_id": "faiss",
            "default_embedding_model": { "provider_id": "st", "model_id": "e" },
        },
    })
}

fn validate(value: Value) -> Result<(), ConfigErrors> {
    RunConfig::from_value(value).unwrap().validate()
}

fn problems(value: Value) -> Vec<String> {
    validate(value)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Sets the value at a `/`-separated path, creating missing object keys on the way.
fn set(mut value: Value, pointer: &str, new: Value) -> Value {
    let mut slot = &mut value;
    for part in pointer.trim_start_matches('/').split('/') {
        slot = match part.parse::<usize>() {
            Ok(i) => &mut slot[i],
            Err(_) => &mut slot[part],
        };
    }
    *slot = new;
    value
}

#[test]
fn the_base_config_is_valid() {
    validate(base()).unwrap();
}

#[test]
fn unknown_apis_are_reported_per_entry() {
    let lines = problems(set(
        base(),
        "/apis",
        json!(["inference", "telepathy", "models"]),
    ));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("apis[1]: unknown API `telepathy`"),
        "{}",
        lines[0]
    );
}

#[test]
fn providers_need_a_provider_api_and_unique_ids() {
    let mut value = base();
    value["providers"]["models"] = json!([{ "provider_id": "x", "provider_type": "inline::x" }]);
    value["providers"]["vision"] = json!([]);
    value["providers"]["inference"][1]["provider_id"] = json!("fake");
    let lines = problems(value);
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert_eq!(
        lines[0],
        "providers.inference[1].provider_id: duplicate provider_id `fake`: already used by providers.inference[0]"
    );
    assert!(
        lines[1].starts_with("providers.models: `models` is served by the stack itself"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("providers.vision: unknown API `vision`"),
        "{}",
        lines[2]
    );
    // The embedding model and the vector-store default now point at a provider id that is gone.
    assert_eq!(
        lines[3],
        "registered_resources.models[1].provider_id: no inference provider has provider_id `st`"
    );
    assert_eq!(
        lines[4],
        "vector_stores.default_embedding_model.provider_id: no inference provider has provider_id `st`"
    );
}

#[test]
fn the_same_provider_id_in_two_apis_is_fine() {
    let value = set(base(), "/providers/vector_io/0/provider_id", json!("fake"));
    let value = set(value, "/vector_stores/default_provider_id", json!("fake"));
    validate(value).unwrap();
}

#[test]
fn store_references_need_an_existing_backend_of_the_right_family() {
    let mut value = base();
    let stores = &mut value["storage"]["stores"];
    stores["metadata"]["backend"] = json!("sql_default");
    stores["inference"]["backend"] = json!("kv_default");
    stores["conversations"]["backend"] = json!("nope");
    stores["responses"] = json!({ "backend": "sql_default", "table_name": "responses" });
    let lines = problems(value);
    assert_eq!(
        lines,
        [
            "storage.stores.metadata.backend: needs a kv_* backend, but `sql_default` is sql_sqlite",
            "storage.stores.inference.backend: needs a sql_* backend, but `kv_default` is kv_sqlite",
            "storage.stores.conversations.backend: backend `nope` is not declared in storage.backends (declared: kv_default, sql_default)",
        ]
    );
}

#[test]
fn the_metadata_store_is_required() {
    let mut value = base();
    value["storage"]["stores"]
        .as_object_mut()
        .unwrap()
        .remove("metadata");
    let lines = problems(value);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("storage.stores.metadata: required"),
        "{}",
        lines[0]
    );
}

#[test]
fn redis_and_mongodb_backends_are_rejected() {
    let mut value = base();
    value["storage"]["backends"]["mongo"] = json!({ "type": "kv_mongodb" });
    value["storage"]["backends"]["redis"] = json!({ "type": "kv_redis" });
    let lines = problems(value);
    assert_eq!(
        lines,
        [
            "storage.backends.mongo.type: kv_mongodb is not supported by this build; use kv_sqlite or kv_postgres",
            "storage.backends.redis.type: kv_redis is not supported by this build; use kv_sqlite or kv_postgres",
        ]
    );
}

#[test]
fn references_inside_provider_configs_and_the_quota_store_are_checked() {
    let mut value = base();
    value["providers"]["vector_io"][0]["config"]["persistence"]["backend"] = json!("kv_typo");
    value["providers"]["agents"][0]["config"]["persistence"]["responses"]["backend"] =
        json!("kv_default");
    value["server"] = json!({ "quota": { "kvstore": { "backend": "sql_default", "namespace": "quota" }, "period": "day" } });
    let lines = problems(value);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with(
            "providers.agents[0].config.persistence.responses.backend: needs a sql_* backend"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(
            "providers.vector_io[0].config.persistence.backend: backend `kv_typo` is not declared"
        ),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("server.quota.kvstore.backend: needs a kv_* backend"),
        "{}",
        lines[2]
    );
}

#[test]
fn quota_takes_upstream_defaults_and_periods() {
    let value = set(base(), "/server", json!({ "quota": { "kvstore": { "backend": "kv_default", "namespace": "quota" } } }));
    let config = RunConfig::from_value(value).unwrap();
    config.validate().unwrap();
    let quota = config.server.quota.unwrap();
    assert_eq!((quota.anonymous_max_requests, quota.authenticated_max_requests), (100, 1000));
    assert_eq!((quota.period, quota.period.seconds()), (QuotaPeriod::Day, 86_400));
    let value = set(
        base(),
        "/server",
        json!({ "quota": { "kvstore": { "backend": "kv_default", "namespace": "q" },
            "anonymous_max_requests": "5", "authenticated_max_requests": 7, "period": "minute" } }),
    );
    let quota = RunConfig::from_value(value).unwrap().server.quota.unwrap();
    assert_eq!((quota.anonymous_max_requests, quota.authenticated_max_requests, quota.period.seconds()), (5, 7, 60));
    let value = set(base(), "/server", json!({ "quota": { "kvstore": { "backend": "kv_default", "namespace": "q" }, "period": "week" } }));
    assert!(RunConfig::from_value(value).is_err());
}

#[test]
fn outbound_entries_are_checked_by_key_and_the_default_refuses_metadata() {
    let config = RunConfig::from_value(base()).unwrap();
    assert!(config.server.outbound.is_none());
    assert!(config.server.outbound_policy().unwrap().check_host("169.254.169.254").is_err());
    config.server.outbound_policy().unwrap().check_host("localhost").unwrap();
    let value = set(
        base(),
        "/server",
        json!({ "outbound": { "allow_hosts": ["mcp.example.com", "*.tools.example", "10.0.0.0/8"], "deny_hosts": ["127.0.0.0/8"], "allow_link_local": true } }),
    );
    let config = RunConfig::from_value(value).unwrap();
    config.validate().unwrap();
    let policy = config.server.outbound_policy().unwrap();
    policy.check_host("a.tools.example").unwrap();
    assert!(policy.check_host("127.0.0.1").is_err());
    let value = set(base(), "/server", json!({ "outbound": { "allow_hosts": ["ok", "http://x/"], "deny_hosts": ["10.0.0.0/40", ""] } }));
    let lines = problems(value);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines[0].starts_with("server.outbound.allow_hosts[1]: `http://x/` is not a host name"), "{}", lines[0]);
    assert!(lines[1].starts_with("server.outbound.deny_hosts[0]: `10.0.0.0/40` is not a CIDR"), "{}", lines[1]);
    assert!(lines[2].starts_with("server.outbound.deny_hosts[1]: an empty entry"), "{}", lines[2]);
    let value = set(base(), "/server", json!({ "outbound": { "deny_host": ["x"] } }));
    assert!(RunConfig::from_value(value).is_err());
}

#[test]
fn unimplemented_or_incomplete_settings_are_refused_by_name() {
    let mut value = set(
        base(),
        "/server",
        json!({ "auth": { "provider_config": { "type": "oauth2_token" } }, "workers": 4 }),
    );
    value["logging"] = json!({ "category_levels": { "all": "debug" } });
    value["external_apis_dir"] = json!("/apis");
    let lines = problems(value);
    let paths: Vec<&str> = lines.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        paths,
        ["server.workers", "server.auth.provider_config.jwks", "external_apis_dir", "logging"],
        "{lines:#?}"
    );
    assert!(lines[1].contains("needs one of jwks and introspection"), "{}", lines[1]);
    // OTLP trace export (lls-telemetry) is implemented: both values are accepted, and null
    // (`${env.OTEL_EXPORTER_OTLP_ENDPOINT:+true}` with the variable unset) is off.
    for (given, enabled) in [(json!(false), false), (json!(true), true), (Value::Null, false)] {
        let config = RunConfig::from_value(set(base(), "/telemetry", json!({ "enabled": given }))).unwrap();
        assert_eq!(config.telemetry.as_ref().map(|t| t.enabled), Some(enabled));
        config.validate().unwrap();
    }
}

#[test]
fn unknown_server_keys_are_refused_when_parsed() {
    let value = set(base(), "/server", json!({ "port": 8321, "tls_cert_file": "c.pem" }));
    let errors = RunConfig::from_value(value).unwrap_err().to_string();
    assert!(errors.starts_with("server.tls_cert_file: unknown field `tls_cert_file`"), "{errors}");
}

#[test]
fn connection_limits_have_defaults_and_ranges() {
    let config = RunConfig::from_value(base()).unwrap();
    let limits = config.server.limits();
    assert_eq!(limits.header_read_timeout, std::time::Duration::from_secs(10));
    assert_eq!(limits.max_connections, 1024);
    let value = set(
        base(),
        "/server",
        json!({ "header_read_timeout_s": 0, "keepalive_timeout_s": "2.5", "request_body_timeout_s": 1e9,
                "shutdown_grace_period_s": -1, "max_connections": 0 }),
    );
    assert_eq!(
        problems(value),
        [
            "server.header_read_timeout_s: must be a number of seconds above 0 and at most 86400",
            "server.request_body_timeout_s: must be a number of seconds above 0 and at most 86400",
            "server.shutdown_grace_period_s: must be a number of seconds above 0 and at most 86400",
            "server.max_connections: must be at least 1",
        ]
    );
    let value = set(base(), "/server", json!({ "keepalive_timeout_s": "2.5" }));
    let config = RunConfig::from_value(value).unwrap();
    assert_eq!(config.server.limits().keepalive_timeout, std::time::Duration::from_millis(2500));
}

#[test]
fn cors_true_is_the_upstream_dev_policy_and_objects_are_checked() {
    let value = set(base(), "/server", json!({ "cors": true }));
    let config = RunConfig::from_value(value).unwrap();
    config.validate().unwrap();
    let policy = config.server.cors.unwrap().policy().unwrap();
    assert_eq!(policy.allow_origin_regex.as_deref(), Some(r"https?://localhost:\d+"));
    assert_eq!(policy.allow_methods, ["GET", "POST", "PUT", "DELETE", "OPTIONS"]);
    assert_eq!(policy.max_age, 600);
    assert!(!policy.allow_credentials);
    let value = set(
        base(),
        "/server",
        json!({ "cors": { "allow_origins": ["*"], "allow_credentials": true, "allow_origin_regex": "(",
                          "allow_headers": ["X Bad"] } }),
    );
    let lines = problems(value);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(lines[0], "server.cors.allow_origins: Cannot use wildcard origins with credentials enabled");
    assert!(lines[1].starts_with("server.cors.allow_origin_regex: invalid regular expression"), "{}", lines[1]);
    assert_eq!(lines[2], "server.cors.allow_headers[0]: `X Bad` is not a valid HTTP token");
    let value = set(base(), "/server", json!({ "cors": { "allow_origin": ["x"] } }));
    assert!(RunConfig::from_value(value).unwrap_err().to_string().contains("unknown field `allow_origin`"));
}

#[test]
fn objects_that_only_look_like_references_are_left_alone() {
    let value = set(
        base(),
        "/providers/inference/0/config",
        json!({ "a": { "backend": "elsewhere", "namespace": "x", "url": "http://x" }, "b": { "backend": "gpu" } }),
    );
    validate(value).unwrap();
}

#[test]
fn embedding_models_need_an_integer_dimension() {
    let mut value = base();
    value["registered_resources"]["models"] = json!([
        { "model_id": "a", "provider_id": "st", "model_type": "embedding" },
        { "model_id": "b", "provider_id": "st", "model_type": "embedding", "metadata": { "embedding_dimension": "384" } },
        { "model_id": "c", "provider_id": "st", "model_type": "embedding", "metadata": { "embedding_dimension": 0 } },
        { "model_id": "d", "provider_id": "st", "model_type": "llm" },
    ]);
    let lines = problems(value);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(
        lines[0],
        "registered_resources.models[0].metadata.embedding_dimension: embedding model `a` needs a positive integer embedding_dimension"
    );
    assert!(
        lines[1].starts_with("registered_resources.models[1].metadata"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("registered_resources.models[2].metadata"),
        "{}",
        lines[2]
    );
}

#[test]
fn resources_of_served_apis_need_known_providers() {
    let mut value = base();
    value["providers"]["tool_runtime"] =
        json!([{ "provider_id": "rag-runtime", "provider_type": "inline::rag-runtime" }]);
    value["registered_resources"]["tool_groups"] = json!([
        { "toolgroup_id": "builtin::rag", "provider_id": "rag-runtime" },
        { "toolgroup_id": "builtin::websearch", "provider_id": "tavily-search" },
    ]);
    // Safety is not served, so its shields are skipped at startup, as upstream skips them.
    value["registered_resources"]["shields"] =
        json!([{ "shield_id": "s", "provider_id": "llama-guard" }]);
    value["registered_resources"]["benchmarks"] =
        json!([{ "benchmark_id": "b", "provider_id": "meta-reference" }]);
    let lines = problems(value);
    assert_eq!(
        lines,
        [
            "registered_resources.tool_groups[1].provider_id: no tool_runtime provider has provider_id `tavily-search`"
        ]
    );
}

#[test]
fn apis_list_decides_what_is_served() {
    let mut value = base();
    value["apis"] = json!(["inference", "vector_io", "agents", "safety"]);
    value["registered_resources"]["shields"] =
        json!([{ "shield_id": "s", "provider_id": "llama-guard" }]);
    let lines = problems(value);
    assert_eq!(
        lines,
        [
            "registered_resources.shields[0].provider_id: no safety provider has provider_id `llama-guard`"
        ]
    );
}

#[test]
fn server_port_tls_and_workers() {
    let value = set(
        base(),
        "/server",
        json!({ "port": 0, "tls_certfile": "c.pem", "workers": 0 }),
    );
    assert_eq!(
        problems(value),
        [
            "server.port: must be between 1 and 65535",
            "server.tls_keyfile: tls_certfile is set, so HTTPS also needs tls_keyfile",
            "server.workers: must be at least 1",
        ]
    );
    let value = set(
        base(),
        "/server",
        json!({ "port": 80, "tls_keyfile": "k.pem", "tls_cafile": "ca.pem" }),
    );
    assert_eq!(
        problems(value),
        [
            "server.tls_certfile: tls_keyfile is set, so HTTPS also needs tls_certfile",
            "server.tls_cafile: client certificates (mTLS) need HTTPS: set tls_certfile and tls_keyfile",
        ]
    );
    let value = set(
        base(),
        "/server",
        json!({ "port": 443, "tls_certfile": "c", "tls_keyfile": "k", "tls_cafile": "ca" }),
    );
    validate(value).unwrap();
}

#[test]
fn vector_store_defaults_must_name_existing_providers() {
    let value = set(
        base(),
        "/vector_stores",
        json!({ "default_provider_id": "milvus", "default_embedding_model": { "provider_id": "x", "model_id": "e" } }),
    );
    assert_eq!(
        problems(value),
        [
            "vector_stores.default_provider_id: no vector_io provider has provider_id `milvus`",
            "vector_stores.default_embedding_model.provider_id: no inference provider has provider_id `x`",
        ]
    );
}

#[test]
fn external_providers_are_rejected_with_a_way_out() {
    let mut value = base();
    value["external_providers_dir"] = json!("~/.llama/providers.d");
    value["providers"]["inference"][0]["module"] = json!("my_provider");
    let lines = problems(value);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].starts_with(
            "providers.inference[0].module: external provider modules are not supported"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("external_providers_dir: external providers are not supported"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("cargo build --features"), "{}", lines[1]);
}

#[test]
fn all_problems_are_reported_together() {
    let mut value = base();
    value["apis"] = json!(["nope"]);
    value["server"] = json!({ "port": 0 });
    value["storage"]["stores"]["metadata"]["backend"] = json!("missing");
    assert_eq!(validate(value).unwrap_err().len(), 3);
}
