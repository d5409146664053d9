//! Binding and serving: plain HTTP, or HTTPS when run.yaml names a certificate and key.
//! Stops gracefully on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum_server::accept::NoDelayAcceptor;
use lls_api_common::{Error, Result};
use lls_registry::Stack;

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub tls: Option<(String, String)>,
}

/// Serves the stack until a shutdown signal arrives.
pub async fn serve(stack: Arc<Stack>, options: ServeOptions) -> Result<()> {
    let app = crate::app(stack);
    let handle = axum_server::Handle::new();
    let shutdown = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        shutdown.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    match options.tls {
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .map_err(|e| Error::invalid(format!("server.tls_certfile/tls_keyfile: cannot load {cert} / {key}: {e}")))?;
            tracing::info!("listening on https://{}", options.addr);
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls).acceptor(NoDelayAcceptor::new());
            axum_server::bind(options.addr)
                .acceptor(acceptor)
                .handle(handle)
                .serve(app.into_make_service())
                .await
        }
        None => {
            tracing::info!("listening on http://{}", options.addr);
            // TCP_NODELAY: SSE chunks are small writes; Nagle plus delayed ACKs would hold each ~40 ms.
            axum_server::bind(options.addr)
                .acceptor(NoDelayAcceptor::new())
                .handle(handle)
                .serve(app.into_make_service())
                .await
        }
    }
    .map_err(|e| Error::internal(format!("cannot serve on {}: {e}", options.addr)))
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
