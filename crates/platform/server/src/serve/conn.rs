//! One connection from accept to close, and the table of open ones. Each connection knows
//! whether it is serving a request (counted from the request head to the end of the response
//! body) or idle since when, so that it can be closed when idle too long (keep-alive timeout),
//! when a request head takes too long (header-read timeout), when room is needed (over
//! `max_connections` or out of file descriptors: oldest idle first) and at shutdown.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use lls_config::ConnectionLimits;
use tokio::io::{AsyncRead, AsyncWrite};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use super::io::EdgeIo;
use crate::shutdown::Shutdown;

/// After the grace period, how long connections get to flush their last bytes before they are cut.
pub(super) const FINAL_FLUSH: Duration = Duration::from_secs(1);

/// What every connection of one server shares.
pub(super) struct Shared {
    pub(super) router: Router,
    pub(super) limits: ConnectionLimits,
    pub(super) shutdown: Shutdown,
    pub(super) table: ConnTable,
    builder: auto::Builder<TokioExecutor>,
}

impl Shared {
    pub(super) fn new(router: Router, limits: ConnectionLimits, shutdown: Shutdown) -> Self {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // hyper's own head timer restarts whenever it waits for a head (idle ones too); ours
        // are finer (see `ConnState::timed_out`), so it only backs them up.
        let backstop = limits.header_read_timeout.max(limits.keepalive_timeout) + Duration::from_secs(1);
        builder.http1().timer(TokioTimer::new()).header_read_timeout(backstop);
        builder.http2().timer(TokioTimer::new());
        Shared { router, limits, shutdown, table: ConnTable::new(), builder }
    }
}

/// The open connections.
pub(super) struct ConnTable {
    epoch: Instant,
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
}

