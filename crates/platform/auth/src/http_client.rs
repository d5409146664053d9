//! The one pooled HTTP client of an authenticator, with the config's TLS settings.

use crate::AuthError;
use std::path::Path;
use std::time::Duration;

/// 0.3.5 gives every issuer call 10 s (5 s for the JWKS fetch).
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn client(verify_tls: bool, tls_cafile: Option<&Path>) -> Result<reqwest::Client, AuthError> {
    let mut b = reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .user_agent("llama-stack");
    if !verify_tls {
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(path) = tls_cafile {
        let pem = std::fs::read(path)
            .map_err(|e| AuthError::invalid(format!("tls_cafile {}: {e}", path.display())))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| AuthError::invalid(format!("tls_cafile {}: {e}", path.display())))?
        {
            b = b.add_root_certificate(cert);
        }
    }
    b.build().map_err(|e| AuthError::unavailable(format!("cannot build the HTTP client: {e}")))
}

/// A transport failure, as the edge will show it (0.3.5: "Authentication service timeout/error").
pub(crate) fn unreachable(what: &str, e: &reqwest::Error) -> AuthError {
    let kind = if e.is_timeout() { "timed out" } else { "failed" };
    tracing::warn!(error = %e, "{what} request {kind}");
    AuthError::unavailable(format!("{what} request {kind}"))
}
