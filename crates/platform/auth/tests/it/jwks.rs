//! `oauth2_token` + `jwks`.

use super::{build, request};
use lls_auth::{AuthError, Authenticator};
use lls_testkit::issuers::{JwksIssuer, SigningKey, now_secs};
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

/// RSA key generation is the slow part; the tests share a few keys.
fn keys() -> &'static [SigningKey; 3] {
    static KEYS: OnceLock<[SigningKey; 3]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [SigningKey::rs256("rsa-1").unwrap(), SigningKey::es256("ec-1").unwrap(), SigningKey::rs256("rsa-2").unwrap()]
    })
}

fn claims(issuer: &str) -> Value {
    let now = now_secs();
    json!({"sub": "alice", "aud": "llama-stack", "iss": issuer, "iat": now, "exp": now + 600,
           "groups": ["eng", "ops"], "scope": "read write"})
}

fn authenticator(issuer: &JwksIssuer) -> Arc<dyn Authenticator> {
    build(&format!(
        "type: oauth2_token\nissuer: {}\njwks:\n  uri: {}\nclaims_mapping:\n  sub: roles\n  groups: teams\n  scope: scopes\n",
        issuer.issuer(),
        issuer.uri()
    ))
}

async fn refused(auth: &Arc<dyn Authenticator>, token: &str) -> String {
    match auth.validate(token, &request()).await {
        Err(AuthError::Invalid(m)) => m,
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

#[tokio::test]
async fn rs256_and_es256_tokens_are_accepted_with_mapped_claims() {
    let [rsa, ec, _] = keys();
    let issuer = JwksIssuer::start(&[rsa, ec]).await.unwrap();
    let auth = authenticator(&issuer);
    for key in [rsa, ec] {
        let user = auth.validate(&key.sign(&claims(&issuer.issuer())), &request()).await.unwrap();
        assert_eq!(user.principal, "alice");
        assert_eq!(user.attributes["roles"], ["alice"]);
        assert_eq!(user.attributes["teams"], ["eng", "ops"]);
        assert_eq!(user.attributes["scopes"], ["read", "write"]);
    }
    assert_eq!(issuer.fetches(), 1, "the key set is fetched once and kept");
}

#[tokio::test]
async fn time_audience_and_issuer_claims_are_checked() {
    let [rsa, ..] = keys();
    let issuer = JwksIssuer::start(&[rsa]).await.unwrap();
    let auth = authenticator(&issuer);
    let now = now_secs();
    let base = claims(&issuer.issuer());
    let with = |k: &str, v: Value| {
        let mut c = base.clone();
        c[k] = v;
        rsa.sign(&c)
    };
    assert!(refused(&auth, &with("exp", json!(now - 10))).await.contains("expired"));
    assert!(refused(&auth, &with("nbf", json!(now + 600))).await.contains("not yet valid"));
    assert!(refused(&auth, &with("aud", json!("someone-else"))).await.contains("audience"));
    assert!(refused(&auth, &with("iss", json!("https://evil.example"))).await.contains("issuer"));
    let mut no_iss = base.clone();
    no_iss.as_object_mut().unwrap().remove("iss");
    assert!(refused(&auth, &rsa.sign(&no_iss)).await.contains("issuer"));
    let mut no_sub = base.clone();
    no_sub.as_object_mut().unwrap().remove("sub");
    assert!(refused(&auth, &rsa.sign(&no_sub)).await.contains("sub"));
    assert!(refused(&auth, "not.a.jwt").await.contains("Invalid JWT token"));
    // An audience list that includes ours is accepted.
    auth.validate(&with("aud", json!(["other", "llama-stack"])), &request()).await.unwrap();
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_refused() {
    let [rsa, ec, other] = keys();
    let issuer = JwksIssuer::start(&[rsa, ec]).await.unwrap();
    let auth = authenticator(&issuer);
    let forged = other.sign_as(rsa.kid(), &claims(&issuer.issuer()));
    assert!(refused(&auth, &forged).await.contains("bad signature"));
    // The header says RS256 but the key named is the EC one.
    let mismatched = rsa.sign_as(ec.kid(), &claims(&issuer.issuer()));
    assert!(refused(&auth, &mismatched).await.contains("Invalid JWT token"));
}

#[tokio::test]
async fn unknown_kid_refetches_once_then_is_rate_limited() {
    let [rsa, ..] = keys();
    let issuer = JwksIssuer::start(&[rsa]).await.unwrap();
    let auth = authenticator(&issuer);
    auth.validate(&rsa.sign(&claims(&issuer.issuer())), &request()).await.unwrap();
    assert_eq!(issuer.fetches(), 1);
    for i in 0..20 {
        let bogus = rsa.sign_as(&format!("bogus-{i}"), &claims(&issuer.issuer()));
        assert!(refused(&auth, &bogus).await.contains("unknown key id"));
    }
    assert_eq!(issuer.fetches(), 2, "a flood of unknown kids costs one refetch per interval");
}

#[tokio::test]
async fn rotation_is_picked_up_through_the_unknown_kid_refetch() {
    let [rsa, ec, rsa2] = keys();
    let issuer = JwksIssuer::start(&[rsa, ec]).await.unwrap();
    let auth = authenticator(&issuer);
    auth.validate(&rsa.sign(&claims(&issuer.issuer())), &request()).await.unwrap();
    // The issuer rotates: rsa-1 retired, rsa-2 introduced.
    issuer.publish(&[rsa2, ec]);
    let mut c = claims(&issuer.issuer());
    c["sub"] = json!("bob");
    let user = auth.validate(&rsa2.sign(&c), &request()).await.unwrap();
    assert_eq!(user.principal, "bob");
    assert_eq!(issuer.fetches(), 2);
    // The retired key's tokens are refused once they are not in the cache (a new token).
    c["sub"] = json!("carol");
    assert!(refused(&auth, &rsa.sign(&c)).await.contains("unknown key id"));
}

#[tokio::test]
async fn the_key_set_is_refetched_after_key_recheck_period() {
    let [rsa, ..] = keys();
    let issuer = JwksIssuer::start(&[rsa]).await.unwrap();
    let auth = build(&format!("type: oauth2_token\njwks:\n  uri: {}\n  key_recheck_period: 1\n", issuer.uri()));
    let mut c = claims(&issuer.issuer());
    auth.validate(&rsa.sign(&c), &request()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    c["sub"] = json!("dave");
    auth.validate(&rsa.sign(&c), &request()).await.unwrap();
    assert_eq!(issuer.fetches(), 2);
}

#[tokio::test]
async fn a_cached_token_does_not_reach_the_issuer_again() {
    let [_, ec, _] = keys();
    let issuer = JwksIssuer::start(&[ec]).await.unwrap();
    let auth = authenticator(&issuer);
    let token = ec.sign(&claims(&issuer.issuer()));
    auth.validate(&token, &request()).await.unwrap();
    // Even with the key gone from the issuer, the validated token is reused until it expires.
    issuer.publish(&[]);
    for _ in 0..3 {
        assert_eq!(auth.validate(&token, &request()).await.unwrap().principal, "alice");
    }
    assert_eq!(issuer.fetches(), 1);
}

#[tokio::test]
async fn jwks_token_is_sent_and_an_unreachable_issuer_is_unavailable() {
    let [rsa, ..] = keys();
    let issuer = JwksIssuer::start(&[rsa]).await.unwrap();
    issuer.require_token("k8s-sa-token");
    let with_token =
        build(&format!("type: oauth2_token\njwks:\n  uri: {}\n  token: k8s-sa-token\n", issuer.uri()));
    with_token.validate(&rsa.sign(&claims(&issuer.issuer())), &request()).await.unwrap();
    let without = build(&format!("type: oauth2_token\njwks:\n  uri: {}\n", issuer.uri()));
    let err = without.validate(&rsa.sign(&claims(&issuer.issuer())), &request()).await.unwrap_err();
    assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
    let gone = build("type: oauth2_token\njwks:\n  uri: http://127.0.0.1:9/jwks\n");
    let err = gone.validate(&rsa.sign(&claims(&issuer.issuer())), &request()).await.unwrap_err();
    assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn unusable_jwks_entries_are_skipped_and_hs256_is_refused() {
    let [rsa, ..] = keys();
    let issuer = JwksIssuer::start(&[]).await.unwrap();
    issuer.publish_raw(vec![json!({"kty": "oct", "k": "c2VjcmV0"}), json!({"kty": "weird", "kid": "w"}), rsa.jwk()]);
    let auth = authenticator(&issuer);
    auth.validate(&rsa.sign(&claims(&issuer.issuer())), &request()).await.unwrap();
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header { kid: Some("rsa-1".into()), ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256) },
        &claims(&issuer.issuer()),
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    assert!(refused(&auth, &hs).await.contains("symmetric"));
    assert!(auth.challenge().contains(&issuer.issuer()));
}

#[tokio::test]
async fn concurrent_first_requests_share_one_fetch() {
    let [rsa, ..] = keys();
    let issuer = JwksIssuer::start(&[rsa]).await.unwrap();
    let auth = authenticator(&issuer);
    let tokens: Vec<String> = (0..8)
        .map(|i| {
            let mut c = claims(&issuer.issuer());
            c["sub"] = json!(format!("user-{i}"));
            rsa.sign(&c)
        })
        .collect();
    let req = request();
    let checks = tokens.iter().map(|t| auth.validate(t, &req));
    for result in futures::future::join_all(checks).await {
        result.unwrap();
    }
    assert_eq!(issuer.fetches(), 1);
}

#[test]
fn a_missing_tls_cafile_fails_the_build_naming_it() {
    let config: lls_auth::AuthProviderConfig = serde_yaml::from_str(
        "type: oauth2_token\ntls_cafile: /nonexistent/ca.pem\njwks:\n  uri: https://idp.example/jwks\n",
    )
    .unwrap();
    assert_eq!(config.validate(), vec![]);
    let err = lls_auth::build(&config).err().unwrap();
    assert!(err.to_string().contains("tls_cafile /nonexistent/ca.pem"), "{err}");
}
