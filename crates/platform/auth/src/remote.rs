//! The validators that ask a remote service about each token: RFC 7662 introspection
//! (`oauth2_token` + `introspection`), `custom`, `kubernetes` and `github_token`.

use crate::claims::ClaimsMapping;
use crate::config::{CustomConfig, GitHubTokenConfig, IntrospectionConfig, KubernetesConfig, OAuth2TokenConfig};
use crate::http_client::{client, unreachable};
use crate::jwks::unix_time;
use crate::{AuthError, RequestInfo, User, Validated, Validator};
use async_trait::async_trait;
use lls_api_common::Secret;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The host (and port) of a URL, for 0.3.5's "validated by {domain}" texts.
fn domain(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    let host = u.host_str()?;
    Some(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    })
}

async fn json_body(resp: reqwest::Response, what: &str) -> Result<Value, AuthError> {
    resp.json().await.map_err(|e| {
        tracing::warn!(error = %e, "{what} answered something that is not JSON");
        AuthError::unavailable(format!("{what} returned an invalid response"))
    })
}

/// `oauth2_token` with `introspection`: a form POST of the token (RFC 7662).
pub(crate) struct Introspection {
    http: reqwest::Client,
    url: String,
    client_id: String,
    client_secret: Secret,
    in_body: bool,
    claims_mapping: ClaimsMapping,
    issuer: Option<String>,
}

impl Introspection {
    pub(crate) fn new(c: &OAuth2TokenConfig, i: &IntrospectionConfig) -> Result<Self, AuthError> {
        Ok(Introspection {
            http: client(c.verify_tls, c.tls_cafile.as_deref())?,
            url: i.url.clone(),
            client_id: i.client_id.clone(),
            client_secret: i.client_secret.clone(),
            in_body: i.send_secret_in_body,
            claims_mapping: c.claims_mapping.clone(),
            issuer: c.issuer.clone(),
        })
    }
}

#[async_trait]
impl Validator for Introspection {
    async fn check(&self, token: &str, _: &RequestInfo<'_>) -> Result<Validated, AuthError> {
        let mut form = vec![("token", token)];
        let mut req = self.http.post(&self.url);
        if self.in_body {
            form.push(("client_id", &self.client_id));
            form.push(("client_secret", self.client_secret.expose()));
        } else {
            req = req.basic_auth(&self.client_id, Some(self.client_secret.expose()));
        }
        let resp = req.form(&form).send().await.map_err(|e| unreachable("Token introspection", &e))?;
        if resp.status() != reqwest::StatusCode::OK {
            tracing::warn!(status = %resp.status(), "token introspection refused");
            return Err(AuthError::invalid(format!("Token introspection failed: {}", resp.status().as_u16())));
        }
        let fields = json_body(resp, "Token introspection").await?;
        if fields.get("active").and_then(Value::as_bool) != Some(true) {
            return Err(AuthError::invalid("Token not active"));
        }
        let principal = ["sub", "username"]
            .iter()
            .find_map(|k| fields.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
            .ok_or_else(|| AuthError::invalid("Token introspection returned no sub or username"))?;
        let expires_at = fields.get("exp").and_then(Value::as_f64).map(unix_time);
        let user = User { principal: principal.to_owned(), attributes: self.claims_mapping.attributes(&fields) };
        Ok(Validated { user, expires_at })
    }

    fn challenge(&self) -> String {
        match (&self.issuer, domain(&self.url)) {
            (Some(iss), _) => format!("Authentication required. Please provide a valid OAuth2 Bearer token from {iss}"),
            (None, Some(d)) => {
                format!("Authentication required. Please provide a valid OAuth2 Bearer token validated by {d}")
            }
            (None, None) => {
                "Authentication required. Please provide a valid OAuth2 Bearer token in the Authorization header"
                    .to_owned()
            }
        }
    }
}

/// `custom`: the token and the request's path, headers and query POSTed to an endpoint.
pub(crate) struct Custom {
    http: reqwest::Client,
    endpoint: String,
}

impl Custom {
    pub(crate) fn new(c: &CustomConfig) -> Result<Self, AuthError> {
        Ok(Custom { http: client(true, None)?, endpoint: c.endpoint.clone() })
    }
}

/// The request as the endpoint sees it: headers (lower-case names, the last of repeated ones,
/// never `Authorization`), the query as `{name: [values]}` (blank values dropped, like Python's
/// `parse_qs`).
fn request_context(request: &RequestInfo<'_>) -> Value {
    let mut headers = serde_json::Map::new();
    for (name, value) in request.headers {
        if name == http::header::AUTHORIZATION {
            continue;
        }
        headers.insert(name.as_str().to_owned(), Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()));
    }
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(request.query.unwrap_or("").as_bytes()) {
        if !v.is_empty() {
            params.entry(k.into_owned()).or_default().push(v.into_owned());
        }
    }
    json!({"path": request.path, "headers": headers, "params": params})
}

#[derive(serde::Deserialize)]
struct CustomAnswer {
    principal: String,
    #[serde(default)]
    attributes: Option<BTreeMap<String, Vec<String>>>,
}

