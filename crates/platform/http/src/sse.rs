//! Server-sent events exactly as 0.3.5 sends them: `data: <json>\n\n` per chunk, no `event:`
//! lines and no `[DONE]`; a failure midway becomes one last `data: {"error": ...}` event.
//! The first chunk is awaited before answering, so early failures are real HTTP errors.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt, stream};
use lls_api_common::{Error, ErrorKind, Result};
use futures::stream::BoxStream;
use serde::Serialize;

use crate::error::{ApiError, error_body};

/// `data: <json>\n\n`, serialising `item` straight into the frame.
fn event<T: Serialize>(item: &T) -> Bytes {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(b"data: ");
    // Serializing our own types cannot fail; an empty object keeps the framing if it ever did.
    if serde_json::to_writer(&mut buf, item).is_err() {
        buf.truncate(b"data: ".len());
        buf.extend_from_slice(b"{}");
    }
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}

/// `data: <json>\n\n` around JSON text.
fn frame(json: &[u8]) -> Bytes {
    let mut buf = Vec::with_capacity(json.len() + 8);
    buf.extend_from_slice(b"data: ");
    buf.extend_from_slice(json);
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}

/// Streams `chunks` as SSE once the first one has arrived (see [`sse_json_response`]).
pub async fn sse_response<T: Serialize + Send + 'static>(chunks: BoxStream<'static, Result<T>>) -> Response {
    sse_events(chunks.map(|item| item.map(|chunk| event(&chunk)))).await
}

/// [`sse_response`] for chunks that are JSON text already (a backend's bytes, passed through).
/// A stream that ends before its first chunk is a backend failure (502), never an empty 200.
pub async fn sse_json_response(chunks: BoxStream<'static, Result<Bytes>>) -> Response {
    sse_events(chunks.map(|item| item.map(|json| frame(&json)))).await
}

/// Streams events already framed; a failure midway becomes one last error event.
async fn sse_events(chunks: impl Stream<Item = Result<Bytes>> + Send + 'static) -> Response {
    // Fused: the chained stream polls `chunks` again after it ended, which an `unfold` forbids.
    let mut chunks = Box::pin(chunks.fuse());
    let first = match chunks.next().await {
        Some(Ok(first)) => first,
        Some(Err(e)) => return ApiError(e).into_response(),
        None => {
            let e = Error::new(ErrorKind::UpstreamError, "the provider ended the stream without sending any chunk");
            return ApiError(e).into_response();
        }
    };
    let head = stream::once(futures::future::ready(Ok(first)));
    let body = head.chain(chunks).scan(false, |failed, item: Result<Bytes>| {
        if *failed {
            return futures::future::ready(None);
        }
        let bytes = match item {
            Ok(framed) => framed,
            Err(e) => {
                tracing::warn!("stream failed midway: {e}");
                *failed = true;
                event(&error_body(&e))
            }
        };
        futures::future::ready(Some(Ok::<_, std::convert::Infallible>(bytes)))
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
