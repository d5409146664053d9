//! Server-sent events from an OpenAI-compatible backend -> a stream of chunks, typed
//! ([`json_stream`]) or kept as the backend's JSON ([`answer_stream`]).
//! Framing (multi-line data, comments, events split across reads) is `eventsource-stream`'s.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use lls_api_common::{Error, ErrorKind, Result};
use lls_api_inference::{Answer, AnswerType, ChunkStream};
use serde::de::DeserializeOwned;

use crate::error::{self, BackendError};

/// Parses `data:` events as JSON `T`, forwarding each as soon as it is complete.
///
/// The stream ends at `data: [DONE]` or when the body ends (some servers omit `[DONE]`).
/// A transport error, an unparseable chunk or an error event yields one `Err` and ends it, and so
/// does a body that ends before any event (an empty, HTML or plain-text answer to a stream request).
/// Dropping the stream drops `body`, which cancels the upstream request.
pub fn json_stream<T, S>(provider: Arc<str>, body: S) -> ChunkStream<T>
where
    T: DeserializeOwned + Send + 'static,
    S: Stream<Item = Result<Bytes>> + Send + 'static,
{
    events(provider, body, |provider, data| parse_chunk::<T>(provider, data.trim()))
}

/// Like [`json_stream`], but each chunk stays the JSON the backend sent ([`Answer::Json`]),
/// checked to be an object (an error object in its place becomes the stream's error).
pub fn answer_stream<T, S>(provider: Arc<str>, body: S) -> ChunkStream<Answer<T>>
where
    T: AnswerType + Send + 'static,
    S: Stream<Item = Result<Bytes>> + Send + 'static,
{
    events(provider, body, |provider, data| {
        let bytes = Bytes::from(data);
        Answer::from_json(bytes.clone()).map_err(|e| match BackendError::parse(&bytes) {
            Some(backend) => error::from_stream_event(provider, &backend),
            None => invalid_chunk(provider, &e, &bytes),
        })
    })
}

/// The event loop both streams share; `parse` turns one event's data into an item.
fn events<T, S, F>(provider: Arc<str>, body: S, parse: F) -> ChunkStream<T>
where
    T: Send + 'static,
    S: Stream<Item = Result<Bytes>> + Send + 'static,
    F: Fn(&str, String) -> Result<T> + Send + Sync + Copy + 'static,
{
    let opening = Arc::new(Mutex::new(Vec::new()));
    let seen = opening.clone();
    let body = body.inspect(move |chunk| {
        if let (Ok(bytes), Ok(mut seen)) = (chunk, seen.lock())
            && seen.len() < SNIPPET_BYTES
        {
            let room = SNIPPET_BYTES - seen.len();
            seen.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    });
    let state = State { events: Box::pin(body.eventsource()), any_event: false, opening };
    futures::stream::unfold(Some(state), move |state| {
        let provider = provider.clone();
        async move {
            let mut state = state?;
            loop {
                let event = match state.events.next().await {
                    Some(Ok(event)) => event,
                    Some(Err(e)) => return Some((Err(framing_error(&provider, e)), None)),
                    None if state.any_event => return None,
                    None => return Some((Err(no_events(&provider, &state.opening)), None)),
                };
                state.any_event = true;
                let data = event.data.trim();
                if event.event == "error" {
                    let backend = BackendError::parse(data.as_bytes())
                        .unwrap_or(BackendError { message: Some(data.to_owned()), ..Default::default() });
                    return Some((Err(error::from_stream_event(&provider, &backend)), None));
                }
                if data.is_empty() {
                    continue;
                }
                if data == "[DONE]" {
                    return None;
                }
                let whole = data.len() == event.data.len();
                let data = if whole { event.data } else { data.to_owned() };
                return match parse(&provider, data) {
                    Ok(chunk) => Some((Ok(chunk), Some(state))),
                    Err(e) => Some((Err(e), None)),
                };
            }
        }
    })
    .boxed()
}

/// How much of the body's opening is kept to show in the error when no event arrives.
const SNIPPET_BYTES: usize = 256;

struct State<E> {
    events: std::pin::Pin<Box<E>>,
    any_event: bool,
    opening: Arc<Mutex<Vec<u8>>>,
}

fn no_events(provider: &str, opening: &Mutex<Vec<u8>>) -> Error {
    let opening = opening.lock().map(|o| o.clone()).unwrap_or_default();
    let what = if opening.iter().all(u8::is_ascii_whitespace) {
        "an empty body".to_owned()
    } else {
        format!("a body that is not server-sent events: {}", error::snippet(&opening))
    };
    Error::new(ErrorKind::UpstreamError, format!("provider {provider} answered a stream request with {what}"))
        .with_provider(provider)
}

/// One chunk; an error object in its place becomes the stream's error.
fn parse_chunk<T: DeserializeOwned>(provider: &str, data: &str) -> Result<T> {
    // The substring test keeps the common path to one parse; an escaped "error" inside a
    // string cannot match it.
    if data.contains("\"error\"")
        && let Some(backend) = top_level_error(data)
    {
        return Err(error::from_stream_event(provider, &backend));
    }
    serde_json::from_str(data).map_err(|e| match BackendError::parse(data.as_bytes()) {
        Some(backend) => error::from_stream_event(provider, &backend),
        None => invalid_chunk(provider, &e, data.as_bytes()),
    })
}

fn invalid_chunk(provider: &str, e: &dyn std::fmt::Display, data: &[u8]) -> Error {
    Error::new(
        ErrorKind::UpstreamError,
        format!("provider {provider} sent an invalid stream chunk: {e}; chunk: {}", error::snippet(data)),
    )
    .with_provider(provider)
}

/// `{"error": ...}` at the top level of a chunk, and only there.
fn top_level_error(data: &str) -> Option<BackendError> {
    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(borrow)]
        error: Option<&'a serde_json::value::RawValue>,
    }
    let probe: Probe<'_> = serde_json::from_str(data).ok()?;
    probe.error?;
    BackendError::parse(data.as_bytes())
}

