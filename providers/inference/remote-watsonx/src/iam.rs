//! IBM Cloud IAM tokens for watsonx.ai: an API key is exchanged (form POST to
//! `{iam_url}/identity/token`, grant type `urn:ibm:params:oauth:grant-type:apikey`) for a bearer
//! token, cached per key and exchanged again before its `expiration`. Callers of one key share
//! one exchange; a token watsonx refuses is renewed once ([`IamTokens::renew`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use lls_api_common::{Error, ErrorKind, Result};
use lls_openai_compat::Credential;
use serde::Deserialize;

use crate::error;

/// The grant type IAM exchanges API keys with.
pub const APIKEY_GRANT_TYPE: &str = "urn:ibm:params:oauth:grant-type:apikey";

/// Keys whose tokens are kept at most (callers' keys from provider data included).
const MAX_KEYS: usize = 1024;

#[derive(Debug, Clone)]
struct Token {
    value: Arc<str>,
    /// Unix seconds; IAM's `expiration`.
    expires_at: u64,
    /// Seconds it was issued for.
    lifetime: u64,
}

impl Token {
    /// Whether it is still good for a call: tokens are renewed a fifth of their lifetime
    /// (at most five minutes, at least a second) before they expire.
    fn fresh(&self, now: u64) -> bool {
        let margin = (self.lifetime / 5).clamp(1, 300);
        now.saturating_add(margin) < self.expires_at
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expiration: Option<u64>,
    #[serde(default)]
    expires_in: Option<u64>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Token>>>;

/// The token cache of one provider.
pub(crate) struct IamTokens {
    http: reqwest::Client,
    endpoint: String,
    provider: Arc<str>,
    slots: parking_lot::Mutex<HashMap<String, Slot>>,
}

impl std::fmt::Debug for IamTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamTokens").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl IamTokens {
    pub(crate) fn new(http: reqwest::Client, iam_url: &str, provider: Arc<str>) -> Self {
        IamTokens {
            http,
            endpoint: format!("{}/identity/token", iam_url.trim_end_matches('/')),
            provider,
            slots: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, key: &str) -> Slot {
        let mut slots = self.slots.lock();
        if slots.len() >= MAX_KEYS && !slots.contains_key(key) {
            // Keep the tokens in use or still fresh; forget the rest.
            let t = now();
            slots.retain(|_, s| s.try_lock().map_or(true, |g| g.as_ref().is_some_and(|tok| tok.fresh(t))));
            if slots.len() >= MAX_KEYS {
                slots.clear();
            }
        }
        slots.entry(key.to_owned()).or_default().clone()
    }

    /// A token for `key`: the cached one while fresh, else a new exchange.
    pub(crate) async fn token(&self, key: &str, credential: Credential) -> Result<Arc<str>> {
        let slot = self.slot(key);
        let mut cached = slot.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| t.fresh(now())) {
            return Ok(t.value.clone());
        }
        let t = self.exchange(key, credential).await?;
        let value = t.value.clone();
        *cached = Some(t);
        Ok(value)
    }

    /// A new token for `key` after watsonx refused `stale`, unless another call has renewed it
    /// meanwhile.
    pub(crate) async fn renew(&self, key: &str, stale: &str, credential: Credential) -> Result<Arc<str>> {
        let slot = self.slot(key);
        let mut cached = slot.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| &*t.value != stale && t.fresh(now())) {
            return Ok(t.value.clone());
        }
        let t = self.exchange(key, credential).await?;
        let value = t.value.clone();
        *cached = Some(t);
        Ok(value)
    }

    async fn exchange(&self, key: &str, credential: Credential) -> Result<Token> {
        let provider = &*self.provider;
        tracing::debug!(provider, endpoint = %self.endpoint, "IAM token exchange");
        let form = [("grant_type", APIKEY_GRANT_TYPE), ("apikey", key)];
        let response = self
            .http
            .post(&self.endpoint)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| lls_openai_compat::error::from_transport(provider, &self.endpoint, e))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| lls_openai_compat::error::from_transport(provider, &self.endpoint, e))?;
        if !(200..300).contains(&status) {
            return Err(error::from_iam_status(provider, status, &body, credential));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| error::invalid_answer(provider, "IAM token answer", &body))?;
        let issued = now();
        let expires_at = answer.expiration.or_else(|| answer.expires_in.map(|s| issued + s)).ok_or_else(|| {
            Error::new(ErrorKind::UpstreamError, format!("IBM Cloud IAM gave provider {provider} a token without an expiration"))
                .with_provider(provider)
        })?;
        if answer.access_token.is_empty() {
            return Err(error::invalid_answer(provider, "IAM token answer", &body));
        }
        Ok(Token { value: Arc::from(answer.access_token), expires_at, lifetime: expires_at.saturating_sub(issued) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        let t = |lifetime: u64| Token { value: Arc::from("t"), expires_at: 10_000 + lifetime, lifetime };
        let hour = t(3600);
        assert!(hour.fresh(10_000 + 3600 - 301));
        assert!(!hour.fresh(10_000 + 3600 - 300));
        let short = t(2);
        assert!(short.fresh(10_000));
        assert!(!short.fresh(10_001));
    }
}
