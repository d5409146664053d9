//! `kubernetes`: a `SelfSubjectReview` made with the token.

use super::{build, request};
use lls_auth::AuthError;
use lls_testkit::issuers::KubeApiServer;
use serde_json::json;

#[tokio::test]
async fn a_review_names_the_user_and_groups() {
    let server = KubeApiServer::start().await.unwrap();
    server.add_user(
        "sa-token",
        json!({"username": "system:serviceaccount:ns:bot", "uid": "u1", "groups": ["system:serviceaccounts", "devs"]}),
    );
    let auth = build(&format!("type: kubernetes\napi_server_url: {}\n", server.url()));
    let user = auth.validate("sa-token", &request()).await.unwrap();
    assert_eq!(user.principal, "system:serviceaccount:ns:bot");
    assert_eq!(user.attributes["roles"], ["system:serviceaccount:ns:bot", "system:serviceaccounts", "devs"]);
    auth.validate("sa-token", &request()).await.unwrap();
    assert_eq!(server.calls(), 1, "cached");
}

#[tokio::test]
async fn unauthorised_and_forbidden_tokens_are_refused() {
    let server = KubeApiServer::start().await.unwrap();
    server.add_user("limited", json!({"username": "x"}));
    server.forbid("limited");
    server.add_user("nameless", json!({"uid": "u2"}));
    let auth = build(&format!("type: kubernetes\napi_server_url: {}/ignored/path\n", server.url()));
    assert_eq!(auth.validate("bad", &request()).await.unwrap_err(), AuthError::Invalid("Invalid token".into()));
    assert_eq!(
        auth.validate("limited", &request()).await.unwrap_err(),
        AuthError::Invalid("Token validation failed: 403".into())
    );
    assert_eq!(
        auth.validate("nameless", &request()).await.unwrap_err(),
        AuthError::Invalid("No username found in SelfSubjectReview response".into())
    );
    assert_eq!(server.calls(), 3, "refusals are not cached");
}
