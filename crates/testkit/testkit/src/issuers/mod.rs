//! Real token issuers for the `server.auth` validators' tests (`lls-auth`): signing keys
//! generated at test time (RS256, ES256) and in-process HTTP servers speaking like a JWKS
//! endpoint, an RFC 7662 introspection endpoint, a `custom` auth endpoint, the Kubernetes API
//! server's `SelfSubjectReview` and GitHub's `/user`; and [`TokenMint`], a JWKS issuer that
//! mints tokens over HTTP for tests in another process (the `lls-test-issuer` binary).

mod keys;
mod mint;
mod servers;

pub use keys::SigningKey;
pub use mint::{MintRequest, Minted, TokenMint};
pub use servers::{
    CustomAuthServer, GitHubApi, IntrospectionServer, JwksEndpoint, JwksIssuer, KubeApiServer,
};

/// Seconds since the epoch, for `iat`/`nbf`/`exp` claims.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
