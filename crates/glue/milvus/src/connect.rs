//! How to reach a Milvus server: the address, credentials, database and TLS files of 0.3.5's
//! `MilvusClient(**config)`, and bounded waits (the SDK's own defaults retry a dead server for
//! minutes; a request should fail within seconds so the caller gets a 503).

use std::time::Duration;

use milvus::v2::prelude::{ConnectConfig, RetryConfig};

/// Connection settings for [`MilvusIndex::connect`](crate::MilvusIndex::connect).
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// `http://host:19530`, `https://…` (TLS), or `host:port`.
    pub uri: String,
    /// `user:password` or an API key; `None` for a server without authentication.
    pub token: Option<String>,
    /// The Milvus database (`None`: the server's `default`).
    pub db_name: Option<String>,
    /// TLS even for an `http://` URI.
    pub secure: bool,
    pub ca_pem_path: Option<String>,
    pub client_pem_path: Option<String>,
    pub client_key_path: Option<String>,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long one call may take.
    pub rpc_timeout: Duration,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("uri", &self.uri)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("db_name", &self.db_name)
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl ConnectOptions {
    /// A server at `uri`, no credentials, default waits.
    pub fn new(uri: impl Into<String>) -> Self {
        ConnectOptions {
            uri: uri.into(),
            token: None,
            db_name: None,
            secure: false,
            ca_pem_path: None,
            client_pem_path: None,
            client_key_path: None,
            connect_timeout: Duration::from_secs(10),
            rpc_timeout: Duration::from_secs(60),
        }
    }

    pub(crate) fn sdk(&self) -> ConnectConfig {
        let retry = RetryConfig::new()
            .max_attempts(3)
            .max_retry_timeout(self.connect_timeout)
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_secs(1));
        let mut c = ConnectConfig::new()
            .uri(self.uri.clone())
            .connect_timeout(self.connect_timeout)
            .rpc_timeout(self.rpc_timeout)
            .retry(retry)
            .secure(self.secure);
        if let Some(token) = &self.token {
            c = c.token(token.clone());
        }
        if let Some(db) = &self.db_name {
            c = c.database(db.clone());
        }
        if let Some(p) = &self.ca_pem_path {
            c = c.ca_certificate(p.clone());
        }
        if let Some(p) = &self.client_pem_path {
            c = c.client_certificate(p.clone());
        }
        if let Some(p) = &self.client_key_path {
            c = c.client_key(p.clone());
        }
        c
    }
}
