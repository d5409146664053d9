//! The validation cache: a validated token is reused until its expiry (an hour at most, 60 s
//! without one), bounded in size, keyed by the token's SHA-256: the token is never kept or shown.

use crate::{AuthError, Authenticator, RequestInfo, User, Validator};
use async_trait::async_trait;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Reuse of an answer that carried no expiry.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// Reuse of any answer at most, however far off the token's expiry (a key the issuer retired, a
/// token revoked at the introspection endpoint, are noticed within this).
pub const MAX_TTL: Duration = Duration::from_secs(3600);
/// Entries kept at most; past it the expired go first, then those expiring soonest.
pub const MAX_ENTRIES: usize = 10_000;

type TokenHash = [u8; 32];

/// A [`Validator`] with the cache in front of it: the [`Authenticator`] [`crate::build`] returns.
pub struct Cached {
    inner: Arc<dyn Validator>,
    entries: Mutex<HashMap<TokenHash, (User, Instant)>>,
    max_entries: usize,
}

impl std::fmt::Debug for Cached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached").field("entries", &self.entries.lock().len()).finish_non_exhaustive()
    }
}

impl Cached {
    pub fn new(inner: Arc<dyn Validator>) -> Self {
        Self::with_capacity(inner, MAX_ENTRIES)
    }

    pub fn with_capacity(inner: Arc<dyn Validator>, max_entries: usize) -> Self {
        Cached { inner, entries: Mutex::new(HashMap::new()), max_entries: max_entries.max(1) }
    }

    /// Entries currently held (expired ones included until they are swept).
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lookup(&self, key: &TokenHash) -> Option<User> {
        let mut entries = self.entries.lock();
        match entries.get(key) {
            Some((user, until)) if *until > Instant::now() => Some(user.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn store(&self, key: TokenHash, user: User, expires_at: Option<SystemTime>) {
        let now = Instant::now();
        let ttl = match expires_at {
            Some(at) => match at.duration_since(SystemTime::now()) {
                Ok(left) => left,
                Err(_) => return,
            },
            None => DEFAULT_TTL,
        }
        .min(MAX_TTL);
        let mut entries = self.entries.lock();
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= self.max_entries {
                let soonest = entries.iter().min_by_key(|(_, (_, until))| *until).map(|(k, _)| *k);
                if let Some(k) = soonest {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(key, (user, now + ttl));
    }
}

/// The cache key: never the token itself.
fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[async_trait]
impl Authenticator for Cached {
    async fn validate(&self, token: &str, request: &RequestInfo<'_>) -> Result<User, AuthError> {
        if !self.inner.cacheable() {
            return Ok(self.inner.check(token, request).await?.user);
        }
        let key = token_hash(token);
        if let Some(user) = self.lookup(&key) {
            return Ok(user);
        }
        let validated = self.inner.check(token, request).await?;
        self.store(key, validated.user.clone(), validated.expires_at);
        Ok(validated.user)
    }

    fn challenge(&self) -> String {
        self.inner.challenge()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Validated;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize, Option<Duration>);

    #[async_trait]
    impl Validator for Counting {
        async fn check(&self, token: &str, _: &RequestInfo<'_>) -> Result<Validated, AuthError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let expires_at = self.1.map(|d| SystemTime::now() + d);
            Ok(Validated { user: User { principal: token.to_owned(), ..User::default() }, expires_at })
        }
        fn challenge(&self) -> String {
            String::new()
        }
    }

    #[tokio::test]
    async fn hits_reuse_and_size_is_bounded() {
        let inner = Arc::new(Counting(AtomicUsize::new(0), Some(Duration::from_secs(600))));
        let cache = Cached::with_capacity(inner.clone(), 2);
        let req = RequestInfo::default();
        for t in ["a", "a", "b", "a"] {
            cache.validate(t, &req).await.unwrap();
        }
        assert_eq!(inner.0.load(Ordering::SeqCst), 2);
        cache.validate("c", &req).await.unwrap();
        assert_eq!(cache.len(), 2);
        cache.validate("secret-token-value", &req).await.unwrap();
        assert!(!format!("{cache:?}").contains("secret-token-value"), "the token never shows");
    }

    #[tokio::test]
    async fn already_expired_answers_are_not_kept() {
        let inner = Arc::new(Counting(AtomicUsize::new(0), Some(Duration::ZERO)));
        let cache = Cached::new(inner.clone());
        let req = RequestInfo::default();
        cache.validate("a", &req).await.unwrap();
        cache.validate("a", &req).await.unwrap();
        assert_eq!(inner.0.load(Ordering::SeqCst), 2);
        assert!(cache.is_empty());
    }
}
