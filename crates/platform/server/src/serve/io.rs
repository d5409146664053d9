//! The connection's byte stream as hyper sees it, with three edge duties:
//! - note when a request head starts arriving (for the header-read timeout);
//! - replace hyper's own bodiless error answers (400 for unparseable requests, 414, 431: written
//!   before any request reaches a service) with our JSON error body;
//! - on close, read and discard what the client is still sending for a while (lingering close),
//!   so a client still uploading a refused body reads our answer instead of a reset.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::http::StatusCode;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::conn::ConnState;
use lls_http::error::edge_body;

/// How long a closing connection keeps reading what the client still sends, and how much.
const LINGER_TIME: Duration = Duration::from_secs(3);
const LINGER_BYTES: usize = 256 * 1024 * 1024;

pub(super) struct EdgeIo<IO> {
    io: IO,
    conn: Arc<ConnState>,
    seen_bytes: bool,
    /// Our replacement for an error answer of hyper's, and how much of it is written.
    replacement: Option<(Bytes, usize)>,
    /// Set once hyper's answer was replaced: the rest of what hyper writes is dropped.
    swallow: bool,
    write_shut: bool,
    linger: Option<(Pin<Box<Sleep>>, usize)>,
}

impl<IO> EdgeIo<IO> {
    pub(super) fn new(io: IO, conn: Arc<ConnState>) -> Self {
        EdgeIo { io, conn, seen_bytes: false, replacement: None, swallow: false, write_shut: false, linger: None }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> EdgeIo<IO> {
    /// Writes what is left of the replacement.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                self.replacement = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Whether `head` is hyper answering on its own (no request is being served, an error status,
    /// no body) and, if so, starts writing our answer in its place.
    fn replaces(&mut self, head: &[u8]) -> bool {
        if self.swallow {
            return true;
        }
        if self.conn.is_serving() || !head.starts_with(b"HTTP/1.1 ") || !is_bodiless_head(head) {
            return false;
        }
        let Some(status) = head.get(9..12).and_then(|s| std::str::from_utf8(s).ok()).and_then(|s| s.parse::<u16>().ok()) else {
            return false;
        };
        let Ok(status) = StatusCode::from_u16(status) else {
            return false;
        };
        if status.as_u16() < 400 {
            return false;
        }
        tracing::debug!(status = status.as_u16(), "answering an unreadable request");
        self.replacement = Some((hyper_error_answer(status), 0));
        self.swallow = true;
        true
    }
}

/// hyper's own answers have no body (`content-length: 0`); ours always have one. This also
/// keeps our own answers safe when hyper writes them after their body was dropped.
fn is_bodiless_head(buf: &[u8]) -> bool {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    buf[..end + 2].split(|b| *b == b'\n').any(|line| line.eq_ignore_ascii_case(b"content-length: 0\r"))
}

/// The whole HTTP/1.1 answer we send instead of hyper's bodiless one.
fn hyper_error_answer(status: StatusCode) -> Bytes {
    let message = match status {
        StatusCode::BAD_REQUEST => "the request is not valid HTTP/1.1".to_owned(),
        StatusCode::URI_TOO_LONG => "the request URI is too long".to_owned(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "the request has too many headers or they are too large".to_owned(),
        other => other.canonical_reason().unwrap_or("the request could not be read").to_owned(),
    };
    let body = edge_body(status, &message).to_string();
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    Bytes::from([head.as_bytes(), body.as_bytes()].concat())
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for EdgeIo<IO> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled
            && buf.filled().len() > before
        {
            if !this.seen_bytes {
                this.seen_bytes = true;
                // HTTP/2 starts with its preface and keeps sending frames between requests.
                if buf.filled()[before..].starts_with(b"PRI ") {
                    this.conn.set_http2();
                }
            }
            this.conn.bytes_arrived();
        }
        polled
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for EdgeIo<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replaces(buf) {
            ready!(this.poll_replacement(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &b[..]);
        if this.replaces(first) {
            ready!(this.poll_replacement(cx))?;
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_replacement(cx))?;
        if !this.write_shut {
            ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
            this.write_shut = true;
            if this.conn.lingers() {
                this.linger = Some((Box::pin(tokio::time::sleep(LINGER_TIME)), 0));
            }
        }
        // Lingering close: read until the client closes, the time is up or enough was dropped.
        let Some((deadline, drained)) = &mut this.linger else {
            return Poll::Ready(Ok(()));
        };
        let mut scratch = [0u8; 8192];
        loop {
            if *drained >= LINGER_BYTES || deadline.as_mut().poll(cx).is_ready() {
                break;
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => *drained += buf.filled().len(),
                Poll::Ready(_) => break,
                Poll::Pending => return Poll::Pending,
            }
        }
        this.linger = None;
        Poll::Ready(Ok(()))
    }
}
