//! The seven routes in-process (`oneshot`) over SQLite: 0.3.5's shapes, 204 on delete, and
//! 400s, 404s and 409s in the one error shape (OpenAI's `error` object and a `detail`).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use lls_api_prompts::Prompts;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support;

struct App {
    router: Router,
    _backend: support::Backend,
}

async fn app() -> App {
    let backend = support::sqlite().await;
    let service: Arc<dyn Prompts> =
        Arc::new(lls_service_prompts::KvPrompts::new(backend.kv.clone()));
    let group = lls_service_prompts::route_group(service);
    assert_eq!(group.routes.len(), 7);
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

async fn ok(app: &App, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, v) = call_raw(
        app,
        method.clone(),
        path,
        body.map(|b| b.to_string()).as_deref(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{method} {path}: {v}");
    v
}

/// An error in the one shape with `status`; its message.
async fn fails(
    app: &App,
    method: Method,
    path: &str,
    body: Option<&str>,
    status: StatusCode,
) -> String {
    let (got, v) = call_raw(app, method.clone(), path, body).await;
    assert_eq!(got, status, "{method} {path}: {v}");
    assert!(v["detail"].is_string(), "{v}");
    v["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_route_answers_in_0_3_5_shapes() {
    let app = app().await;
    let created = ok(
        &app,
        Method::POST,
        "/v1/prompts",
        Some(json!({"prompt": "Hello {{ name }}!", "variables": ["name"]})),
    )
    .await;
    let id = created["prompt_id"].as_str().unwrap().to_owned();
    assert_eq!(
        created,
        json!({"prompt": "Hello {{ name }}!", "version": 1, "prompt_id": id, "variables": ["name"], "is_default": true})
    );
    let one = format!("/v1/prompts/{id}");
    assert_eq!(ok(&app, Method::GET, &one, None).await, created);
    assert_eq!(
        ok(&app, Method::GET, "/v1/prompts", None).await,
        json!({"data": [created]})
    );

    let v2 = ok(
        &app,
        Method::POST,
        &one,
        Some(json!({"prompt": "Bye", "version": 1})),
    )
    .await;
    assert_eq!(
        v2,
        json!({"prompt": "Bye", "version": 2, "prompt_id": id, "variables": [], "is_default": true})
    );
    let msg = fails(
        &app,
        Method::POST,
        &one,
        Some(r#"{"prompt": "x", "version": 1}"#),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        msg.contains("'1' is not the latest prompt version"),
        "{msg}"
    );

    let listed = ok(&app, Method::GET, &format!("{one}/versions"), None).await;
    let flags: Vec<(i64, bool)> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["version"].as_i64().unwrap(),
                p["is_default"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(flags, [(1, false), (2, true)]);

    let chosen = ok(
        &app,
        Method::POST,
        &format!("{one}/set-default-version"),
        Some(json!({"version": 1})),
    )
    .await;
    assert_eq!(
        (chosen["version"].clone(), chosen["is_default"].clone()),
        (json!(1), json!(true))
    );
    assert_eq!(
        ok(&app, Method::GET, &one, None).await["prompt"],
        "Hello {{ name }}!"
    );
    let by_version = ok(&app, Method::GET, &format!("{one}?version=2"), None).await;
    assert_eq!(
        (
            by_version["prompt"].clone(),
            by_version["is_default"].clone()
        ),
        (json!("Bye"), json!(false))
    );

    let (status, body) = call_raw(&app, Method::DELETE, &one, None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    fails(&app, Method::GET, &one, None, StatusCode::NOT_FOUND).await;
    fails(
        &app,
        Method::GET,
        &format!("{one}/versions"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    fails(&app, Method::DELETE, &one, None, StatusCode::NOT_FOUND).await;
    assert_eq!(
        ok(&app, Method::GET, "/v1/prompts", None).await,
        json!({"data": []})
    );
}

#[tokio::test]
async fn bad_requests_are_4xx_never_5xx() {
    let app = app().await;
    let bad = StatusCode::BAD_REQUEST;
    let msg = fails(
        &app,
        Method::POST,
        "/v1/prompts",
        Some(r#"{"prompt": "{{ a }} {{ b }}", "variables": ["a"]}"#),
        bad,
    )
    .await;
    assert_eq!(msg, "Prompt contains undeclared variables: ['b']");
    fails(
        &app,
        Method::POST,
        "/v1/prompts",
        Some(r#"{"variables": []}"#),
        bad,
    )
    .await;
    fails(
        &app,
        Method::POST,
        "/v1/prompts",
        Some(r#"{"prompt": 3}"#),
        bad,
    )
    .await;
    fails(&app, Method::POST, "/v1/prompts", Some("not json"), bad).await;
    let msg = fails(&app, Method::GET, "/v1/prompts/invalid_id", None, bad).await;
    assert!(msg.contains("pmpt_"), "{msg}");
    fails(
        &app,
        Method::GET,
        "/v1/prompts/invalid_id/versions",
        None,
        bad,
    )
    .await;
    fails(&app, Method::DELETE, "/v1/prompts/invalid_id", None, bad).await;

    let p = ok(
        &app,
        Method::POST,
        "/v1/prompts",
        Some(json!({"prompt": "V1"})),
    )
    .await;
    let one = format!("/v1/prompts/{}", p["prompt_id"].as_str().unwrap());
    fails(&app, Method::GET, &format!("{one}?version=abc"), None, bad).await;
    fails(&app, Method::GET, &format!("{one}?version=0"), None, bad).await;
    fails(
        &app,
        Method::GET,
        &format!("{one}?version=7"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    fails(&app, Method::POST, &one, Some(r#"{"prompt": "x"}"#), bad).await;
    fails(
        &app,
        Method::POST,
        &one,
        Some(r#"{"prompt": "x", "version": 0}"#),
        bad,
    )
    .await;
    fails(
        &app,
        Method::POST,
        &format!("{one}/set-default-version"),
        Some("{}"),
        bad,
    )
    .await;
    fails(
        &app,
        Method::POST,
        &format!("{one}/set-default-version"),
        Some(r#"{"version": 5}"#),
        StatusCode::NOT_FOUND,
    )
    .await;
    let unknown = format!("/v1/prompts/pmpt_{}", "0".repeat(48));
    fails(&app, Method::GET, &unknown, None, StatusCode::NOT_FOUND).await;
    fails(
        &app,
        Method::POST,
        &unknown,
        Some(r#"{"prompt": "x", "version": 1}"#),
        StatusCode::NOT_FOUND,
    )
    .await;
}
