//! An axum router served on a free 127.0.0.1 port in the background, until dropped: what the
//! test kit's in-process backends (token issuers, the FMS and web search mocks) run on.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running server; stops when dropped.
pub(crate) struct LocalServer {
    pub(crate) addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

/// Serves `router` on a free loopback port.
pub(crate) async fn serve(router: Router) -> std::io::Result<LocalServer> {
    serve_on(router, 0).await
}

/// Serves `router` on 127.0.0.1:`port` (0: a free one).
pub(crate) async fn serve_on(router: Router, port: u16) -> std::io::Result<LocalServer> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(LocalServer { addr, _stop: stop })
}
