//! `oauth2_token` with `jwks`: JWT signatures checked with the issuer's published keys (chosen by
//! `kid`, algorithm from the header), then `exp`/`nbf`/`aud`/`iss`; the key set is cached,
//! refetched every `key_recheck_period` and when a token names an unknown `kid`.

use crate::config::{JwksConfig, OAuth2TokenConfig};
use crate::http_client::{client, unreachable};
use crate::{AuthError, RequestInfo, User, Validated, Validator, claims::ClaimsMapping};
use async_trait::async_trait;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lls_api_common::Secret;
use parking_lot::RwLock;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

/// An unknown `kid` refetches the key set at most this often, so a flood of made-up key ids
/// cannot hammer the issuer; a fetch that failed while keys are held is retried after it too.
pub const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

struct Key {
    decoding: DecodingKey,
    /// The JWK's own `alg`, when it names one: a token must then use exactly it.
    alg: Option<String>,
}

#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, Key>,
    /// When the periodic refetch is due; `None` before the first fetch.
    next_fetch: Option<Instant>,
    last_unknown_kid_fetch: Option<Instant>,
}

pub(crate) struct JwksValidator {
    http: reqwest::Client,
    uri: String,
    token: Option<Secret>,
    recheck: Duration,
    validation: Validation,
    issuer: Option<String>,
    claims_mapping: ClaimsMapping,
    keys: RwLock<KeySet>,
    /// One fetch at a time; waiters recheck what the fetch brought.
    fetching: tokio::sync::Mutex<()>,
}

