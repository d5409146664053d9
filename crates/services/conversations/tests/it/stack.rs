//! Wiring: the service is built in, so a stack serves it whenever
//! `storage.stores.conversations` is set, even when `apis:` does not name it, and exports
//! `ConversationsApi` to dependents; without the store its routes are absent.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use lls_api_conversations::ConversationsApi;
use tower::ServiceExt;

fn run_yaml(dir: &std::path::Path, conversations: bool) -> String {
    let store = if conversations {
        "    conversations: {backend: sql_default, table_name: openai_conversations}\n"
    } else {
        ""
    };
    format!(
        "version: 2\nimage_name: conv\napis: [inference]\nproviders: {{}}\nstorage:\n  backends:\n    kv_default: {{type: kv_sqlite, db_path: {dir}/kv.db}}\n    sql_default: {{type: sql_sqlite, db_path: {dir}/sql.db}}\n  stores:\n    metadata: {{backend: kv_default, namespace: registry}}\n{store}server:\n  port: 8321\n",
        dir = dir.display()
    )
}

async fn create_status(conversations: bool) -> (StatusCode, bool) {
    let dir = tempfile::tempdir().unwrap();
    let config =
        lls_config::RunConfig::from_yaml_str(&run_yaml(dir.path(), conversations), &|_| None)
            .unwrap();
    config.validate().unwrap();
    let stack = Arc::new(lls_registry::Stack::build(config).await.unwrap());
    let exported = stack.service::<ConversationsApi>().is_some();
    let app = lls_server::app(stack).unwrap();
    let req = Request::post("/v1/conversations")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    (app.oneshot(req).await.unwrap().status(), exported)
}

#[tokio::test]
async fn served_whenever_its_store_is_configured() {
    assert_eq!(create_status(true).await, (StatusCode::OK, true));
    assert_eq!(create_status(false).await, (StatusCode::NOT_FOUND, false));
}
