//! Snapshot of the providers the starter links by default: a feature that stops linking its
//! crate (and so silently loses its `inventory` entry) fails here.
#![allow(clippy::panic)] // helpers of tests: failing the test is the point

#[test]
fn default_features_register_these_providers() {
    lls_distribution_starter::link();
    let registered: Vec<String> = lls_api_common::provider::descriptors()
        .iter()
        .map(|d| format!("{} {}", d.api, d.provider_type))
        .collect();
    // inline::fake is a dev-dependency of the test build only.
    let expected = [
        "agents inline::meta-reference",
        "batches inline::reference",
        "files inline::localfs",
        "files remote::s3",
        "inference inline::llama-cpp",
        "inference inline::sentence-transformers",
        "inference remote::azure",
        "inference remote::bedrock",
        "inference remote::ollama",
        "inference remote::openai",
        "inference remote::vertexai",
        "inference remote::vllm",
        "inference remote::watsonx",
        "safety inline::llama-guard",
        "safety remote::trustyai_fms",
        "tool_runtime inline::rag-runtime",
        "tool_runtime remote::brave-search",
        "tool_runtime remote::model-context-protocol",
        "tool_runtime remote::tavily-search",
        "vector_io inline::faiss",
        "vector_io inline::milvus",
        "vector_io inline::sqlite-vec",
        "vector_io remote::milvus",
        "vector_io remote::pgvector",
    ];
    for e in expected {
        assert!(
            registered.iter().any(|r| r == e),
            "{e} missing from {registered:?}"
        );
    }
    assert!(
        registered
            .iter()
            .all(|r| expected.contains(&r.as_str()) || r == "inference inline::fake"),
        "{registered:?}"
    );
}

/// `remote::trustyai_fms` is on only with `FMS_ORCHESTRATOR_URL`, and its config (as the
/// run.yaml writes it, with and without the other FMS variables) is one the provider accepts.
#[test]
fn trustyai_fms_follows_fms_orchestrator_url() {
    lls_distribution_starter::link();
    let fms = |c: &lls_config::RunConfig| enabled(c, "safety", "remote::trustyai_fms");
    assert!(fms(&load(&[])).is_none(), "on without FMS_ORCHESTRATOR_URL");
    for vars in [
        &[("FMS_ORCHESTRATOR_URL", "https://orchestrator:8032")][..],
        &[
            ("FMS_ORCHESTRATOR_URL", "http://o:8033"),
            ("FMS_VERIFY_SSL", "false"),
            ("FMS_AUTH_TOKEN", "t"),
            ("FMS_SSL_CERT_PATH", "/etc/ca.pem"),
        ][..],
    ] {
        let entry = fms(&load(vars)).unwrap_or_else(|| panic!("off with {vars:?}"));
        assert_eq!(entry.provider_id, "trustyai_fms");
        let config = check("remote::trustyai_fms", &entry.config);
        assert_eq!(config["orchestrator_url"], vars[0].1, "{vars:?}");
        assert_eq!(config["verify_ssl"], vars.len() == 1, "{vars:?}");
    }
}

/// `remote::tavily-search` is always on and serves `builtin::websearch` (as in 0.3.5's starter);
/// `remote::brave-search` is on only with `BRAVE_SEARCH_API_KEY`. Their configs, as the run.yaml
/// writes them, are ones the providers accept, with the keys from the environment.
#[test]
fn web_search_providers_follow_their_keys() {
    lls_distribution_starter::link();
    let entry = |c: &lls_config::RunConfig, provider_type: &str| enabled(c, "tool_runtime", provider_type);
    let plain = load(&[]);
    assert!(
        entry(&plain, "remote::brave-search").is_none(),
        "brave-search on without BRAVE_SEARCH_API_KEY"
    );
    let tavily =
        entry(&plain, "remote::tavily-search").unwrap_or_else(|| panic!("tavily-search off"));
    assert_eq!(tavily.provider_id, "tavily-search");
    assert_eq!(
        check("remote::tavily-search", &tavily.config)["max_results"],
        3
    );

    let keyed = load(&[
        ("BRAVE_SEARCH_API_KEY", "b"),
        ("TAVILY_SEARCH_API_KEY", "t"),
    ]);
    let brave = entry(&keyed, "remote::brave-search")
        .unwrap_or_else(|| panic!("brave-search off with its key"));
    assert_eq!(brave.provider_id, "brave-search");
    assert_eq!(brave.config["api_key"], "b");
    check("remote::brave-search", &brave.config);
    let tavily =
        entry(&keyed, "remote::tavily-search").unwrap_or_else(|| panic!("tavily-search off"));
    assert_eq!(tavily.config["api_key"], "t");
}