impl JwksValidator {
    pub(crate) fn new(c: &OAuth2TokenConfig, jwks: &JwksConfig) -> Result<Self, AuthError> {
        // The algorithm is replaced per token (from its header); audience, issuer and the time
        // claims are fixed. Like 0.3.5 (python-jose): no leeway, `exp` checked when present.
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[c.audience.as_str()]);
        if let Some(iss) = &c.issuer {
            validation.set_issuer(&[iss.as_str()]);
        }
        validation.validate_nbf = true;
        validation.leeway = 0;
        validation.required_spec_claims = HashSet::new();
        Ok(JwksValidator {
            http: client(c.verify_tls, c.tls_cafile.as_deref())?,
            uri: jwks.uri.clone(),
            token: jwks.token.clone(),
            recheck: Duration::from_secs(jwks.key_recheck_period),
            validation,
            issuer: c.issuer.clone(),
            claims_mapping: c.claims_mapping.clone(),
            keys: RwLock::new(KeySet::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    fn due(&self) -> bool {
        self.keys.read().next_fetch.is_none_or(|at| Instant::now() >= at)
    }

    /// The periodic refetch, when due.
    async fn refresh_if_due(&self) -> Result<(), AuthError> {
        if !self.due() {
            return Ok(());
        }
        let _one = self.fetching.lock().await;
        if !self.due() {
            return Ok(());
        }
        self.fetch().await
    }

    /// A refetch for a `kid` we do not hold, unless one happened within the interval.
    async fn refresh_for_unknown(&self, kid: &str) -> Result<(), AuthError> {
        let allowed = |s: &KeySet| {
            s.last_unknown_kid_fetch.is_none_or(|at| at.elapsed() >= UNKNOWN_KID_REFETCH_INTERVAL)
        };
        if !allowed(&self.keys.read()) {
            return Ok(());
        }
        let _one = self.fetching.lock().await;
        {
            let mut keys = self.keys.write();
            if keys.by_kid.contains_key(kid) || !allowed(&keys) {
                return Ok(());
            }
            keys.last_unknown_kid_fetch = Some(Instant::now());
        }
        tracing::debug!("JWT names an unknown key id; refetching the key set");
        self.fetch().await
    }

    /// Fetches the key set. On failure the keys held are kept and retried after a while;
    /// without any, the token cannot be checked.
    async fn fetch(&self) -> Result<(), AuthError> {
        match self.download().await {
            Ok(by_kid) => {
                let mut keys = self.keys.write();
                keys.by_kid = by_kid;
                keys.next_fetch = Some(Instant::now() + self.recheck);
                Ok(())
            }
            Err(e) => {
                let mut keys = self.keys.write();
                if keys.by_kid.is_empty() {
                    return Err(e);
                }
                tracing::warn!(error = %e, "keeping the JWKS held until a refetch succeeds");
                keys.next_fetch = Some(Instant::now() + UNKNOWN_KID_REFETCH_INTERVAL);
                Ok(())
            }
        }
    }

    async fn download(&self) -> Result<HashMap<String, Key>, AuthError> {
        let mut req = self.http.get(&self.uri).timeout(FETCH_TIMEOUT);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t.expose());
        }
        let resp = req.send().await.map_err(|e| unreachable("JWKS", &e))?;
        if !resp.status().is_success() {
            tracing::warn!(status = %resp.status(), "JWKS fetch refused");
            return Err(AuthError::unavailable(format!("JWKS fetch failed: {}", resp.status().as_u16())));
        }
        let body: Value = resp.json().await.map_err(|e| unreachable("JWKS", &e))?;
        let Some(list) = body.get("keys").and_then(Value::as_array) else {
            return Err(AuthError::unavailable("JWKS answer has no `keys` list"));
        };
        Ok(list.iter().filter_map(parse_key).collect())
    }

    fn key(&self, kid: &str) -> Option<(DecodingKey, Option<String>)> {
        self.keys.read().by_kid.get(kid).map(|k| (k.decoding.clone(), k.alg.clone()))
    }
}

/// A key we can use, by its `kid`; others (no `kid`, a type we do not know) are skipped.
fn parse_key(raw: &Value) -> Option<(String, Key)> {
    let kid = raw.get("kid")?.as_str()?.to_owned();
    let alg = raw.get("alg").and_then(Value::as_str).map(str::to_owned);
    let jwk: Jwk = serde_json::from_value(raw.clone())
        .map_err(|e| tracing::debug!(%kid, error = %e, "skipping a JWK we cannot read"))
        .ok()?;
    let decoding = DecodingKey::from_jwk(&jwk)
        .map_err(|e| tracing::debug!(%kid, error = %e, "skipping a JWK we cannot use"))
        .ok()?;
    Some((kid, Key { decoding, alg }))
}

fn invalid_jwt(why: &str) -> AuthError {
    AuthError::invalid(format!("Invalid JWT token: {why}"))
}

#[async_trait]
impl Validator for JwksValidator {
    async fn check(&self, token: &str, _: &RequestInfo<'_>) -> Result<Validated, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid_jwt("malformed"))?;
        let Some(kid) = header.kid else { return Err(invalid_jwt("no key id (kid) in its header")) };
        if matches!(header.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(invalid_jwt("symmetric algorithms are not accepted"));
        }
        self.refresh_if_due().await?;
        if self.key(&kid).is_none() {
            self.refresh_for_unknown(&kid).await?;
        }
        let Some((key, key_alg)) = self.key(&kid) else { return Err(invalid_jwt("unknown key id")) };
        if key_alg.is_some_and(|a| a != format!("{:?}", header.alg)) {
            return Err(invalid_jwt("algorithm does not match its key"));
        }
        let mut validation = self.validation.clone();
        validation.algorithms = vec![header.alg];
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            let why = match e.kind() {
                K::ExpiredSignature => "expired",
                K::ImmatureSignature => "not yet valid",
                K::InvalidAudience => "wrong audience",
                K::InvalidIssuer => "wrong issuer",
                K::InvalidSignature => "bad signature",
                K::MissingRequiredClaim(_) => "missing a required claim",
                _ => "cannot be verified",
            };
            invalid_jwt(why)
        })?;
        let claims = data.claims;
        // jsonwebtoken checks `iss` only when the token has one; a configured issuer requires it.
        if self.issuer.is_some() && claims.get("iss").is_none() {
            return Err(invalid_jwt("wrong issuer"));
        }
        let Some(principal) = claims.get("sub").and_then(Value::as_str) else {
            return Err(invalid_jwt("no subject (sub)"));
        };
        let expires_at = claims.get("exp").and_then(Value::as_f64).map(unix_time);
        let user = User { principal: principal.to_owned(), attributes: self.claims_mapping.attributes(&claims) };
        Ok(Validated { user, expires_at })
    }

    fn challenge(&self) -> String {
        match &self.issuer {
            Some(iss) => format!("Authentication required. Please provide a valid OAuth2 Bearer token from {iss}"),
            None => "Authentication required. Please provide a valid OAuth2 Bearer token in the Authorization header"
                .to_owned(),
        }
    }
}

/// Seconds since the epoch (a JWT or introspection `exp`) as a time; negative means the epoch.
pub(crate) fn unix_time(secs: f64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO)
}
