//! The starter's run.yaml files switch authentication on with `AUTH_ISSUER` (and
//! `AUTH_JWKS_URI`), off without it; the policy they ship: everyone reads unowned resources,
//! authenticated users create, owners read, update and delete theirs.
// The helpers below are neither tests nor cfg(test): they fail tests by unwrapping.
#![allow(clippy::unwrap_used, clippy::panic)]

use lls_api_common::access::{Action, ProtectedResource, User};
use lls_auth::AuthProviderConfig;
use lls_config::{AuthConfig, RunConfig};
use serde_json::json;

const FILES: [(&str, &str); 2] = [
    ("run.yaml", lls_distribution_starter::RUN_YAML),
    (
        "run-with-postgres-store.yaml",
        include_str!("../../run-with-postgres-store.yaml"),
    ),
];

fn load(text: &str, vars: &[(&str, &str)]) -> RunConfig {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    RunConfig::from_yaml_str(text, &|name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .unwrap()
}

fn auth(text: &str, vars: &[(&str, &str)]) -> Option<AuthConfig> {
    let config = load(text, vars);
    config.validate().unwrap();
    config.server.auth().unwrap()
}

#[test]
fn auth_is_off_without_auth_issuer() {
    for (name, text) in FILES {
        assert!(auth(text, &[]).is_none(), "{name}");
        // AUTH_JWKS_URI alone does not switch it on.
        assert!(
            auth(text, &[("AUTH_JWKS_URI", "https://idp.example/jwks")]).is_none(),
            "{name}"
        );
    }
}

#[test]
fn auth_issuer_switches_oauth2_jwks_on() {
    let vars = [
        ("AUTH_ISSUER", "https://idp.example/realms/ai"),
        ("AUTH_JWKS_URI", "https://idp.example/realms/ai/certs"),
        ("AUTH_JWKS_RECHECK_PERIOD", "60"),
        ("AUTH_VERIFY_TLS", "false"),
    ];
    for (name, text) in FILES {
        let auth = auth(text, &vars).unwrap_or_else(|| panic!("{name}: auth off"));
        let AuthProviderConfig::Oauth2Token(c) = &auth.provider else {
            panic!("{name}: {:?}", auth.provider)
        };
        assert_eq!(
            c.issuer.as_deref(),
            Some("https://idp.example/realms/ai"),
            "{name}"
        );
        assert_eq!(c.audience, "llama-stack", "{name}");
        assert!(!c.verify_tls, "{name}");
        let jwks = c.jwks.as_ref().unwrap();
        assert_eq!(
            (jwks.uri.as_str(), jwks.key_recheck_period),
            ("https://idp.example/realms/ai/certs", 60),
            "{name}"
        );
        assert!(c.introspection.is_none(), "{name}");
        assert_eq!(auth.policy.rules().len(), 3, "{name}");

        let defaults = self::auth(text, &vars[..2]).unwrap();
        let AuthProviderConfig::Oauth2Token(c) = &defaults.provider else {
            panic!()
        };
        assert!(
            c.verify_tls && c.jwks.as_ref().unwrap().key_recheck_period == 3600,
            "{name}"
        );
        let audience =
            self::auth(text, &[vars[0], vars[1], ("AUTH_AUDIENCE", "my-stack")]).unwrap();
        let AuthProviderConfig::Oauth2Token(c) = &audience.provider else {
            panic!()
        };
        assert_eq!(c.audience, "my-stack", "{name}");
    }
}

#[test]
fn auth_issuer_without_a_jwks_uri_is_a_config_error() {
    for (name, text) in FILES {
        let errors = load(text, &[("AUTH_ISSUER", "https://idp.example")])
            .validate()
            .unwrap_err();
        let text = errors.to_string();
        assert!(
            text.contains("server.auth.provider_config.jwks.uri"),
            "{name}: {text}"
        );
    }
}

/// The user a token `{"sub": sub}` becomes under the default claims mapping.
fn user(auth: &AuthConfig, sub: &str) -> User {
    let AuthProviderConfig::Oauth2Token(c) = &auth.provider else {
        panic!()
    };
    User::new(sub, c.claims_mapping.attributes(&json!({ "sub": sub })))
}

#[test]
fn shipped_policy_everyone_reads_unowned_owners_do_the_rest() {
    let vars = [
        ("AUTH_ISSUER", "https://idp.example"),
        ("AUTH_JWKS_URI", "https://idp.example/jwks"),
    ];
    for (name, text) in FILES {
        let auth = auth(text, &vars).unwrap();
        let (alice, bob) = (user(&auth, "alice"), user(&auth, "bob"));
        let allowed = |action, owner: Option<&User>, who: &User| {
            auth.policy.is_allowed(
                action,
                &ProtectedResource::new("model", "m", owner),
                Some(who),
            )
        };
        for action in [Action::Read, Action::Update, Action::Delete] {
            assert!(
                allowed(action, Some(&alice), &alice),
                "{name}: owner {action:?}"
            );
            assert!(
                !allowed(action, Some(&alice), &bob),
                "{name}: other tenant {action:?}"
            );
        }
        assert!(allowed(Action::Create, None, &bob), "{name}: create");
        assert!(allowed(Action::Read, None, &bob), "{name}: unowned read");
        assert!(
            !allowed(Action::Delete, None, &bob),
            "{name}: unowned delete"
        );
        assert!(
            !allowed(Action::Update, None, &bob),
            "{name}: unowned update"
        );
    }
}