/// `remote::pgvector` is on only with `ENABLE_PGVECTOR`, and its config (as the run.yaml writes
/// it, with the RH distribution's variables set or not) is one the provider accepts.
#[test]
fn pgvector_follows_enable_pgvector() {
    lls_distribution_starter::link();
    let pgvector = |c: &lls_config::RunConfig| enabled(c, "vector_io", "remote::pgvector");
    assert!(pgvector(&load(&[])).is_none(), "on without ENABLE_PGVECTOR");
    for vars in [
        &[("ENABLE_PGVECTOR", "true")][..],
        &[
            ("ENABLE_PGVECTOR", "1"),
            ("PGVECTOR_HOST", "pg.svc"),
            ("PGVECTOR_PORT", "6543"),
            ("PGVECTOR_DB", "vectors"),
            ("PGVECTOR_USER", "llama"),
            ("PGVECTOR_PASSWORD", "1234"),
        ][..],
    ] {
        let entry = pgvector(&load(vars)).unwrap_or_else(|| panic!("off with {vars:?}"));
        assert_eq!(entry.provider_id, "pgvector");
        let config = check("remote::pgvector", &entry.config);
        let host = vars.iter().find(|(k, _)| *k == "PGVECTOR_HOST").map_or("localhost", |(_, v)| v);
        assert_eq!(config["host"], host, "{vars:?}");
    }
}

/// `remote::milvus` is on only with `MILVUS_ENDPOINT` and `inline::milvus` only with
/// `ENABLE_INLINE_MILVUS`; their configs (as the run.yaml writes them, with the RH
/// distribution's variables set or not) are ones the providers accept.
#[test]
fn milvus_follows_milvus_endpoint_and_enable_inline_milvus() {
    lls_distribution_starter::link();
    let on = |c: &lls_config::RunConfig, ty: &str| enabled(c, "vector_io", ty);
    let none = load(&[]);
    assert!(on(&none, "remote::milvus").is_none(), "remote::milvus on without MILVUS_ENDPOINT");
    assert!(on(&none, "inline::milvus").is_none(), "inline::milvus on without ENABLE_INLINE_MILVUS");

    let plain = on(&load(&[("MILVUS_ENDPOINT", "http://milvus.svc:19530")]), "remote::milvus").unwrap_or_else(|| panic!("off"));
    assert_eq!(plain.provider_id, "milvus-remote");
    let c = check("remote::milvus", &plain.config);
    assert_eq!((c["uri"].as_str(), c["consistency_level"].as_str(), &c["secure"]), (Some("http://milvus.svc:19530"), Some("Strong"), &serde_json::json!(false)));
    assert!(c.get("token").is_none(), "{c}");
    let full = load(&[
        ("MILVUS_ENDPOINT", "https://milvus.svc:443"),
        ("MILVUS_TOKEN", "root:Milvus"),
        ("MILVUS_CONSISTENCY_LEVEL", "Bounded"),
        ("MILVUS_SECURE", "true"),
        ("MILVUS_CA_PEM_PATH", "/etc/ca.pem"),
    ]);
    let c = check("remote::milvus", &on(&full, "remote::milvus").unwrap_or_else(|| panic!("off")).config);
    assert_eq!((c["token"].as_str(), c["consistency_level"].as_str(), &c["secure"]), (Some("root:Milvus"), Some("Bounded"), &serde_json::json!(true)));
    assert_eq!(c["ca_pem_path"], "/etc/ca.pem");

    let inline = on(&load(&[("ENABLE_INLINE_MILVUS", "true"), ("MILVUS_DB_PATH", "/data")]), "inline::milvus").unwrap_or_else(|| panic!("off"));
    assert_eq!(inline.provider_id, "milvus");
    assert_eq!(check("inline::milvus", &inline.config)["db_path"], "/data/milvus.db");
}