fn framing_error(provider: &str, e: EventStreamError<Error>) -> Error {
    match e {
        EventStreamError::Transport(e) => e,
        other => Error::new(ErrorKind::UpstreamError, format!("provider {provider} sent an invalid event stream: {other}"))
            .with_provider(provider),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;
    use serde_json::Value;

    fn parse(parts: Vec<Result<&'static str>>) -> Vec<Result<Value>> {
        let body = stream::iter(parts.into_iter().map(|p| p.map(|s| Bytes::from_static(s.as_bytes()))));
        futures::executor::block_on(json_stream::<Value, _>("p1".into(), body).collect())
    }

    fn values(items: Vec<Result<Value>>) -> Vec<Value> {
        items.into_iter().map(Result::unwrap).collect()
    }

    #[test]
    fn chunks_split_across_reads() {
        let out = parse(vec![Ok("data: {\"a\""), Ok(": 1}\n"), Ok("\ndata: {\"a\": 2}\n\n"), Ok("data: [DONE]\n\n")]);
        assert_eq!(values(out), vec![serde_json::json!({"a": 1}), serde_json::json!({"a": 2})]);
    }

    #[test]
    fn crlf_comments_and_event_names() {
        let out = parse(vec![Ok(": keep-alive\r\n\r\nevent: message\r\ndata: {\"a\": 1}\r\n\r\ndata: [DONE]\r\n\r\n")]);
        assert_eq!(values(out), vec![serde_json::json!({"a": 1})]);
    }

    #[test]
    fn multi_line_data_is_joined() {
        let out = parse(vec![Ok("data: {\"a\":\ndata: 1}\n\n")]);
        assert_eq!(values(out), vec![serde_json::json!({"a": 1})]);
    }

    #[test]
    fn done_ends_the_stream_even_if_more_follows() {
        let out = parse(vec![Ok("data: {\"a\": 1}\n\ndata: [DONE]\n\ndata: {\"a\": 2}\n\n")]);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn missing_done_is_tolerated() {
        let out = parse(vec![Ok("data: {\"a\": 1}\n\n"), Ok("data: {\"a\": 2}\n\n")]);
        assert_eq!(values(out).len(), 2);
    }

    #[test]
    fn error_event_ends_with_one_err() {
        let out = parse(vec![Ok("data: {\"a\": 1}\n\ndata: {\"error\": {\"message\": \"overloaded\"}}\n\ndata: {\"a\": 2}\n\n")]);
        assert_eq!(out.len(), 2);
        let e = out[1].as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UpstreamError);
        assert_eq!(e.provider(), Some("p1"));
        assert!(e.message().contains("overloaded"));
        let named = parse(vec![Ok("event: error\ndata: backend exploded\n\n")]);
        assert!(named[0].as_ref().unwrap_err().message().contains("backend exploded"));
    }

    #[test]
    fn garbage_ends_with_one_err() {
        let out = parse(vec![Ok("data: {\"a\": 1}\n\ndata: not json\n\ndata: {\"a\": 2}\n\n")]);
        assert_eq!(out.len(), 2);
        let e = out[1].as_ref().unwrap_err();
        assert!(e.message().starts_with("provider p1 sent an invalid stream chunk"), "{}", e.message());
    }

    #[test]
    fn transport_error_ends_with_that_error() {
        let drop = Error::new(ErrorKind::UpstreamError, "connection reset");
        let out = parse(vec![Ok("data: {\"a\": 1}\n\n"), Err(drop), Ok("data: {\"a\": 2}\n\n")]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].as_ref().unwrap_err().message(), "connection reset");
    }

    #[test]
    fn a_body_without_events_is_one_err() {
        for (body, expected) in [
            ("", "with an empty body"),
            ("<html><body>502 Bad Gateway</body></html>\n", "not server-sent events: <html><body>502 Bad Gateway"),
            ("upstream connect error\n\n", "not server-sent events: upstream connect error"),
        ] {
            let out = parse(vec![Ok(body)]);
            assert_eq!(out.len(), 1, "{body:?}");
            let e = out[0].as_ref().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UpstreamError);
            assert!(e.message().contains(expected), "{}", e.message());
        }
        assert!(parse(vec![Ok("data: [DONE]\n\n")]).is_empty(), "an explicit end is not a failure here");
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let body = stream::iter(vec![Ok(Bytes::from_static(b"data: \xff\xfe\n\n"))]);
        let out: Vec<Result<Value>> = futures::executor::block_on(json_stream("p1".into(), body).collect());
        assert_eq!(out.len(), 1);
        assert!(out[0].is_err());
    }

    #[test]
    fn typed_chunks_parse() {
        let chunk = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"}}],"x_extra":1}"#;
        let body = stream::iter(vec![Ok(Bytes::from(format!("{chunk}\n\n")))]);
        let out: Vec<Result<lls_api_inference::ChatCompletionChunk>> =
            futures::executor::block_on(json_stream("p1".into(), body).collect());
        let c = out.into_iter().next().unwrap().unwrap();
        assert_eq!(c.choices[0].delta.content.as_deref(), Some("hi"));
        assert_eq!(c.extra["x_extra"], 1);
    }
}
