//! The server's shutdown, in two steps other code can watch: `begin` (stop accepting, let
//! in-flight requests and streams finish) and `expire` (the grace period is over: streams end).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

/// A cheap, cloneable handle on the server's shutdown.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    started: CancellationToken,
    expired: CancellationToken,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops accepting connections; in-flight requests and streams may finish. Idempotent.
    pub fn begin(&self) {
        self.inner.started.cancel();
    }

    /// Ends the grace period: open streams end with an error event, connections close.
    /// Implies [`Shutdown::begin`].
    pub fn expire(&self) {
        self.inner.started.cancel();
        self.inner.expired.cancel();
    }

    pub fn is_shutting_down(&self) -> bool {
        self.inner.started.is_cancelled()
    }

    pub fn is_expired(&self) -> bool {
        self.inner.expired.is_cancelled()
    }

    /// Resolves once shutdown has begun.
    pub async fn started(&self) {
        self.inner.started.cancelled().await;
    }

    /// Resolves once the grace period is over.
    pub async fn expired(&self) {
        self.inner.expired.cancelled().await;
    }

    /// A token cancelled when shutdown begins, for tasks that should stop then.
    pub fn token(&self) -> CancellationToken {
        self.inner.started.child_token()
    }

    /// A token cancelled when the grace period is over.
    pub fn expired_token(&self) -> CancellationToken {
        self.inner.expired.child_token()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn begin_then_expire() {
        let s = Shutdown::new();
        let token = s.token();
        assert!(!s.is_shutting_down() && !token.is_cancelled());
        s.begin();
        s.started().await;
        assert!(token.is_cancelled() && !s.is_expired());
        s.clone().expire();
        s.expired().await;
        assert!(s.is_expired());
    }
}