/// `remote::s3` is on only with `ENABLE_S3`, and its config (as the run.yaml writes it, with
/// the RH distribution's variables set or not) is one the provider accepts once a bucket is named.
#[test]
fn s3_follows_enable_s3() {
    lls_distribution_starter::link();
    let s3 = |c: &lls_config::RunConfig| enabled(c, "files", "remote::s3");
    assert!(s3(&load(&[])).is_none(), "on without ENABLE_S3");
    let entry = s3(&load(&[("ENABLE_S3", "true")])).unwrap_or_else(|| panic!("off with ENABLE_S3"));
    let err = (descriptor("remote::s3").check_config)(&entry.config).expect_err("no bucket named");
    assert!(err.message().contains("config.bucket_name: required"), "{}", err.message());
    let vars = [
        ("ENABLE_S3", "1"),
        ("S3_BUCKET_NAME", "llama-files"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIA1"),
        ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
        ("S3_ENDPOINT_URL", "http://minio:9000"),
        ("S3_AUTO_CREATE_BUCKET", "true"),
    ];
    let loaded = load(&vars);
    let files = &loaded.providers["files"];
    assert_eq!(files.last().map(|p| p.provider_id.as_str()), Some("s3"), "listed last, so it serves");
    let entry = s3(&loaded).unwrap_or_else(|| panic!("off with {vars:?}"));
    let config = check("remote::s3", &entry.config);
    assert_eq!(
        (&config["bucket_name"], &config["region"], &config["endpoint_url"], &config["auto_create_bucket"]),
        (&serde_json::json!("llama-files"), &serde_json::json!("eu-west-1"), &serde_json::json!("http://minio:9000"), &serde_json::json!(true))
    );
    assert_eq!(config["aws_secret_access_key"], "********");
}

/// `remote::azure` is on only with `AZURE_API_KEY`, and its config (as the run.yaml writes it,
/// with 0.3.5's AZURE_* variables) is one the provider accepts; without `AZURE_API_BASE` the
/// provider refuses it naming the variable.
#[test]
fn azure_follows_azure_api_key() {
    lls_distribution_starter::link();
    let azure = |c: &lls_config::RunConfig| enabled(c, "inference", "remote::azure");
    assert!(azure(&load(&[("AZURE_API_BASE", "https://r.openai.azure.com")])).is_none(), "on without AZURE_API_KEY");
    let entry = azure(&load(&[("AZURE_API_KEY", "k")])).unwrap_or_else(|| panic!("off with AZURE_API_KEY"));
    assert_eq!(entry.provider_id, "azure");
    let err = (descriptor("remote::azure").check_config)(&entry.config).expect_err("no endpoint named");
    assert!(err.message().contains("AZURE_API_BASE"), "{}", err.message());
    let vars = [
        ("AZURE_API_KEY", "k"),
        ("AZURE_API_BASE", "https://r.openai.azure.com"),
        ("AZURE_API_VERSION", "2024-10-21"),
        ("AZURE_API_TYPE", "azure"),
    ];
    let config = check("remote::azure", &azure(&load(&vars)).unwrap_or_else(|| panic!("off with {vars:?}")).config);
    assert_eq!(
        (&config["api_key"], &config["api_base"], &config["api_version"], &config["api_type"]),
        (&serde_json::json!("********"), &serde_json::json!("https://r.openai.azure.com"), &serde_json::json!("2024-10-21"), &serde_json::json!("azure"))
    );
}

/// `remote::ollama` is on only with `OLLAMA_URL`, and its config (as the run.yaml writes it) is
/// one the provider accepts.
#[test]
fn ollama_follows_ollama_url() {
    lls_distribution_starter::link();
    let ollama = |c: &lls_config::RunConfig| enabled(c, "inference", "remote::ollama");
    assert!(ollama(&load(&[])).is_none(), "on without OLLAMA_URL");
    let entry = ollama(&load(&[("OLLAMA_URL", "http://gpu-box:11434")])).unwrap_or_else(|| panic!("off with OLLAMA_URL"));
    assert_eq!(entry.provider_id, "ollama");
    assert_eq!(check("remote::ollama", &entry.config)["url"], "http://gpu-box:11434");
}

/// `remote::bedrock` is on only with `AWS_ACCESS_KEY_ID`, and its config (as the run.yaml writes
/// it, with 0.3.5's `AWS_*` variables set or not) is one the provider accepts.
#[test]
fn bedrock_follows_aws_access_key_id() {
    lls_distribution_starter::link();
    let bedrock = |c: &lls_config::RunConfig| enabled(c, "inference", "remote::bedrock");
    assert!(bedrock(&load(&[("AWS_DEFAULT_REGION", "us-west-2")])).is_none(), "on without AWS_ACCESS_KEY_ID");
    let vars = [("AWS_ACCESS_KEY_ID", "AKIDSTARTER"), ("AWS_SECRET_ACCESS_KEY", "s"), ("AWS_DEFAULT_REGION", "us-west-2")];
    let entry = bedrock(&load(&vars)).unwrap_or_else(|| panic!("off with {vars:?}"));
    assert_eq!(entry.provider_id, "bedrock");
    let config = check("remote::bedrock", &entry.config);
    assert_eq!((&config["aws_access_key_id"], &config["aws_secret_access_key"]), (&serde_json::json!("AKIDSTARTER"), &serde_json::json!("********")));
    assert_eq!(config["region_name"], "us-west-2");
    assert!(config["aws_session_token"].is_null(), "{config}");
}

/// `remote::watsonx` is on only with `WATSONX_API_KEY`, and its config (as the run.yaml writes it,
/// with 0.3.5's `WATSONX_*` variables set or not) is one the provider accepts.
#[test]
fn watsonx_follows_watsonx_api_key() {
    lls_distribution_starter::link();
    let watsonx = |c: &lls_config::RunConfig| enabled(c, "inference", "remote::watsonx");
    assert!(watsonx(&load(&[("WATSONX_PROJECT_ID", "p")])).is_none(), "on without WATSONX_API_KEY");
    let entry = watsonx(&load(&[("WATSONX_API_KEY", "k")])).unwrap_or_else(|| panic!("off with WATSONX_API_KEY"));
    assert_eq!(entry.provider_id, "watsonx");
    let config = check("remote::watsonx", &entry.config);
    assert_eq!((&config["url"], &config["api_key"]), (&serde_json::json!("https://us-south.ml.cloud.ibm.com"), &serde_json::json!("********")));
    assert!(config["project_id"].is_null(), "{config}");
    assert_eq!(config["iam_url"], "https://iam.cloud.ibm.com");
    let vars = [
        ("WATSONX_API_KEY", "k"),
        ("WATSONX_BASE_URL", "https://eu-de.ml.cloud.ibm.com"),
        ("WATSONX_PROJECT_ID", "0a1b2c3d-project"),
        ("WATSONX_IAM_URL", "https://iam.test.cloud.ibm.com"),
    ];
    let config = check("remote::watsonx", &watsonx(&load(&vars)).unwrap_or_else(|| panic!("off with {vars:?}")).config);
    assert_eq!(
        (&config["url"], &config["project_id"], &config["iam_url"]),
        (&serde_json::json!("https://eu-de.ml.cloud.ibm.com"), &serde_json::json!("0a1b2c3d-project"), &serde_json::json!("https://iam.test.cloud.ibm.com"))
    );
}

/// `remote::vertexai` is on only with `VERTEX_AI_PROJECT`, in `us-central1` unless
/// `VERTEX_AI_LOCATION` says otherwise, and its config (as the run.yaml writes it) is one the
/// provider accepts.
#[test]
fn vertexai_follows_vertex_ai_project() {
    lls_distribution_starter::link();
    let vertex = |c: &lls_config::RunConfig| enabled(c, "inference", "remote::vertexai");
    assert!(vertex(&load(&[("VERTEX_AI_LOCATION", "europe-west4")])).is_none(), "on without VERTEX_AI_PROJECT");
    let entry = vertex(&load(&[("VERTEX_AI_PROJECT", "my-project")])).unwrap_or_else(|| panic!("off with VERTEX_AI_PROJECT"));
    assert_eq!(entry.provider_id, "vertexai");
    let config = check("remote::vertexai", &entry.config);
    assert_eq!((&config["project"], &config["location"]), (&serde_json::json!("my-project"), &serde_json::json!("us-central1")));
    let vars = [("VERTEX_AI_PROJECT", "my-project"), ("VERTEX_AI_LOCATION", "europe-west4")];
    let config = check("remote::vertexai", &vertex(&load(&vars)).unwrap_or_else(|| panic!("off with {vars:?}")).config);
    assert_eq!(config["location"], "europe-west4");
}

/// The starter's run.yaml, expanded with only `vars` set.
fn load(vars: &[(&str, &str)]) -> lls_config::RunConfig {
    lls_config::RunConfig::from_yaml_str(lls_distribution_starter::RUN_YAML, &|name| {
        vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    })
    .unwrap_or_else(|e| panic!("run.yaml: {e}"))
}

/// The `api` provider of `provider_type` that `config` switches on (an empty id is off).
fn enabled(config: &lls_config::RunConfig, api: &str, provider_type: &str) -> Option<lls_config::ProviderEntry> {
    config.providers[api].iter().find(|p| p.provider_type == provider_type && !p.provider_id.is_empty()).cloned()
}

/// The linked provider of `provider_type`.
fn descriptor(provider_type: &str) -> &'static lls_api_common::ProviderDescriptor {
    lls_api_common::provider::descriptors()
        .into_iter()
        .find(|d| d.provider_type == provider_type)
        .unwrap_or_else(|| panic!("{provider_type} not linked"))
}

/// A provider config as the provider checks it (the test fails if it refuses it).
fn check(provider_type: &str, config: &serde_json::Value) -> serde_json::Value {
    (descriptor(provider_type).check_config)(config).unwrap_or_else(|e| panic!("{provider_type}: {e}"))
}
