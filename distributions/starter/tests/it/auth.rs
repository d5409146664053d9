//! `server.auth` end to end in process: bearer tokens from a real JWKS issuer (keys made at test
//! time), the 401s, the open probes, and owners on what callers create: models, tool groups,
//! vector stores. Another tenant's object answers exactly as a missing one; a policy decides
//! what else a caller may do (403 when it may read but not change).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::http::{Method, StatusCode};
use lls_testkit::issuers::{JwksIssuer, SigningKey, now_secs};
use serde_json::{Value, json};

use crate::support::*;

struct Env {
    app: Router,
    key: SigningKey,
    issuer: JwksIssuer,
    _dir: tempfile::TempDir,
}

/// The RAG stack with oauth2_token over a JWKS and `policy` (YAML, may be empty for the default).
async fn env(policy: &str) -> Env {
    let key = SigningKey::rs256("k1").unwrap();
    let issuer = JwksIssuer::start(&[&key]).await.unwrap();
    let auth = format!(
        "server:\n  port: 8321\n  auth:\n    provider_config:\n      type: oauth2_token\n      issuer: {iss}\n      audience: llama-stack\n      jwks: {{uri: {uri}}}\n{policy}",
        iss = issuer.issuer(),
        uri = issuer.uri(),
    );
    let dir = tempfile::tempdir().unwrap();
    let yaml = rag_stack_yaml(dir.path(), "auth", "").replace("server:\n  port: 8321\n", &auth);
    assert!(yaml.contains("oauth2_token"), "{yaml}");
    Env {
        app: app_from_yaml(&yaml).await,
        key,
        issuer,
        _dir: dir,
    }
}

impl Env {
    fn token(&self, sub: &str, extra: Value) -> String {
        let mut claims = json!({"sub": sub, "iss": self.issuer.issuer(), "aud": "llama-stack", "exp": now_secs() + 600});
        if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        self.key.sign(&claims)
    }

    async fn as_(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let auth = format!("Bearer {token}");
        let body = body.map(|b| b.to_string());
        let (status, text) = send_text(
            &self.app,
            method,
            path,
            body.as_deref(),
            &[("authorization", &auth)],
        )
        .await;
        (status, json_or_text(text))
    }
}

fn message(body: &Value) -> &str {
    body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message in {body}"))
}

