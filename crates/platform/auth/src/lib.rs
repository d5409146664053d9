//! Bearer token validators of `server.auth`: 0.3.5's four `provider_config` types as a library,
//! each turning a token into a [`User`], behind one bounded validation cache.
//!
//! - [`config`]: the `server.auth.provider_config` shapes exactly as 0.3.5's run.yaml writes
//!   them, with `validate()` (no I/O) naming the offending key.
//! - [`build`] turns a config into an [`Authenticator`]: `oauth2_token` with `jwks` (signature,
//!   `exp`/`nbf`/`aud`/`iss`, keys cached and refreshed) or `introspection` (RFC 7662),
//!   `custom` (an external endpoint), `kubernetes` (`SelfSubjectReview`), `github_token`.
//! - [`claims`]: `claims_mapping`, claims → access attributes.
//!
//! The HTTP edge (`crates/platform/server`, `edge::auth`) reads the `Authorization` header and
//! answers 401s; this crate only decides about tokens.

pub mod cache;
pub mod claims;
pub mod config;
mod http_client;
mod jwks;
mod remote;

use async_trait::async_trait;
use std::sync::Arc;
use std::time::SystemTime;

pub use cache::Cached;
pub use config::{AuthProviderConfig, ConfigProblem};

/// Who made a request: the principal and its access attributes (`roles`, `teams`, …).
pub use lls_api_common::access::User;

/// What a validator may see of the request besides the token (the `custom` endpoint receives
/// it), borrowed from the request: nothing is copied on the hot path.
#[derive(Clone, Copy, Debug)]
pub struct RequestInfo<'a> {
    /// The request path, e.g. `/v1/models`.
    pub path: &'a str,
    /// The raw query string, without the `?`.
    pub query: Option<&'a str>,
    /// All of them, `Authorization` included: validators that pass headers on drop it.
    pub headers: &'a http::HeaderMap,
}

impl Default for RequestInfo<'static> {
    /// No path, no query, no headers.
    fn default() -> Self {
        static NO_HEADERS: std::sync::LazyLock<http::HeaderMap> = std::sync::LazyLock::new(http::HeaderMap::new);
        RequestInfo { path: "", query: None, headers: &NO_HEADERS }
    }
}

/// Why a token was not accepted. Both become a 401 at the edge; `Unavailable` carries 0.3.5's
/// generic "Authentication service timeout/error" meaning (the issuer could not be asked).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The token is not valid; the message may be shown to the client.
    #[error("{0}")]
    Invalid(String),
    /// The issuer could not be reached or answered garbage.
    #[error("{0}")]
    Unavailable(String),
}

impl AuthError {
    pub(crate) fn invalid(m: impl Into<String>) -> Self {
        AuthError::Invalid(m.into())
    }
    pub(crate) fn unavailable(m: impl Into<String>) -> Self {
        AuthError::Unavailable(m.into())
    }
}

/// Validates bearer tokens.
#[async_trait]
pub trait Authenticator: Send + Sync {
    /// The user a token belongs to, or why it is refused.
    async fn validate(&self, token: &str, request: &RequestInfo<'_>) -> Result<User, AuthError>;

    /// The provider-specific text of the 401 for a request without a token (0.3.5's wording).
    fn challenge(&self) -> String {
        "Authentication required".to_owned()
    }
}

/// What a validator learned: the user, and until when that answer may be reused.
#[derive(Clone, Debug)]
pub struct Validated {
    pub user: User,
    /// The token's own expiry (JWT or introspection `exp`), when it has one.
    pub expires_at: Option<SystemTime>,
}

/// One token type's check, without caching; [`Cached`] turns it into an [`Authenticator`].
#[async_trait]
pub trait Validator: Send + Sync {
    async fn check(&self, token: &str, request: &RequestInfo<'_>) -> Result<Validated, AuthError>;

    /// See [`Authenticator::challenge`].
    fn challenge(&self) -> String;

    /// Whether an answer depends on the token alone (and so may be cached by token). The
    /// `custom` endpoint sees the request's path, headers and query, so its answers are not.
    fn cacheable(&self) -> bool {
        true
    }
}

/// Builds the authenticator a validated config describes (one pooled HTTP client; reads
/// `tls_cafile`). Call [`AuthProviderConfig::validate`] first.
pub fn build(config: &AuthProviderConfig) -> Result<Arc<dyn Authenticator>, AuthError> {
    let validator: Arc<dyn Validator> = match config {
        AuthProviderConfig::Oauth2Token(c) => match (&c.jwks, &c.introspection) {
            (Some(jwks), None) => Arc::new(jwks::JwksValidator::new(c, jwks)?),
            (None, Some(intro)) => Arc::new(remote::Introspection::new(c, intro)?),
            _ => return Err(AuthError::invalid("oauth2_token needs exactly one of jwks and introspection")),
        },
        AuthProviderConfig::Custom(c) => Arc::new(remote::Custom::new(c)?),
        AuthProviderConfig::Kubernetes(c) => Arc::new(remote::Kubernetes::new(c)?),
        AuthProviderConfig::GithubToken(c) => Arc::new(remote::GitHub::new(c)?),
    };
    Ok(Arc::new(Cached::new(validator)))
}
