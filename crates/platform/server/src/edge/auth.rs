//! `server.auth` at the edge, as 0.3.5's `AuthenticationMiddleware`: every request but the
//! probes needs `Authorization: Bearer <token>`; the token's user, with the access policy, goes
//! into the request (every service's access checks read it from its `RequestContext`), and its
//! principal becomes the quota's client. Tokens never reach logs: only the principal does.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use lls_api_common::access::{AccessPolicy, Caller};
use lls_api_common::{Error, ErrorKind};
use lls_auth::{AuthError, Authenticator, RequestInfo};
use lls_http::error::{LoggedError, edge_error};

use super::ClientIdentity;

/// Routes open without a token (0.3.5's `require_authentication=False`): the probes, and the
/// Prometheus scrape (no secrets in it: route templates, provider and model ids, counts).
const OPEN: [&str; 3] = ["/v1/health", "/v1/version", "/metrics"];

/// The authenticator and the policy the callers it admits are checked against.
pub struct Auth {
    authenticator: Arc<dyn Authenticator>,
    policy: Arc<dyn AccessPolicy>,
}

impl Auth {
    pub fn new(authenticator: Arc<dyn Authenticator>, policy: Arc<dyn AccessPolicy>) -> Self {
        Auth { authenticator, policy }
    }

    /// From run.yaml's `server.auth` (validated with the config); `None` when it is off.
    pub fn from_config(config: &lls_config::ServerConfig) -> lls_api_common::Result<Option<Arc<Auth>>> {
        let Some(auth) = config.auth().map_err(|e| Error::invalid(format!("server.auth: {e}")))? else {
            return Ok(None);
        };
        let authenticator = lls_auth::build(&auth.provider)
            .map_err(|e| Error::invalid(format!("server.auth.provider_config: {e}")))?;
        Ok(Some(Arc::new(Auth::new(authenticator, Arc::new(auth.policy)))))
    }
}

/// The middleware.
pub async fn authenticate(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    // The browser pages hold no data; the API calls they make carry the user's token.
    if OPEN.contains(&req.uri().path()) || lls_webui::is_page(req.uri().path()) {
        return next.run(req).await;
    }
    let token = match req.headers().get(AUTHORIZATION) {
        None => return unauthorized(&auth.authenticator.challenge()),
        Some(value) => match value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
            Some(token) if !token.trim().is_empty() => token.trim().to_owned(),
            _ => return unauthorized("Invalid Authorization header format"),
        },
    };
    let info = RequestInfo { path: req.uri().path(), query: req.uri().query(), headers: req.headers() };
    let validated = auth.authenticator.validate(&token, &info).await;
    match validated {
        Ok(user) => {
            tracing::debug!(principal = %user.principal, "authenticated");
            let principal = ClientIdentity(user.principal.clone());
            req.extensions_mut().insert(principal.clone());
            req.extensions_mut().insert(Arc::new(Caller { user, policy: auth.policy.clone() }));
            let mut response = next.run(req).await;
            // For the edge's access line, which runs outside this layer.
            response.extensions_mut().insert(principal);
            response
        }
        Err(AuthError::Invalid(message)) => unauthorized(&message),
        Err(AuthError::Unavailable(message)) => {
            // The issuer could not answer: not the client's fault, so not a 401 (0.3.5 says
            // 401 "Authentication service timeout/error"; a client would drop a good token).
            let mut response = edge_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Authentication service timeout/error: the token could not be checked; retry shortly",
            );
            let logged = Error::new(ErrorKind::UpstreamUnavailable, format!("authentication: {message}"));
            response.extensions_mut().insert(LoggedError(logged));
            response
        }
    }
}

/// A 401 in the error shape, with RFC 6750's challenge header.
fn unauthorized(message: &str) -> Response {
    let mut response = edge_error(StatusCode::UNAUTHORIZED, message);
    response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}