#[tokio::test]
async fn tokens_are_required_except_on_the_probes() {
    let env = env("").await;
    for path in ["/v1/health", "/v1/version"] {
        assert_eq!(get(&env.app, path).await.0, StatusCode::OK, "{path}");
    }
    let (status, body) = get(&env.app, "/v1/models").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(message(&body).contains("Authentication required"), "{body}");
    // Unknown paths are authenticated too (no route list leaks).
    assert_eq!(get(&env.app, "/nothing-here").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&env.app, "/docsx").await.0, StatusCode::UNAUTHORIZED);
    // The browser pages hold no data and open without a token; what they load from the API
    // (the OpenAPI document included) needs one.
    for path in ["/docs", "/playground", "/playground/api.js", "/docs/docs.js"] {
        assert_eq!(get(&env.app, path).await.0, StatusCode::OK, "{path}");
    }
    assert_eq!(get(&env.app, "/openapi.json").await.0, StatusCode::UNAUTHORIZED);
    let (status, text) = send_text(
        &env.app,
        Method::GET,
        "/v1/models",
        None,
        &[("authorization", "Basic YTpi")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        message(&json_or_text(text)),
        "Invalid Authorization header format"
    );

    let good = env.token("alice", json!({}));
    assert_eq!(
        env.as_(&good, Method::GET, "/v1/models", None).await.0,
        StatusCode::OK
    );
    // Pages, not API routes: not listed among the routes.
    let (status, routes) = env.as_(&good, Method::GET, "/v1/inspect/routes", None).await;
    assert_eq!(status, StatusCode::OK);
    let listed = routes.to_string();
    assert!(listed.contains("/v1/models") && !listed.contains("/docs") && !listed.contains("/playground"), "{listed}");
    let expired = env.token("alice", json!({"exp": now_secs() - 120}));
    let wrong_audience = env.token("alice", json!({"aud": "someone-else"}));
    let forged = SigningKey::rs256("k1").unwrap().sign(&json!({"sub": "mallory", "iss": env.issuer.issuer(), "aud": "llama-stack", "exp": now_secs() + 600}));
    for (what, token) in [
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("forged", forged),
        ("garbage", "not-a-jwt".to_owned()),
    ] {
        let (status, body) = env.as_(&token, Method::GET, "/v1/models", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(
            body["error"]["type"], "authentication_error",
            "{what}: {body}"
        );
    }
}

/// Registers `model_id` on the fake provider as `token`'s caller.
async fn register_model(env: &Env, token: &str, model_id: &str) -> (StatusCode, Value) {
    let body = json!({"model_id": model_id, "provider_id": "fake", "provider_model_id": model_id});
    env.as_(token, Method::POST, "/v1/models", Some(body)).await
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[key].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn with_the_default_policy_tenants_do_not_see_each_other() {
    let env = env("").await;
    let (alice, bob) = (env.token("alice", json!({})), env.token("bob", json!({})));

    // Models: alice's is hers; run.yaml's (unowned) are everyone's.
    assert_eq!(
        register_model(&env, &alice, "slow-1").await.0,
        StatusCode::OK
    );
    let (_, listed) = env.as_(&bob, Method::GET, "/v1/models", None).await;
    let bobs = ids(&listed, "identifier");
    assert!(
        !bobs.contains(&"fake/slow-1".to_owned()) && bobs.contains(&"fake/fake-llm".to_owned()),
        "{bobs:?}"
    );
    let missing = env
        .as_(&bob, Method::GET, "/v1/models/fake/never-registered", None)
        .await;
    let hidden = env
        .as_(&bob, Method::GET, "/v1/models/fake/slow-1", None)
        .await;
    assert_eq!(hidden.0, missing.0);
    assert_eq!(hidden.0, StatusCode::NOT_FOUND);
    assert_eq!(
        env.as_(&bob, Method::DELETE, "/v1/models/fake/slow-1", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    // Nor can bob call it by name: the registered model shadows the provider fallback, which
    // would serve `fake/slow-1` to anyone were it not registered.
    let chat = json!({"model": "fake/slow-1", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(
        env.as_(
            &bob,
            Method::POST,
            "/v1/chat/completions",
            Some(chat.clone())
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        env.as_(&alice, Method::POST, "/v1/chat/completions", Some(chat))
            .await
            .0,
        StatusCode::OK
    );
    let (_, mine) = env
        .as_(&alice, Method::GET, "/v1/models/fake/slow-1", None)
        .await;
    assert_eq!(mine["identifier"], "fake/slow-1");

    // Tool groups.
    let group = json!({"toolgroup_id": "alice::rag", "provider_id": "rag-runtime"});
    assert_eq!(
        env.as_(&alice, Method::POST, "/v1/toolgroups", Some(group))
            .await
            .0,
        StatusCode::OK
    );
    let (_, groups) = env.as_(&bob, Method::GET, "/v1/toolgroups", None).await;
    assert!(!ids(&groups, "identifier").contains(&"alice::rag".to_owned()));
    assert_eq!(
        env.as_(&bob, Method::GET, "/v1/toolgroups/alice::rag", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        env.as_(&bob, Method::DELETE, "/v1/toolgroups/alice::rag", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        env.as_(&alice, Method::GET, "/v1/toolgroups/alice::rag", None)
            .await
            .0,
        StatusCode::OK
    );

    // Vector stores: bob's answers for alice's store are those for a store that does not exist.
    let (status, store) = env
        .as_(
            &alice,
            Method::POST,
            "/v1/vector_stores",
            Some(json!({"name": "a"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{store}");
    let id = store["id"].as_str().unwrap().to_owned();
    let (_, listed) = env.as_(&bob, Method::GET, "/v1/vector_stores", None).await;
    assert!(ids(&listed, "id").is_empty());
    let search = json!({"query": "anything"});
    for (method, suffix, body) in [
        (Method::GET, "", None),
        (Method::POST, "", Some(json!({"name": "taken"}))),
        (Method::POST, "/search", Some(search)),
        (Method::GET, "/files", None),
        (Method::DELETE, "", None),
    ] {
        let (hidden_status, hidden) = env
            .as_(
                &bob,
                method.clone(),
                &format!("/v1/vector_stores/{id}{suffix}"),
                body.clone(),
            )
            .await;
        let (missing_status, missing) = env
            .as_(
                &bob,
                method.clone(),
                &format!("/v1/vector_stores/vs_missing{suffix}"),
                body,
            )
            .await;
        assert_eq!(hidden_status, missing_status, "{method} {suffix}: {hidden}");
        assert_ne!(hidden_status, StatusCode::FORBIDDEN);
        assert_eq!(
            message(&hidden).replace(&id, "vs_missing"),
            message(&missing),
            "{method} {suffix}"
        );
    }
    let (status, kept) = env
        .as_(
            &alice,
            Method::GET,
            &format!("/v1/vector_stores/{id}"),
            None,
        )
        .await;
    assert_eq!((status, kept["name"].as_str()), (StatusCode::OK, Some("a")));
    assert_eq!(
        env.as_(
            &alice,
            Method::DELETE,
            &format!("/v1/vector_stores/{id}"),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
}

/// Everyone reads unowned resources, authenticated users create, owners read/update/delete,
/// admins do anything: what a caller may read but not change is a 403 with 0.3.5's text.
const POLICY: &str = "    access_policy:
    - permit: {actions: [create, read, update, delete]}
      when: user with admin in roles
    - permit: {actions: [create]}
    - permit: {actions: [read, update, delete]}
      when: user is owner
    - permit: {actions: [read]}
      when: user in owners roles
";

#[tokio::test]
async fn a_policy_decides_beyond_ownership() {
    let env = env(POLICY).await;
    let alice = env.token("alice", json!({}));
    let admin = env.token("root", json!({"username": "admin"}));
    // Unowned (run.yaml's) models: readable by all, not deletable by a plain user.
    let (status, body) = env
        .as_(&alice, Method::DELETE, "/v1/models/fake/fake-llm", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        message(&body),
        "Permission denied: User 'alice' (attributes: roles=['alice']) cannot perform action 'delete' on resource 'model::fake/fake-llm'"
    );
    assert_eq!(
        register_model(&env, &alice, "alice-llm").await.0,
        StatusCode::OK
    );
    // The admin reads and deletes alice's model.
    let (_, listed) = env.as_(&admin, Method::GET, "/v1/models", None).await;
    assert!(ids(&listed, "identifier").contains(&"fake/alice-llm".to_owned()));
    assert_eq!(
        env.as_(&admin, Method::DELETE, "/v1/models/fake/alice-llm", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        env.as_(&alice, Method::GET, "/v1/models/fake/alice-llm", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_env_switch_leaves_auth_off_when_unset() {
    let dir = tempfile::tempdir().unwrap();
    let off = "server:\n  port: 8321\n  auth:\n    provider_config:\n      type: null\n      jwks: {uri: null}\n";
    let yaml = rag_stack_yaml(dir.path(), "auth-off", "").replace("server:\n  port: 8321\n", off);
    let app = app_from_yaml(&yaml).await;
    assert_eq!(get(&app, "/v1/models").await.0, StatusCode::OK);
}
