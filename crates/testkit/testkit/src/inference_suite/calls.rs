//! How scenarios call the provider: typed requests from JSON, and calls that insist on a whole
//! answer or on a stream, collecting the stream and failing on its first error.

use anyhow::{Context, anyhow, bail};
use futures::StreamExt;
use lls_api_common::RequestContext;
use lls_api_inference::{Answer, AnswerType, InferenceProvider, Output};
use lls_api_inference::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A typed request from its JSON.
pub(super) fn request<T: DeserializeOwned>(json: Value) -> anyhow::Result<T> {
    serde_json::from_value(json).context("the suite built a request the API types reject")
}

pub(super) fn user(text: &str) -> Value {
    serde_json::json!([{"role": "user", "content": text}])
}

pub(super) async fn chat(p: &dyn InferenceProvider, json: Value) -> anyhow::Result<ChatCompletion> {
    let req: ChatCompletionRequest = request(json)?;
    match p
        .chat_completion(&RequestContext::default(), req)
        .await
        .map_err(|e| anyhow!("chat_completion failed: {e}"))?
    {
        Output::Complete(c) => typed(c),
        Output::Stream(_) => {
            bail!("asked for a whole chat completion (stream: false) but got a stream")
        }
    }
}

pub(super) async fn chat_stream(
    p: &dyn InferenceProvider,
    json: Value,
) -> anyhow::Result<Vec<ChatCompletionChunk>> {
    let req: ChatCompletionRequest = request(json)?;
    match p
        .chat_completion(&RequestContext::default(), req)
        .await
        .map_err(|e| anyhow!("chat_completion failed: {e}"))?
    {
        Output::Stream(s) => collect(s).await,
        Output::Complete(_) => {
            bail!("asked for a stream (stream: true) but got a whole chat completion")
        }
    }
}

pub(super) async fn completion(
    p: &dyn InferenceProvider,
    json: Value,
) -> anyhow::Result<Completion> {
    let req: CompletionRequest = request(json)?;
    match p
        .completion(&RequestContext::default(), req)
        .await
        .map_err(|e| anyhow!("completion failed: {e}"))?
    {
        Output::Complete(c) => typed(c),
        Output::Stream(_) => bail!("asked for a whole completion (stream: false) but got a stream"),
    }
}

pub(super) async fn completion_stream(
    p: &dyn InferenceProvider,
    json: Value,
) -> anyhow::Result<Vec<Completion>> {
    let req: CompletionRequest = request(json)?;
    match p
        .completion(&RequestContext::default(), req)
        .await
        .map_err(|e| anyhow!("completion failed: {e}"))?
    {
        Output::Stream(s) => collect(s).await,
        Output::Complete(_) => {
            bail!("asked for a stream (stream: true) but got a whole completion")
        }
    }
}

/// The typed view of an answer (a backend's JSON must parse as the API's type).
pub(super) fn typed<T: AnswerType>(answer: Answer<T>) -> anyhow::Result<T> {
    answer
        .into_typed()
        .map_err(|e| anyhow!("the answer does not parse as the API's type: {e}"))
}

async fn collect<C: AnswerType>(
    mut stream: lls_api_inference::ChunkStream<Answer<C>>,
) -> anyhow::Result<Vec<C>> {
    let mut chunks = Vec::new();
    while let Some(item) = stream.next().await {
        let chunk =
            item.map_err(|e| anyhow!("the stream failed after {} chunks: {e}", chunks.len()))?;
        chunks.push(typed(chunk)?);
    }
    Ok(chunks)
}
