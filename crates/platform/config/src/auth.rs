//! `server.auth`: `{provider_config, access_policy}` as 0.3.5 writes it, parsed with the
//! validators' and the policy engine's own types so a mistake is a config error naming its key.
//!
//! One extension: a `provider_config` whose `type` is empty or null (after env substitution)
//! leaves authentication off, so a run.yaml can switch it on with an environment variable
//! (`type: ${env.AUTH_ISSUER:+oauth2_token}`), as `provider_id: ${env.X:+name}` does for providers.

use lls_access::Policy;
use lls_auth::AuthProviderConfig;
use serde::Deserialize;
use serde_json::Value;

use crate::ConfigErrors;

/// `server.auth`, parsed and checked.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub provider: AuthProviderConfig,
    pub policy: Policy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    provider_config: Value,
    #[serde(default)]
    access_policy: Value,
}

/// `server.auth` from its raw value: `None` when absent, null, or switched off by an empty
/// `provider_config.type`; errors name keys under `server.auth`.
pub fn parse_auth(raw: Option<&Value>) -> Result<Option<AuthConfig>, ConfigErrors> {
    const AT: &str = "server.auth";
    let Some(raw) = raw.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let raw: Raw = serde_path_to_error::deserialize(raw)
        .map_err(|e| ConfigErrors::single(at(AT, &e.path().to_string()), e.inner().to_string()))?;
    let switched_off = match raw.provider_config.get("type") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    };
    if raw.provider_config.is_null() || (raw.provider_config.is_object() && switched_off) {
        return Ok(None);
    }
    let mut errors = ConfigErrors::new();
    let provider = match provider_config(&raw.provider_config) {
        Ok(provider) => {
            for problem in provider.validate() {
                errors.push(at("server.auth.provider_config", &problem.path), problem.message);
            }
            Some(provider)
        }
        Err((path, message)) => {
            errors.push(at("server.auth.provider_config", &path), message);
            None
        }
    };
    let policy = if raw.access_policy.is_null() {
        Some(Policy::default())
    } else {
        match serde_path_to_error::deserialize::<_, Policy>(&raw.access_policy) {
            Ok(policy) => Some(policy),
            Err(e) => {
                errors.push(at("server.auth.access_policy", &e.path().to_string()), e.inner().to_string());
                None
            }
        }
    };
    match (provider, policy) {
        (Some(provider), Some(policy)) if errors.0.is_empty() => Ok(Some(AuthConfig { provider, policy })),
        _ => Err(errors),
    }
}

/// `provider_config` by its `type`. Each variant is read on its own: through the tagged enum,
/// serde buffers the fields and an error loses its path (`jwks.uri: invalid type: null` would
/// read `invalid type: null` with no key, e.g. when `${env.AUTH_JWKS_URI:=}` is unset).
fn provider_config(raw: &Value) -> Result<AuthProviderConfig, (String, String)> {
    fn variant<T: serde::de::DeserializeOwned>(raw: &Value, wrap: fn(T) -> AuthProviderConfig) -> Result<AuthProviderConfig, (String, String)> {
        let mut fields = raw.clone();
        if let Some(map) = fields.as_object_mut() {
            map.remove("type");
        }
        serde_path_to_error::deserialize::<_, T>(&fields)
            .map(wrap)
            .map_err(|e| (e.path().to_string(), e.inner().to_string()))
    }
    match raw.get("type").and_then(Value::as_str) {
        Some("oauth2_token") => variant(raw, AuthProviderConfig::Oauth2Token),
        Some("github_token") => variant(raw, AuthProviderConfig::GithubToken),
        Some("kubernetes") => variant(raw, AuthProviderConfig::Kubernetes),
        Some("custom") => variant(raw, AuthProviderConfig::Custom),
        // An unknown or missing type: the enum's own message lists the known ones.
        _ => serde_path_to_error::deserialize::<_, AuthProviderConfig>(raw)
            .map_err(|e| (e.path().to_string(), e.inner().to_string())),
    }
}

/// `base.path`, or `base` when serde's path is the root (`.`).
fn at(base: &str, path: &str) -> String {
    if path.is_empty() || path == "." { base.to_owned() } else { format!("{base}.{path}") }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(e: ConfigErrors) -> Vec<String> {
        e.0.into_iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn absent_null_or_switched_off_is_no_auth() {
        assert!(parse_auth(None).unwrap().is_none());
        assert!(parse_auth(Some(&Value::Null)).unwrap().is_none());
        let off = json!({"provider_config": {"type": null, "jwks": {"uri": null}}, "access_policy": []});
        assert!(parse_auth(Some(&off)).unwrap().is_none());
        let off = json!({"provider_config": {"type": "", "issuer": ""}});
        assert!(parse_auth(Some(&off)).unwrap().is_none());
    }

    #[test]
    fn oauth2_with_a_policy() {
        let raw = json!({
            "provider_config": {"type": "oauth2_token", "jwks": {"uri": "https://idp/jwks"}, "issuer": "https://idp"},
            "access_policy": [{"permit": {"actions": ["read"]}, "when": "user is owner"}],
        });
        let auth = parse_auth(Some(&raw)).unwrap().unwrap();
        assert_eq!(auth.policy.rules().len(), 1);
        assert!(matches!(auth.provider, AuthProviderConfig::Oauth2Token(_)));
        let default = parse_auth(Some(&json!({"provider_config": {"type": "custom", "endpoint": "http://a/auth"}}))).unwrap();
        assert!(default.unwrap().policy.is_default());
    }

    #[test]
    fn mistakes_name_their_key() {
        let e = parse_auth(Some(&json!({"provider_config": {"type": "oauth2_token"}}))).unwrap_err();
        assert!(paths(e)[0].starts_with("server.auth.provider_config.jwks"));
        let raw = json!({"provider_config": {"type": "oauth2_token", "jwks": {"uri": null}, "issuer": "https://idp"}});
        let e = paths(parse_auth(Some(&raw)).unwrap_err());
        assert!(e[0].starts_with("server.auth.provider_config.jwks.uri: invalid type: null"), "{e:?}");
        let raw = json!({"provider_config": {"type": "custom", "endpoint": "http://a", "endpoit": "x"}});
        let e = paths(parse_auth(Some(&raw)).unwrap_err());
        assert!(e[0].starts_with("server.auth.provider_config") && e[0].contains("unknown field `endpoit`"), "{e:?}");
        let e = parse_auth(Some(&json!({"provider_config": {"type": "saml"}}))).unwrap_err();
        assert!(paths(e)[0].starts_with("server.auth.provider_config"));
        let raw = json!({"provider_config": {"type": "custom", "endpoint": "http://a"}, "access_policy": [{"permit": {"actions": ["read"]}, "when": "user in owner teams"}]});
        let e = paths(parse_auth(Some(&raw)).unwrap_err());
        assert!(e[0].starts_with("server.auth.access_policy"), "{e:?}");
        let e = paths(parse_auth(Some(&json!({"provider_config": {"type": "custom", "endpoint": "http://a"}, "polcy": []}))).unwrap_err());
        assert!(e[0].starts_with("server.auth"), "{e:?}");
    }
}
