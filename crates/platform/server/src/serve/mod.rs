//! Binding and serving: a hyper-util accept loop over plain TCP or rustls (with mutual TLS when
//! configured), TCP_NODELAY, run.yaml's connection limits and timeouts, and a graceful shutdown
//! on SIGTERM/SIGINT that lets requests and streams finish within the grace period.

mod conn;
mod io;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use lls_api_common::{Error, Result};
use lls_config::ConnectionLimits;
use lls_registry::Stack;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

pub use tls::TlsFiles;

use self::conn::{FINAL_FLUSH, Shared};
use crate::shutdown::Shutdown;

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub tls: Option<TlsFiles>,
    pub limits: ConnectionLimits,
}

impl ServeOptions {
    pub fn new(addr: SocketAddr) -> Self {
        ServeOptions { addr, tls: None, limits: ConnectionLimits::default() }
    }
}

/// Serves the stack until SIGTERM or SIGINT, then shuts down gracefully.
pub async fn serve(stack: Arc<Stack>, options: ServeOptions) -> Result<()> {
    let server = Server::bind(options).await?;
    let app = crate::edge::app_with(stack, &server.shutdown())?;
    server.run_until_signal(app).await
}

/// A bound listener, ready to serve an app.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    mtls: bool,
    limits: ConnectionLimits,
    shutdown: Shutdown,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).field("tls", &self.tls.is_some()).finish_non_exhaustive()
    }
}

impl Server {
    /// Loads the TLS files and binds (so a busy port fails early); [`Server::run`] serves.
    pub async fn bind(options: ServeOptions) -> Result<Server> {
        let tls = options.tls.as_ref().map(tls::acceptor).transpose()?;
        let listener = TcpListener::bind(options.addr)
            .await
            .map_err(|e| Error::invalid(format!("cannot listen on {}: {e}", options.addr)))?;
        let addr = listener.local_addr().map_err(|e| Error::internal(format!("cannot listen on {}: {e}", options.addr)))?;
        let mtls = options.tls.as_ref().is_some_and(|t| t.cafile.is_some());
        Ok(Server { listener, addr, tls, mtls, limits: options.limits, shutdown: Shutdown::new() })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The handle that stops this server (SIGTERM does the same through [`serve`]).
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// [`Server::run`], shutting down on SIGTERM or SIGINT.
    pub async fn run_until_signal(self, app: Router) -> Result<()> {
        let on_signal = self.shutdown();
        // Watched alongside the server (not spawned): a signal begins the shutdown, and the
        // server's own future ends once it has drained.
        let watch = async move {
            shutdown_signal().await;
            on_signal.begin();
            std::future::pending::<Result<()>>().await
        };
        tokio::select! {
            served = self.run(app) => served,
            never = watch => never,
        }
    }

    /// Accepts connections until shutdown begins, then waits for them within the grace period.
    pub async fn run(self, app: Router) -> Result<()> {
        let Server { listener, addr, tls, mtls, limits, shutdown } = self;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mtls = if mtls { " (client certificates required)" } else { "" };
        tracing::info!("listening on {scheme}://{addr}{mtls}");
        let shared = Arc::new(Shared::new(app, limits, shutdown.clone()));
        let tasks = TaskTracker::new();
        let mut warned_at: Option<Instant> = None;
        loop {
            let accepted = tokio::select! {
                _ = shutdown.started() => break,
                accepted = listener.accept() => accepted,
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e, &shared, &mut warned_at).await;
                    continue;
                }
            };
            // SSE chunks are small writes; Nagle plus delayed ACKs would hold each ~40 ms.
            let _ = tcp.set_nodelay(true);
            if shared.table.len() >= limits.max_connections && !shared.table.evict_idle() {
                tasks.spawn(refuse(tcp, tls.is_some()));
                continue;
            }
            tasks.spawn(connection(tcp, peer, tls.clone(), shared.clone()));
        }
        drop(listener);
        drain(&tasks, &shared).await;
        Ok(())
    }
}

async fn connection(tcp: TcpStream, peer: SocketAddr, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    let state = shared.table.open();
    match tls {
        None => conn::run(tcp, peer, state, &shared).await,
        Some(tls) => {
            // A handshake is held to the same time limit as a request head.
            let handshake = tokio::time::timeout(shared.limits.header_read_timeout, tls.accept(tcp)).await;
            match handshake {
                Ok(Ok(stream)) => conn::run(stream, peer, state, &shared).await,
                Ok(Err(e)) => {
                    tracing::debug!("TLS handshake failed: {e}");
                    shared.table.close_state(&state);
                }
                Err(_) => {
                    tracing::debug!("TLS handshake timed out");
                    shared.table.close_state(&state);
                }
            }
        }
    }
}

/// Every connection is busy and there are as many as allowed: say so and close.
async fn refuse(mut tcp: TcpStream, tls: bool) {
    if tls {
        return;
    }
    let body = lls_http::error::edge_body(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "the server has as many connections as it allows and all are busy; retry shortly",
    )
    .to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = tcp.write_all(answer.as_bytes()).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}

/// Out of file descriptors: make room by closing the longest-idle connection, and pause so the
/// loop does not spin. Other accept errors concern one connection only.
async fn accept_failed(e: &std::io::Error, shared: &Shared, warned_at: &mut Option<Instant>) {
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    if !matches!(e.raw_os_error(), Some(ENFILE | EMFILE)) {
        tracing::debug!("accept failed: {e}");
        return;
    }
    if warned_at.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
        tracing::warn!(open = shared.table.len(), "accept failed: {e}; closing idle connections to make room");
        *warned_at = Some(Instant::now());
    }
    let pause = if shared.table.evict_idle() { 5 } else { 50 };
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// Lets open connections finish within the grace period; then ends streams and cuts the rest.
async fn drain(tasks: &TaskTracker, shared: &Shared) {
    let grace = shared.limits.shutdown_grace_period;
    tasks.close();
    tracing::info!(connections = shared.table.len(), "shutting down: no longer accepting; in-flight requests have {grace:?} to finish");
    let started = Instant::now();
    tokio::select! {
        _ = tasks.wait() => {}
        _ = tokio::time::sleep(grace) => {
            tracing::warn!(connections = shared.table.len(), "shutdown grace period over: ending open streams and closing connections");
            shared.shutdown.expire();
            let _ = tokio::time::timeout(FINAL_FLUSH + Duration::from_secs(1), tasks.wait()).await;
        }
    }
    tracing::info!("shutdown complete in {:?}", started.elapsed());
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
