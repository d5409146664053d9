//! The eight routes in-process (`oneshot`) over SQLite: shapes as the OpenAI SDK reads them,
//! 400s for bad bodies and queries and 404s, all in the OpenAI error shape.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use lls_api_conversations::Conversations;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support;

struct App {
    router: Router,
    _backend: support::Backend,
}

async fn app() -> App {
    let backend = support::sqlite().await;
    let store = backend.store.clone();
    let service: Arc<dyn Conversations> = Arc::new(
        lls_service_conversations::SqlConversations::open(store, "openai_conversations")
            .await
            .unwrap(),
    );
    let group = lls_service_conversations::route_group(service);
    assert_eq!(group.routes.len(), 8);
    App {
        router: group.router,
        _backend: backend,
    }
}

async fn call_raw(
    app: &App,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(
            body.map(|b| Body::from(b.to_owned()))
                .unwrap_or_else(Body::empty),
        )
        .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn call(app: &App, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    call_raw(app, method, path, body.map(|b| b.to_string()).as_deref()).await
}

async fn ok(app: &App, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, v) = call(app, method.clone(), path, body).await;
    assert_eq!(status, StatusCode::OK, "{method} {path}: {v}");
    v
}

/// An OpenAI-shaped error with `status`; its `param`.
async fn fails(
    app: &App,
    method: Method,
    path: &str,
    body: Option<&str>,
    status: StatusCode,
) -> Value {
    let (got, v) = call_raw(app, method.clone(), path, body).await;
    assert_eq!(got, status, "{method} {path}: {v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    assert!(v["detail"].is_string(), "{v}");
    v["error"]["param"].clone()
}

#[tokio::test]
async fn every_route_answers_as_openai() {
    let app = app().await;
    let conv = ok(
        &app,
        Method::POST,
        "/v1/conversations",
        Some(json!({
            "metadata": {"topic": "demo"},
            "items": [{"type": "message", "role": "user", "content": "Hello!"}],
        })),
    )
    .await;
    let id = conv["id"].as_str().unwrap().to_owned();
    assert_eq!(conv["object"], "conversation");
    assert!(conv["created_at"].is_i64());
    assert_eq!(conv["metadata"], json!({"topic": "demo"}));
    let one = format!("/v1/conversations/{id}");
    assert_eq!(ok(&app, Method::GET, &one, None).await, conv);
    let updated = ok(
        &app,
        Method::POST,
        &one,
        Some(json!({"metadata": {"topic": "x"}})),
    )
    .await;
    assert_eq!(updated["metadata"], json!({"topic": "x"}));

    let items = format!("{one}/items");
    let added = ok(&app, Method::POST, &items, Some(json!({"items": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Follow up"}]},
        {"type": "function_call_output", "call_id": "c1", "output": "42"},
    ]}))).await;
    assert_eq!(added["object"], "list");
    assert_eq!(added["has_more"], false);
    assert_eq!(added["data"][0]["content"][0]["text"], "Follow up");
    assert_eq!(added["first_id"], added["data"][0]["id"]);
    assert!(added["last_id"].as_str().unwrap().starts_with("item_"));

    let listed = ok(
        &app,
        Method::GET,
        &format!("{items}?limit=2&order=desc&include[]=message.output_text.logprobs"),
        None,
    )
    .await;
    assert_eq!(listed["data"][0]["type"], "function_call_output");
    assert_eq!(listed["has_more"], true);
    let rest = ok(
        &app,
        Method::GET,
        &format!(
            "{items}?limit=2&after={}",
            listed["last_id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(rest["data"][0]["content"], "Hello!");
    assert_eq!(rest["has_more"], false);

    let item_id = added["first_id"].as_str().unwrap();
    let item = ok(&app, Method::GET, &format!("{items}/{item_id}"), None).await;
    assert_eq!(item, added["data"][0]);
    let deleted = ok(&app, Method::DELETE, &format!("{items}/{item_id}"), None).await;
    assert_eq!(
        deleted,
        json!({"id": item_id, "object": "conversation.item.deleted", "deleted": true})
    );
    fails(
        &app,
        Method::GET,
        &format!("{items}/{item_id}"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    let gone = ok(&app, Method::DELETE, &one, None).await;
    assert_eq!(
        gone,
        json!({"id": id, "object": "conversation.deleted", "deleted": true})
    );
    fails(&app, Method::GET, &one, None, StatusCode::NOT_FOUND).await;
    fails(&app, Method::GET, &items, None, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn bad_requests_are_400s_naming_the_field() {
    let app = app().await;
    let conv = ok(&app, Method::POST, "/v1/conversations", Some(json!({}))).await;
    let items = format!("/v1/conversations/{}/items", conv["id"].as_str().unwrap());
    let bad = StatusCode::BAD_REQUEST;
    fails(
        &app,
        Method::POST,
        "/v1/conversations",
        Some("{not json"),
        bad,
    )
    .await;
    assert_eq!(
        fails(
            &app,
            Method::POST,
            "/v1/conversations",
            Some(r#"{"metadata": {"a": 1}}"#),
            bad
        )
        .await,
        "metadata.a"
    );
    fails(
        &app,
        Method::POST,
        "/v1/conversations",
        Some(r#"{"items": [{"type": "nonsense"}]}"#),
        bad,
    )
    .await;
    let many: Vec<Value> = (0..21)
        .map(|_| json!({"type": "message", "role": "user", "content": "x"}))
        .collect();
    assert_eq!(
        fails(
            &app,
            Method::POST,
            &items,
            Some(&json!({"items": many}).to_string()),
            bad
        )
        .await,
        "items"
    );
    assert_eq!(
        fails(
            &app,
            Method::POST,
            "/v1/conversations",
            Some(&json!({"items": many}).to_string()),
            bad
        )
        .await,
        "items"
    );
    let twenty = &many[..20];
    ok(&app, Method::POST, &items, Some(json!({"items": twenty}))).await;
    fails(&app, Method::POST, &items, Some("{}"), bad).await;
    assert_eq!(
        fails(&app, Method::GET, &format!("{items}?limit=0"), None, bad).await,
        "limit"
    );
    assert_eq!(
        fails(&app, Method::GET, &format!("{items}?limit=abc"), None, bad).await,
        "limit"
    );
    assert_eq!(
        fails(&app, Method::GET, &format!("{items}?order=up"), None, bad).await,
        "order"
    );
    assert_eq!(
        fails(
            &app,
            Method::GET,
            &format!("{items}?after=msg_nope"),
            None,
            bad
        )
        .await,
        "after"
    );
    assert_eq!(
        fails(&app, Method::GET, "/v1/conversations/abc", None, bad).await,
        "conversation_id"
    );
    fails(
        &app,
        Method::DELETE,
        "/v1/conversations/conv_missing",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    fails(
        &app,
        Method::DELETE,
        &format!("{items}/msg_missing"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
}
