//! The `application/vnd.amazon.eventstream` body of a ConverseStream answer read as it arrives:
//! frames (prelude, headers, payload, both CRCs checked) decoded by smithy-rs's
//! `MessageFrameDecoder`, events yielded with their `:event-type` and JSON payload; an exception
//! or error message, a broken frame or a truncated body yields one error and ends the stream.

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::{HeaderValue, Message};
use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, Stream, StreamExt};
use lls_api_common::{Error, ErrorKind, Result};
use serde_json::Value;

use crate::error;

/// One event of the stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    /// `messageStart`, `contentBlockDelta`, ...
    pub kind: String,
    pub payload: Value,
}

fn header<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message.headers().iter().find(|h| h.name().as_str() == name).and_then(|h| match h.value() {
        HeaderValue::String(s) => Some(s.as_str()),
        _ => None,
    })
}

fn broken(provider: &str, why: &str) -> Error {
    Error::new(ErrorKind::UpstreamError, format!("provider {provider}: broken event stream: {why}")).with_provider(provider)
}

/// One decoded message as an event, or the error it reports.
fn event_of(provider: &str, message: &Message) -> Result<Event> {
    match header(message, ":message-type") {
        Some("event") => {
            let kind = header(message, ":event-type").unwrap_or_default().to_owned();
            let payload = if message.payload().is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(message.payload()).map_err(|_| error::invalid_answer(provider, "stream event", message.payload()))?
            };
            Ok(Event { kind, payload })
        }
        Some("exception") => {
            Err(error::from_stream_exception(provider, header(message, ":exception-type").unwrap_or("exception"), message.payload()))
        }
        Some("error") => {
            let code = header(message, ":error-code").unwrap_or("error");
            let text = header(message, ":error-message").unwrap_or_default();
            Err(error::from_stream_exception(provider, code, serde_json::json!({"message": text}).to_string().as_bytes()))
        }
        other => Err(broken(provider, &format!("a message of type {other:?}"))),
    }
}

struct Reader<S> {
    body: S,
    buffer: BytesMut,
    decoder: MessageFrameDecoder,
    provider: String,
}

/// The events of a ConverseStream body. Dropping the stream drops the body, cancelling the call.
pub(crate) fn events<S>(provider: &str, body: S) -> BoxStream<'static, Result<Event>>
where
    S: Stream<Item = Result<Bytes>> + Send + Unpin + 'static,
{
    let reader = Reader { body, buffer: BytesMut::new(), decoder: MessageFrameDecoder::new(), provider: provider.to_owned() };
    stream::unfold(Some(reader), |state| async move {
        let mut r = state?;
        loop {
            match r.decoder.decode_frame(&mut r.buffer) {
                Ok(DecodedFrame::Complete(message)) => {
                    return match event_of(&r.provider, &message) {
                        Ok(event) => Some((Ok(event), Some(r))),
                        Err(e) => Some((Err(e), None)),
                    };
                }
                Ok(DecodedFrame::Incomplete) => {}
                Err(e) => return Some((Err(broken(&r.provider, &e.to_string())), None)),
            }
            match r.body.next().await {
                Some(Ok(bytes)) => r.buffer.extend_from_slice(&bytes),
                Some(Err(e)) => return Some((Err(e), None)),
                None if r.buffer.is_empty() => return None,
                None => return Some((Err(broken(&r.provider, "the body ended inside a message")), None)),
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::Header;

    fn frame(message_type: &'static str, kind_header: &'static str, kind: &'static str, payload: &str) -> Vec<u8> {
        let message = Message::new(payload.to_owned().into_bytes())
            .add_header(Header::new(kind_header, HeaderValue::String(kind.into())))
            .add_header(Header::new(":content-type", HeaderValue::String("application/json".into())))
            .add_header(Header::new(":message-type", HeaderValue::String(message_type.into())));
        let mut out = Vec::new();
        write_message_to(&message, &mut out).unwrap();
        out
    }

    async fn collect(bytes: Vec<u8>, piece: usize) -> Vec<Result<Event>> {
        let pieces: Vec<Result<Bytes>> = bytes.chunks(piece).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        events("br", stream::iter(pieces)).collect().await
    }

    #[tokio::test]
    async fn frames_split_anywhere_decode() {
        let mut bytes = frame("event", ":event-type", "messageStart", r#"{"role":"assistant"}"#);
        bytes.extend(frame("event", ":event-type", "contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#));
        for piece in [1, 7, 1000] {
            let got = collect(bytes.clone(), piece).await;
            assert_eq!(got.len(), 2);
            let second = got[1].as_ref().unwrap();
            assert_eq!((second.kind.as_str(), second.payload["delta"]["text"].as_str()), ("contentBlockDelta", Some("Hi")));
        }
    }

    #[tokio::test]
    async fn exceptions_corruption_and_truncation_end_with_an_error() {
        let mut bytes = frame("event", ":event-type", "messageStart", "{}");
        bytes.extend(frame("exception", ":exception-type", "throttlingException", r#"{"message":"slow down"}"#));
        bytes.extend(frame("event", ":event-type", "messageStop", "{}"));
        let got = collect(bytes, 5).await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].as_ref().unwrap_err().kind(), ErrorKind::RateLimited);

        let mut corrupt = frame("event", ":event-type", "messageStart", "{}");
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        let got = collect(corrupt, 100).await;
        assert!(got[0].as_ref().unwrap_err().message().contains("broken event stream"), "{got:?}");

        let mut cut = frame("event", ":event-type", "messageStart", "{}");
        cut.truncate(cut.len() - 3);
        let got = collect(cut, 100).await;
        assert!(got[0].as_ref().unwrap_err().message().contains("ended inside a message"));
    }
}
