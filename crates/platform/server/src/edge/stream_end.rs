//! Ends an SSE response body with one `data: {"error": ...}` event when the shutdown grace period
//! expires, instead of cutting it. Each body frame is one whole event (see `sse.rs`), so the
//! extra event never splits another.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::StatusCode;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio_util::sync::WaitForCancellationFutureOwned;

use lls_http::error::edge_body;
use crate::shutdown::Shutdown;

pub(super) struct EndOnShutdown {
    inner: Body,
    expired: Pin<Box<WaitForCancellationFutureOwned>>,
    done: bool,
}

impl EndOnShutdown {
    pub(super) fn wrap(inner: Body, shutdown: &Shutdown) -> Body {
        let expired = Box::pin(shutdown.expired_token().cancelled_owned());
        Body::new(EndOnShutdown { inner, expired, done: false })
    }
}

/// The last event of a stream the shutdown ended.
fn shutdown_event() -> Bytes {
    let body = edge_body(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is shutting down; this stream was ended before it finished",
    );
    let mut buf = b"data: ".to_vec();
    buf.extend_from_slice(body.to_string().as_bytes());
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}

impl HttpBody for EndOnShutdown {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if this.expired.as_mut().poll(cx).is_ready() {
            this.done = true;
            tracing::info!("stream ended by the shutdown");
            return Poll::Ready(Some(Ok(Frame::data(shutdown_event()))));
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            this.done = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
