//! `server.quota`, as 0.3.5's `QuotaMiddleware`: requests counted per client in a kv store, per
//! fixed window (`quota:{client}:{window}`), 429 with `Retry-After` past the client's limit.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use lls_api_common::store::{KvStore, KvStoreRef, StoreResolver};
use lls_api_common::{Error, ErrorKind, unix_now};
use lls_config::QuotaConfig;
use lls_http::error::{LoggedError, edge_error};
use tokio::sync::OnceCell;

/// Routes a quota never counts: probes and scrapes must keep working for a client over its limit.
const EXEMPT: [&str; 3] = ["/v1/health", "/v1/version", "/metrics"];

/// Who is calling, as authentication established it (a principal, not a raw token). Set in the
/// request's extensions by the authentication layer, which runs before the quota; without it
/// the client is its IP address and gets the anonymous limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity(pub String);

/// Unix seconds now; replaceable so tests can move between windows without waiting.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The quota in force: its limits, its window and where it counts.
pub struct Quota {
    stores: Arc<dyn StoreResolver>,
    reference: KvStoreRef,
    /// Opened on the first counted request; a failed open is retried by the next one.
    kv: OnceCell<Arc<dyn KvStore>>,
    anonymous_max: u64,
    authenticated_max: u64,
    period: i64,
    clock: Clock,
}

impl Quota {
    pub fn new(config: &QuotaConfig, stores: Arc<dyn StoreResolver>) -> Self {
        Quota {
            stores,
            reference: config.kvstore.clone(),
            kv: OnceCell::new(),
            anonymous_max: config.anonymous_max_requests,
            authenticated_max: config.authenticated_max_requests,
            period: i64::try_from(config.period.seconds()).unwrap_or(86_400),
            clock: Arc::new(unix_now),
        }
    }

    /// The same quota reading the time from `clock` (unix seconds).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    async fn kv(&self) -> Result<&Arc<dyn KvStore>, Error> {
        self.kv.get_or_try_init(|| self.stores.kv(&self.reference)).await
    }

    /// Counts one request of `client`; `Some(seconds to the window's end)` when it is over `max`.
    async fn count(&self, client: &str, max: u64) -> Result<Option<i64>, Error> {
        let now = (self.clock)();
        let window = now.div_euclid(self.period);
        let window_end = (window + 1) * self.period;
        let key = format!("quota:{client}:{window}");
        let count = self.kv().await?.incr(&key, 1, Some(window_end)).await?;
        let over = u64::try_from(count).is_ok_and(|c| c > max);
        Ok(over.then_some((window_end - now).max(1)))
    }
}

/// The middleware: counts every request but the exempt probes.
pub async fn enforce(State(quota): State<Arc<Quota>>, req: Request, next: Next) -> Response {
    // The browser pages' static files are not counted either: loading a page must not use up
    // the anonymous allowance of a client about to call the API.
    if EXEMPT.contains(&req.uri().path()) || lls_webui::is_page(req.uri().path()) {
        return next.run(req).await;
    }
    let (client, max) = match req.extensions().get::<ClientIdentity>() {
        Some(ClientIdentity(principal)) => (principal.clone(), quota.authenticated_max),
        None => {
            let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string());
            (ip.unwrap_or_else(|| "unknown".to_owned()), quota.anonymous_max)
        }
    };
    match quota.count(&client, max).await {
        Ok(None) => next.run(req).await,
        Ok(Some(retry_after)) => {
            let mut response = edge_error(StatusCode::TOO_MANY_REQUESTS, "Quota exceeded");
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after));
            response
        }
        Err(e) => {
            let mut response = edge_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Quota service error: the request quota could not be checked; retry shortly",
            );
            let logged = Error::new(ErrorKind::UpstreamUnavailable, format!("quota store: {e}"));
            response.extensions_mut().insert(LoggedError(logged));
            response
        }
    }
}

#[cfg(test)]
mod tests;
