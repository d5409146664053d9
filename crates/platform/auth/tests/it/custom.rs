//! `custom`: an external endpoint decides.

use super::{build, request};
use lls_auth::{AuthError, RequestInfo};
use lls_testkit::issuers::CustomAuthServer;
use serde_json::json;

#[tokio::test]
async fn the_endpoint_sees_the_request_without_authorization_and_decides() {
    let server = CustomAuthServer::start().await.unwrap();
    server.accept("key-1", json!({"principal": "svc", "attributes": {"roles": ["admin"]}}));
    let auth = build(&format!("type: custom\nendpoint: {}\n", server.endpoint()));
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", "Bearer key-1".parse().unwrap());
    headers.insert("x-tenant", "acme".parse().unwrap());
    let req = RequestInfo { path: "/v1/models", query: Some("a=1&a=2&b=&c=x%20y"), headers: &headers };
    let user = auth.validate("key-1", &req).await.unwrap();
    assert_eq!(user.principal, "svc");
    assert_eq!(user.attributes["roles"], ["admin"]);
    let sent = &server.requests()[0];
    assert_eq!(sent["api_key"], "key-1");
    assert_eq!(sent["request"]["path"], "/v1/models");
    assert_eq!(sent["request"]["headers"], json!({"x-tenant": "acme"}));
    assert_eq!(sent["request"]["params"], json!({"a": ["1", "2"], "c": ["x y"]}));
    // The answer depends on the request, so it is asked every time.
    auth.validate("key-1", &req).await.unwrap();
    assert_eq!(server.requests().len(), 2);
    assert!(auth.challenge().contains("validated by 127.0.0.1:"));
}

#[tokio::test]
async fn refusals_and_bad_answers_are_auth_errors() {
    let server = CustomAuthServer::start().await.unwrap();
    server.answer("forbidden", 403, r#"{"message": "no"}"#);
    server.answer("garbage", 200, "not json");
    server.answer("no-principal", 200, r#"{"attributes": {}}"#);
    server.accept("bare", json!({"principal": "p"}));
    let auth = build(&format!("type: custom\nendpoint: {}\n", server.endpoint()));
    let err = |m: &str| AuthError::Invalid(m.to_owned());
    assert_eq!(auth.validate("unknown", &request()).await.unwrap_err(), err("Authentication failed: 401"));
    assert_eq!(auth.validate("forbidden", &request()).await.unwrap_err(), err("Authentication failed: 403"));
    assert_eq!(auth.validate("garbage", &request()).await.unwrap_err(), err("Invalid authentication response format"));
    assert_eq!(
        auth.validate("no-principal", &request()).await.unwrap_err(),
        err("Invalid authentication response format")
    );
    assert!(auth.validate("bare", &request()).await.unwrap().attributes.is_empty());
    let down = build("type: custom\nendpoint: http://127.0.0.1:9/auth\n");
    assert!(matches!(down.validate("x", &request()).await.unwrap_err(), AuthError::Unavailable(_)));
}
