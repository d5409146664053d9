//! `server.auth.provider_config` as 0.3.5's run.yaml writes it, discriminated by `type`, and its
//! checks without I/O.

use crate::claims::ClaimsMapping;
use lls_api_common::Secret;
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

/// One of 0.3.5's four token types.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthProviderConfig {
    /// JWTs checked against a JWKS, or opaque tokens asked of an RFC 7662 endpoint.
    Oauth2Token(OAuth2TokenConfig),
    /// GitHub access tokens, checked with `GET {github_api_base_url}/user`.
    GithubToken(GitHubTokenConfig),
    /// Kubernetes tokens, checked with a `SelfSubjectReview`.
    Kubernetes(KubernetesConfig),
    /// Any token, checked by an external endpoint.
    Custom(CustomConfig),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2TokenConfig {
    #[serde(default)]
    pub jwks: Option<JwksConfig>,
    #[serde(default)]
    pub introspection: Option<IntrospectionConfig>,
    /// The `aud` a JWT must carry.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// The `iss` a JWT must carry, when set.
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default = "yes")]
    pub verify_tls: bool,
    /// A PEM bundle of CAs to trust for the issuer's endpoints.
    #[serde(default)]
    pub tls_cafile: Option<PathBuf>,
    #[serde(default = "oauth2_claims")]
    pub claims_mapping: ClaimsMapping,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwksConfig {
    pub uri: String,
    /// A bearer token for fetching the JWKS (Kubernetes' endpoint needs one).
    #[serde(default)]
    pub token: Option<Secret>,
    /// Seconds between refetches of the key set.
    #[serde(default = "default_recheck")]
    pub key_recheck_period: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionConfig {
    pub url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Send the client credentials as form fields instead of HTTP basic auth.
    #[serde(default)]
    pub send_secret_in_body: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitHubTokenConfig {
    #[serde(default = "default_github")]
    pub github_api_base_url: String,
    #[serde(default = "github_claims")]
    pub claims_mapping: ClaimsMapping,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    #[serde(default = "default_k8s")]
    pub api_server_url: String,
    #[serde(default = "yes")]
    pub verify_tls: bool,
    #[serde(default)]
    pub tls_cafile: Option<PathBuf>,
    #[serde(default = "k8s_claims")]
    pub claims_mapping: ClaimsMapping,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomConfig {
    pub endpoint: String,
}

fn default_audience() -> String {
    "llama-stack".to_owned()
}
fn yes() -> bool {
    true
}
fn default_recheck() -> u64 {
    3600
}
fn default_github() -> String {
    "https://api.github.com".to_owned()
}
fn default_k8s() -> String {
    "https://kubernetes.default.svc".to_owned()
}
fn oauth2_claims() -> ClaimsMapping {
    ClaimsMapping::new(&[
        ("sub", "roles"),
        ("username", "roles"),
        ("groups", "teams"),
        ("team", "teams"),
        ("project", "projects"),
        ("tenant", "namespaces"),
        ("namespace", "namespaces"),
    ])
}
fn github_claims() -> ClaimsMapping {
    ClaimsMapping::new(&[("login", "roles"), ("organizations", "teams")])
}
fn k8s_claims() -> ClaimsMapping {
    ClaimsMapping::new(&[("username", "roles"), ("groups", "roles")])
}

/// One problem in the config, with its key relative to `provider_config`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl AuthProviderConfig {
    /// Every problem found without I/O (empty when the config is usable).
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let mut problem = |path: &str, message: &str| {
            out.push(ConfigProblem { path: path.to_owned(), message: message.to_owned() })
        };
        match self {
            AuthProviderConfig::Oauth2Token(c) => {
                match (&c.jwks, &c.introspection) {
                    (None, None) => problem("jwks", "oauth2_token needs one of jwks and introspection"),
                    (Some(_), Some(_)) => {
                        problem("introspection", "oauth2_token takes only one of jwks and introspection")
                    }
                    _ => {}
                }
                if let Some(j) = &c.jwks {
                    check_url(&mut problem, "jwks.uri", &j.uri);
                    if j.key_recheck_period == 0 {
                        problem("jwks.key_recheck_period", "must be at least 1 second");
                    }
                }
                if let Some(i) = &c.introspection {
                    check_url(&mut problem, "introspection.url", &i.url);
                    if i.client_id.is_empty() {
                        problem("introspection.client_id", "must not be empty");
                    }
                }
                if c.audience.is_empty() {
                    problem("audience", "must not be empty");
                }
            }
            AuthProviderConfig::GithubToken(c) => check_url(&mut problem, "github_api_base_url", &c.github_api_base_url),
            AuthProviderConfig::Kubernetes(c) => check_url(&mut problem, "api_server_url", &c.api_server_url),
            AuthProviderConfig::Custom(c) => check_url(&mut problem, "endpoint", &c.endpoint),
        }
        out
    }
}

fn check_url(problem: &mut impl FnMut(&str, &str), path: &str, url: &str) {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => {}
        Ok(_) => problem(path, "must be an http:// or https:// URL"),
        Err(e) => problem(path, &format!("not a URL ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> AuthProviderConfig {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn oauth2_jwks_with_defaults() {
        let c = parse("type: oauth2_token\njwks:\n  uri: https://idp.example/jwks\n");
        assert!(c.validate().is_empty());
        let AuthProviderConfig::Oauth2Token(c) = c else { unreachable!() };
        assert_eq!(c.audience, "llama-stack");
        assert!(c.verify_tls);
        assert_eq!(c.jwks.as_ref().unwrap().key_recheck_period, 3600);
        assert_eq!(c.claims_mapping.0.len(), 7);
        assert_eq!(c.claims_mapping.0[0], ("sub".to_owned(), "roles".to_owned()));
    }

    #[test]
    fn oauth2_needs_exactly_one_source() {
        let none = parse("type: oauth2_token\n");
        assert_eq!(none.validate()[0].path, "jwks");
        let both = parse(
            "type: oauth2_token\njwks: {uri: 'https://a/j'}\nintrospection: {url: 'https://a/i', client_id: c, client_secret: s}\n",
        );
        assert_eq!(both.validate()[0].path, "introspection");
    }

    #[test]
    fn introspection_secret_is_redacted_and_defaults() {
        let c = parse("type: oauth2_token\nintrospection: {url: 'https://a/i', client_id: c, client_secret: hunter2}\n");
        assert!(!format!("{c:?}").contains("hunter2"));
        let AuthProviderConfig::Oauth2Token(c) = c else { unreachable!() };
        assert!(!c.introspection.unwrap().send_secret_in_body);
    }

    #[test]
    fn problems_name_the_key() {
        let c = parse("type: custom\nendpoint: not a url\n");
        assert_eq!(c.validate()[0].path, "endpoint");
        let c = parse("type: oauth2_token\njwks: {uri: 'ftp://x/j', key_recheck_period: 0}\n");
        let paths: Vec<_> = c.validate().into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["jwks.uri", "jwks.key_recheck_period"]);
        assert!(serde_yaml::from_str::<AuthProviderConfig>("type: custom\nendpoint: http://a\nextra: 1\n").is_err());
        assert!(serde_yaml::from_str::<AuthProviderConfig>("type: saml\n").is_err());
    }

    #[test]
    fn github_and_kubernetes_defaults() {
        let AuthProviderConfig::GithubToken(g) = parse("type: github_token\n") else { unreachable!() };
        assert_eq!(g.github_api_base_url, "https://api.github.com");
        assert_eq!(g.claims_mapping, ClaimsMapping::new(&[("login", "roles"), ("organizations", "teams")]));
        let AuthProviderConfig::Kubernetes(k) = parse("type: kubernetes\n") else { unreachable!() };
        assert_eq!(k.api_server_url, "https://kubernetes.default.svc");
        assert_eq!(k.claims_mapping, ClaimsMapping::new(&[("username", "roles"), ("groups", "roles")]));
    }
}
