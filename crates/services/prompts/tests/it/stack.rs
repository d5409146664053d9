//! Wiring: the service is built in, so a stack serves it whenever `storage.stores.metadata` is
//! set (always), even when `apis:` does not name it, exports `PromptsApi` to dependents, and
//! keeps its prompts in the metadata backend's `prompts` namespace.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use lls_api_common::store::{KvStoreRef, StoreResolver};
use lls_api_prompts::PromptsApi;
use serde_json::Value;
use tower::ServiceExt;

fn run_yaml(dir: &std::path::Path) -> String {
    format!(
        "version: 2\nimage_name: prompts\napis: [inference]\nproviders: {{}}\nstorage:\n  backends:\n    kv_default: {{type: kv_sqlite, db_path: {dir}/kv.db}}\n    sql_default: {{type: sql_sqlite, db_path: {dir}/sql.db}}\n  stores:\n    metadata: {{backend: kv_default, namespace: registry}}\nserver:\n  port: 8321\n",
        dir = dir.display()
    )
}

#[tokio::test]
async fn served_by_every_stack_in_the_metadata_backend() {
    let dir = tempfile::tempdir().unwrap();
    let config = lls_config::RunConfig::from_yaml_str(&run_yaml(dir.path()), &|_| None).unwrap();
    config.validate().unwrap();
    let stack = Arc::new(lls_registry::Stack::build(config).await.unwrap());
    assert!(stack.service::<PromptsApi>().is_some());
    let app = lls_server::app(stack.clone()).unwrap();
    let req = Request::post("/v1/prompts")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"prompt": "Hi"}"#))
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let created: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let id = created["prompt_id"].as_str().unwrap();
    drop(stack);

    // 0.3.5's place: namespace `prompts` of the metadata store's backend.
    let stores = lls_storage::Stores::new([(
        "kv_default".to_owned(),
        lls_storage::BackendSpec::SqliteKv {
            path: dir.path().join("kv.db"),
        },
    )])
    .unwrap();
    let kv = stores
        .kv(&KvStoreRef {
            backend: "kv_default".into(),
            namespace: "prompts".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        kv.get(&format!("prompts:v1:{id}:default"))
            .await
            .unwrap()
            .as_deref(),
        Some("1")
    );
}