#[async_trait]
impl Validator for Custom {
    async fn check(&self, token: &str, request: &RequestInfo<'_>) -> Result<Validated, AuthError> {
        let body = json!({"api_key": token, "request": request_context(request)});
        let resp = self.http.post(&self.endpoint).json(&body).send().await.map_err(|e| unreachable("Authentication", &e))?;
        if resp.status() != reqwest::StatusCode::OK {
            tracing::warn!(status = %resp.status(), "custom authentication refused");
            return Err(AuthError::invalid(format!("Authentication failed: {}", resp.status().as_u16())));
        }
        let answer: CustomAnswer = resp.json().await.map_err(|e| {
            tracing::warn!(error = %e, "custom authentication answer unreadable");
            AuthError::invalid("Invalid authentication response format")
        })?;
        let user = User { principal: answer.principal, attributes: answer.attributes.unwrap_or_default() };
        Ok(Validated { user, expires_at: None })
    }

    fn challenge(&self) -> String {
        match domain(&self.endpoint) {
            Some(d) => format!("Authentication required. Please provide your API key as a Bearer token (validated by {d})"),
            None => "Authentication required. Please provide your API key as a Bearer token in the Authorization header"
                .to_owned(),
        }
    }

    fn cacheable(&self) -> bool {
        false
    }
}

/// `kubernetes`: a `SelfSubjectReview` created with the token; the API server answers 201 with
/// who the token belongs to.
pub(crate) struct Kubernetes {
    http: reqwest::Client,
    review_url: reqwest::Url,
    claims_mapping: ClaimsMapping,
}

pub(crate) const SELF_SUBJECT_REVIEWS: &str = "/apis/authentication.k8s.io/v1/selfsubjectreviews";

impl Kubernetes {
    pub(crate) fn new(c: &KubernetesConfig) -> Result<Self, AuthError> {
        let review_url = reqwest::Url::parse(&c.api_server_url)
            .and_then(|u| u.join(SELF_SUBJECT_REVIEWS))
            .map_err(|e| AuthError::invalid(format!("api_server_url: {e}")))?;
        Ok(Kubernetes {
            http: client(c.verify_tls, c.tls_cafile.as_deref())?,
            review_url,
            claims_mapping: c.claims_mapping.clone(),
        })
    }
}

#[async_trait]
impl Validator for Kubernetes {
    async fn check(&self, token: &str, _: &RequestInfo<'_>) -> Result<Validated, AuthError> {
        let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
        let resp = self
            .http
            .post(self.review_url.clone())
            .bearer_auth(token)
            .json(&review)
            .send()
            .await
            .map_err(|e| unreachable("Kubernetes SelfSubjectReview", &e))?;
        match resp.status().as_u16() {
            201 => {}
            401 => return Err(AuthError::invalid("Invalid token")),
            other => {
                tracing::warn!(status = other, "Kubernetes SelfSubjectReview refused");
                return Err(AuthError::invalid(format!("Token validation failed: {other}")));
            }
        }
        let body = json_body(resp, "Kubernetes SelfSubjectReview").await?;
        let user_info = body.pointer("/status/userInfo").filter(|u| u.as_object().is_some_and(|o| !o.is_empty()));
        let Some(user_info) = user_info else {
            return Err(AuthError::invalid("No userInfo found in SelfSubjectReview response"));
        };
        let Some(username) = user_info.get("username").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
            return Err(AuthError::invalid("No username found in SelfSubjectReview response"));
        };
        let user = User { principal: username.to_owned(), attributes: self.claims_mapping.attributes(user_info) };
        Ok(Validated { user, expires_at: None })
    }

    fn challenge(&self) -> String {
        "Authentication required".to_owned()
    }
}

/// `github_token`: `GET {github_api_base_url}/user` with the token; the principal is `login`.
pub(crate) struct GitHub {
    http: reqwest::Client,
    user_url: String,
    claims_mapping: ClaimsMapping,
}

impl GitHub {
    pub(crate) fn new(c: &GitHubTokenConfig) -> Result<Self, AuthError> {
        Ok(GitHub {
            http: client(true, None)?,
            user_url: format!("{}/user", c.github_api_base_url.trim_end_matches('/')),
            claims_mapping: c.claims_mapping.clone(),
        })
    }
}

#[async_trait]
impl Validator for GitHub {
    async fn check(&self, token: &str, _: &RequestInfo<'_>) -> Result<Validated, AuthError> {
        let resp = self
            .http
            .get(&self.user_url)
            .bearer_auth(token)
            .header(http::header::ACCEPT, "application/vnd.github.v3+json")
            .send()
            .await
            .map_err(|e| unreachable("GitHub", &e))?;
        if !resp.status().is_success() {
            tracing::warn!(status = %resp.status(), "GitHub token validation failed");
            return Err(AuthError::invalid("GitHub token validation failed. Please check your token and try again."));
        }
        let body = json_body(resp, "GitHub").await?;
        let Some(login) = body.get("login").and_then(Value::as_str) else {
            return Err(AuthError::unavailable("GitHub returned a user without a login"));
        };
        // 0.3.5 maps claims over login, id and (never fetched, so empty) organizations.
        let id = match body.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let claims = json!({"login": login, "id": id, "organizations": []});
        let user = User { principal: login.to_owned(), attributes: self.claims_mapping.attributes(&claims) };
        Ok(Validated { user, expires_at: None })
    }

    fn challenge(&self) -> String {
        "Authentication required. Please provide a valid GitHub access token \
         (https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens) \
         in the Authorization header (Bearer <token>)"
            .to_owned()
    }
}
