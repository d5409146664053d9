//! Snapshot of the providers the starter links by default: a feature that stops linking its
//! crate (and so silently loses its `inventory` entry) fails here.

#[test]
fn default_features_register_these_providers() {
    lls_distribution_starter::link();
    let registered: Vec<String> = lls_api_common::provider::descriptors()
        .iter()
        .map(|d| format!("{} {}", d.api, d.provider_type))
        .collect();
    // inline::fake is a dev-dependency of the test build only.
    let expected = [
        "files inline::localfs",
        "inference inline::sentence-transformers",
        "inference remote::openai",
        "inference remote::vllm",
        "safety inline::llama-guard",
        "tool_runtime inline::rag-runtime",
        "tool_runtime remote::model-context-protocol",
        "vector_io inline::faiss",
        "vector_io inline::sqlite-vec",
    ];
    for e in expected {
        assert!(registered.iter().any(|r| r == e), "{e} missing from {registered:?}");
    }
    assert!(registered.iter().all(|r| expected.contains(&r.as_str()) || r == "inference inline::fake"), "{registered:?}");
}
