//! `oauth2_token` + `introspection` (RFC 7662).

use super::{build, request};
use lls_auth::AuthError;
use lls_testkit::issuers::{IntrospectionServer, now_secs};
use serde_json::json;

fn config(server: &IntrospectionServer, secret: &str, in_body: bool) -> String {
    format!(
        "type: oauth2_token\nintrospection:\n  url: {}\n  client_id: stack\n  client_secret: {secret}\n  send_secret_in_body: {in_body}\n",
        server.url()
    )
}

#[tokio::test]
async fn active_tokens_are_accepted_by_basic_auth_or_body_credentials() {
    let server = IntrospectionServer::start("stack", "s3cret").await.unwrap();
    server.set("tok-a", json!({"active": true, "sub": "alice", "groups": ["eng"], "exp": now_secs() + 600}));
    server.set("tok-b", json!({"active": true, "username": "bob", "scope": "a b"}));
    let basic = build(&config(&server, "s3cret", false));
    let user = basic.validate("tok-a", &request()).await.unwrap();
    assert_eq!(user.principal, "alice");
    assert_eq!(user.attributes["roles"], ["alice"]);
    assert_eq!(user.attributes["teams"], ["eng"]);
    let body = build(&config(&server, "s3cret", true));
    let user = body.validate("tok-b", &request()).await.unwrap();
    assert_eq!(user.principal, "bob", "username when there is no sub");
    assert_eq!(server.credentials_in_body(), [false, true]);
    assert!(body.challenge().contains("validated by 127.0.0.1:"));
}

#[tokio::test]
async fn inactive_unknown_and_unauthorised_are_refused() {
    let server = IntrospectionServer::start("stack", "s3cret").await.unwrap();
    server.set("revoked", json!({"active": false, "sub": "alice"}));
    let auth = build(&config(&server, "s3cret", false));
    assert_eq!(auth.validate("revoked", &request()).await.unwrap_err(), AuthError::Invalid("Token not active".into()));
    assert_eq!(auth.validate("never-seen", &request()).await.unwrap_err(), AuthError::Invalid("Token not active".into()));
    let wrong_secret = build(&config(&server, "nope", false));
    assert_eq!(
        wrong_secret.validate("revoked", &request()).await.unwrap_err(),
        AuthError::Invalid("Token introspection failed: 401".into())
    );
}

#[tokio::test]
async fn answers_are_cached_until_exp_and_expired_ones_are_not() {
    let server = IntrospectionServer::start("stack", "s3cret").await.unwrap();
    server.set("long", json!({"active": true, "sub": "alice", "exp": now_secs() + 600}));
    server.set("done", json!({"active": true, "sub": "alice", "exp": now_secs() - 5}));
    let auth = build(&config(&server, "s3cret", false));
    for _ in 0..3 {
        auth.validate("long", &request()).await.unwrap();
    }
    assert_eq!(server.calls(), 1);
    for _ in 0..2 {
        auth.validate("done", &request()).await.unwrap();
    }
    assert_eq!(server.calls(), 3, "an answer already past its exp is not kept");
}
