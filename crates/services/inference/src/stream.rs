//! A stream adapter that rewrites each chunk's `model` as it passes (the rest of a backend's
//! chunk is forwarded as its bytes) and hands the reassembled completion to a callback when the
//! stream ends (for the inference store).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use lls_api_common::Result;
use lls_api_inference::{Answer, ChatCompletion, ChatCompletionChunk, ChunkAccumulator, ChunkStream};

pub(crate) type OnEnd = Box<dyn FnOnce(ChatCompletion) + Send>;

pub(crate) struct RecordingStream {
    inner: ChunkStream<Answer<ChatCompletionChunk>>,
    model: String,
    acc: Option<ChunkAccumulator>,
    on_end: Option<OnEnd>,
    /// Set once the inner stream ended or failed: it is never polled again.
    finished: bool,
}

impl RecordingStream {
    /// `model` replaces every chunk's model; `on_end` (if any) gets the whole completion.
    pub(crate) fn new(inner: ChunkStream<Answer<ChatCompletionChunk>>, model: String, on_end: Option<OnEnd>) -> Self {
        let acc = on_end.as_ref().map(|_| ChunkAccumulator::default());
        RecordingStream { inner, model, acc, on_end, finished: false }
    }
}

impl Stream for RecordingStream {
    type Item = Result<Answer<ChatCompletionChunk>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(mut chunk))) => {
                chunk.set_model(&this.model);
                chunk.drop_empty_tool_calls();
                if let Some(acc) = &mut this.acc {
                    acc.push_answer(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                // A failed stream is not stored: drop the callback.
                this.on_end = None;
                this.finished = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                this.finished = true;
                if let (Some(acc), Some(on_end)) = (this.acc.take(), this.on_end.take())
                    && let Some(mut done) = acc.finish()
                {
                    // A backend's chunks were folded as received, under its model id.
                    done.model.clone_from(&this.model);
                    on_end(done);
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