impl ConnTable {
    fn new() -> Self {
        ConnTable { epoch: Instant::now(), next_id: AtomicU64::new(1), conns: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        // A panic while holding this lock leaves the map intact; keep using it.
        self.conns.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(super) fn open(&self) -> Arc<ConnState> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = millis(self.epoch);
        let state = Arc::new(ConnState {
            id,
            epoch: self.epoch,
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            http2: AtomicBool::new(false),
            idle_since: AtomicU64::new(now),
            head_started: AtomicU64::new(0),
            deliberate_close: AtomicBool::new(false),
            evicting: AtomicBool::new(false),
            evict: tokio::sync::Notify::new(),
        });
        self.lock().insert(id, state.clone());
        state
    }

    pub(super) fn close_state(&self, state: &ConnState) {
        self.lock().remove(&state.id);
    }

    /// Asks the connection idle the longest to close; false when every connection is busy.
    pub(super) fn evict_idle(&self) -> bool {
        let conns = self.lock();
        let oldest = conns
            .values()
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0 && !c.evicting.load(Ordering::Relaxed))
            .min_by_key(|c| c.idle_since.load(Ordering::Relaxed));
        match oldest {
            Some(c) => {
                c.evicting.store(true, Ordering::Relaxed);
                c.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

fn millis(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// One connection's state, shared by its task, its byte stream and its requests.
pub(super) struct ConnState {
    id: u64,
    epoch: Instant,
    in_flight: AtomicUsize,
    served: AtomicBool,
    http2: AtomicBool,
    /// Milliseconds since the table's epoch.
    idle_since: AtomicU64,
    /// When bytes of a request head started arriving while idle; 0 when none did.
    head_started: AtomicU64,
    /// Closed by us for idleness, eviction or a slow head: no lingering read on close.
    deliberate_close: AtomicBool,
    evicting: AtomicBool,
    evict: tokio::sync::Notify,
}

enum Timeout {
    Idle,
    Head,
}

impl ConnState {
    pub(super) fn is_serving(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    pub(super) fn set_http2(&self) {
        self.http2.store(true, Ordering::Relaxed);
    }

    /// Called for every read that brought bytes: marks the start of a request head.
    pub(super) fn bytes_arrived(&self) {
        if !self.is_serving() && self.head_started.load(Ordering::Relaxed) == 0 && !self.http2.load(Ordering::Relaxed) {
            self.head_started.store(millis(self.epoch).max(1), Ordering::Relaxed);
        }
    }

    pub(super) fn lingers(&self) -> bool {
        !self.deliberate_close.load(Ordering::Relaxed)
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.served.store(true, Ordering::Relaxed);
        self.head_started.store(0, Ordering::Relaxed);
    }

    fn request_finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle_since.store(millis(self.epoch), Ordering::Relaxed);
        }
    }

    /// When the next timeout may fire, if one can.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.is_serving() {
            return None;
        }
        let at = |ms: u64, after: Duration| self.epoch + Duration::from_millis(ms) + after;
        let head = self.head_started.load(Ordering::Relaxed);
        if head != 0 {
            return Some(at(head, limits.header_read_timeout));
        }
        let idle = self.idle_since.load(Ordering::Relaxed);
        let wait = if self.served.load(Ordering::Relaxed) { limits.keepalive_timeout } else { limits.header_read_timeout };
        Some(at(idle, wait))
    }

    fn timed_out(&self, limits: &ConnectionLimits) -> Option<Timeout> {
        let deadline = self.deadline(limits)?;
        if Instant::now() < deadline {
            return None;
        }
        Some(if self.head_started.load(Ordering::Relaxed) != 0 { Timeout::Head } else { Timeout::Idle })
    }
}

/// Serves one accepted (and, for HTTPS, handshaken) connection until it closes; each request
/// carries the peer's address as axum's `ConnectInfo` (the quota's anonymous client id).
pub(super) async fn run<IO>(io: IO, peer: SocketAddr, state: Arc<ConnState>, shared: &Shared)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let body_timeout = shared.limits.request_body_timeout;
    let router = shared.router.clone();
    let requests = state.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        requests.request_started();
        let in_flight = InFlight(requests.clone());
        let mut req = req.map(|body| Body::new(TimeoutBody::new(body_timeout, body)));
        req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        let router = router.clone();
        async move {
            let Ok(response) = router.oneshot(req).await;
            Ok::<_, Infallible>(response.map(|body| Body::new(Tracked { inner: body, _in_flight: in_flight })))
        }
    });
    let conn = shared.builder.serve_connection(TokioIo::new(EdgeIo::new(io, state.clone())), service);
    tokio::pin!(conn);
    let mut draining = false;
    let mut cut_at: Option<Instant> = None;
    loop {
        let far = Instant::now() + Duration::from_secs(3600);
        let wake = state.deadline(&shared.limits).unwrap_or(far).min(cut_at.unwrap_or(far));
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = state.evict.notified(), if !draining => {
                state.deliberate_close.store(true, Ordering::Relaxed);
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
            _ = shared.shutdown.started(), if !draining => {
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
            _ = shared.shutdown.expired(), if cut_at.is_none() => cut_at = Some(Instant::now() + FINAL_FLUSH),
            _ = tokio::time::sleep_until(wake.into()) => {
                if cut_at.is_some_and(|at| Instant::now() >= at) {
                    break;
                }
                match state.timed_out(&shared.limits) {
                    // A head that takes too long is a slow client: no answer, just close.
                    Some(Timeout::Head) => {
                        tracing::debug!("closing a connection whose request head did not arrive in time");
                        break;
                    }
                    Some(Timeout::Idle) if draining => break,
                    Some(Timeout::Idle) => {
                        state.deliberate_close.store(true, Ordering::Relaxed);
                        conn.as_mut().graceful_shutdown();
                        draining = true;
                    }
                    None => {}
                }
            }
        }
    }
    shared.table.close_state(&state);
}

/// Counts a request as in flight until its response body is done or dropped.
struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that keeps its request in flight.
struct Tracked {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
