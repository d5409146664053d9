//! Between the async API and the worker: a request becomes jobs (one per choice), the worker's
//! events become whole answers or chunk streams. Nothing here blocks the async runtime.

use futures::StreamExt;
use futures::stream::{self, BoxStream};
use lls_api_common::{Error, ErrorKind, Result};
use lls_api_inference::{ToolCall, Usage};
use serde_json::Map;
use tokio::sync::mpsc;

use crate::engine::{Event, Failure, Finish};

/// One choice being generated: its events, the first one already received (so a request that
/// cannot run fails before any chunk is sent).
pub struct Choice {
    pub index: u32,
    pub first: Option<Event>,
    pub rx: mpsc::UnboundedReceiver<Event>,
}

impl Choice {
    /// Waits for the first event; a failure there is the request's error.
    pub async fn begin(
        index: u32,
        mut rx: mpsc::UnboundedReceiver<Event>,
        provider_id: &str,
    ) -> Result<Choice> {
        match rx.recv().await {
            Some(Event::Failed(f)) => Err(failure(f, provider_id)),
            None => Err(stopped(provider_id)),
            first => Ok(Choice { index, first, rx }),
        }
    }

    async fn next(&mut self) -> Option<Event> {
        match self.first.take() {
            Some(e) => Some(e),
            None => self.rx.recv().await,
        }
    }

    /// The whole text and how it ended.
    pub async fn collect(mut self, provider_id: &str) -> Result<Generated> {
        let mut text = String::new();
        loop {
            match self.next().await {
                Some(Event::Text(t)) => text.push_str(&t),
                Some(Event::Done {
                    finish,
                    prompt_tokens,
                    completion_tokens,
                }) => {
                    return Ok(Generated {
                        index: self.index,
                        text,
                        finish,
                        prompt_tokens,
                        completion_tokens,
                    });
                }
                Some(Event::Failed(f)) => return Err(failure(f, provider_id)),
                None => return Err(stopped(provider_id)),
            }
        }
    }

    /// Text pieces as they come, then the end (or an error).
    pub fn pieces(self, provider_id: String) -> BoxStream<'static, Piece> {
        stream::unfold(Some((self, provider_id)), |state| async move {
            let (mut choice, provider_id) = state?;
            let piece = match choice.next().await {
                Some(Event::Text(t)) => {
                    return Some((Piece::Text(choice.index, t), Some((choice, provider_id))));
                }
                Some(Event::Done {
                    finish,
                    prompt_tokens,
                    completion_tokens,
                }) => Piece::Done {
                    index: choice.index,
                    finish,
                    prompt_tokens,
                    completion_tokens,
                },
                Some(Event::Failed(f)) => Piece::Failed(failure(f, &provider_id)),
                None => Piece::Failed(stopped(&provider_id)),
            };
            Some((piece, None))
        })
        .boxed()
    }
}

/// What a stream of choices yields.
#[derive(Debug)]
pub enum Piece {
    Text(u32, String),
    Done {
        index: u32,
        finish: Finish,
        prompt_tokens: u32,
        completion_tokens: u32,
    },
    Failed(Error),
}

/// A finished choice.
#[derive(Debug)]
pub struct Generated {
    pub index: u32,
    pub text: String,
    pub finish: Finish,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// Usage of a request's choices: the prompt once, every choice's completion.
pub fn usage(prompt_tokens: u32, completion_tokens: u32) -> Usage {
    Usage {
        prompt_tokens: prompt_tokens.into(),
        completion_tokens: completion_tokens.into(),
        total_tokens: i64::from(prompt_tokens) + i64::from(completion_tokens),
        extra: Map::new(),
    }
}

/// A choice's text as the answer gives it: tool calls when tools were offered and the text is
/// one, else content.
pub fn split_tool_calls(
    text: String,
    tools: Option<&[String]>,
) -> (Option<String>, Option<Vec<ToolCall>>) {
    if let Some(names) = tools {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        if let Some(calls) = crate::tool_calls::parse(&text, &names) {
            return (None, Some(calls));
        }
    }
    (Some(text), None)
}

fn failure(f: Failure, provider_id: &str) -> Error {
    match f {
        Failure::PromptTooLong { prompt_tokens, context_length } => Error::new(
            ErrorKind::ContextLength,
            format!(
                "the prompt is {prompt_tokens} tokens; this model's context_length is {context_length} tokens per request (prompt and answer)"
            ),
        )
        .with_param("messages"),
        Failure::Decode(e) => Error::new(ErrorKind::UpstreamError, e),
        Failure::Grammar(e) => Error::invalid(e).with_param("response_format"),
    }
    .with_provider(provider_id)
}

fn stopped(provider_id: &str) -> Error {
    Error::internal("the llama.cpp worker stopped before the answer was complete")
        .with_provider(provider_id)
}

/// `<prefix>-` and 24 hex digits, unique within the process.
pub fn new_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{:016x}{:08x}", unix_nanos() as u64, n as u32)
}

pub fn unix_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

pub fn unix_seconds() -> i64 {
    (unix_nanos() / 1_000_000_000) as i64
}
