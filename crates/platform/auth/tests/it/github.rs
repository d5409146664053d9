//! `github_token`: `GET /user` with the token.

use super::{build, request};
use lls_auth::AuthError;
use lls_testkit::issuers::GitHubApi;
use serde_json::json;

#[tokio::test]
async fn the_login_is_the_principal() {
    let api = GitHubApi::start().await.unwrap();
    api.add_user("ghp_1", json!({"login": "octocat", "id": 1}));
    let auth = build(&format!("type: github_token\ngithub_api_base_url: {}\n", api.url()));
    let user = auth.validate("ghp_1", &request()).await.unwrap();
    assert_eq!(user.principal, "octocat");
    assert_eq!(user.attributes["roles"], ["octocat"]);
    assert_eq!(user.attributes.get("teams"), Some(&vec![]), "organizations are not fetched, as in 0.3.5");
    assert!(matches!(auth.validate("ghp_bad", &request()).await.unwrap_err(), AuthError::Invalid(m) if m.starts_with("GitHub token validation failed")));
}
