//! Model and failure scenarios: listing models, unknown models, and backend errors that must
//! arrive as errors of the right kind (never panics, never empty successes).

use anyhow::{anyhow, bail, ensure};
use futures::StreamExt;
use lls_api_common::{Error, ErrorKind, RequestContext};
use lls_api_inference::{ChatCompletionRequest, EmbeddingsRequest, InferenceProvider, Output};
use lls_api_models::ModelType;
use serde_json::json;

use super::calls::{request, user};
use super::{Capabilities, Outcome, ScenarioResult};

/// `list_models` is non-empty and lists the harness's models with the right types.
pub async fn list_models(
    p: &dyn InferenceProvider,
    llm: &str,
    embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    let models = p
        .list_models()
        .await
        .map_err(|e| anyhow!("list_models failed: {e}"))?;
    ensure!(!models.is_empty(), "list_models returned nothing");
    let find = |id: &str| models.iter().find(|m| m.provider_resource_id == id);
    let ids: Vec<&str> = models
        .iter()
        .map(|m| m.provider_resource_id.as_str())
        .collect();
    if caps.chat {
        let m = find(llm).ok_or_else(|| anyhow!("list_models lacks {llm:?}: {ids:?}"))?;
        ensure!(
            m.model_type == ModelType::Llm,
            "{llm:?} is listed as {:?}, not llm",
            m.model_type
        );
    }
    if caps.embeddings {
        let m =
            find(embedding).ok_or_else(|| anyhow!("list_models lacks {embedding:?}: {ids:?}"))?;
        ensure!(
            m.model_type == ModelType::Embedding,
            "{embedding:?} is listed as {:?}, not embedding",
            m.model_type
        );
    }
    Ok(Outcome::Passed)
}

const UNKNOWN: &str = "conformance-no-such-model";

/// A model the backend does not serve is an error, for chat and embeddings alike; without
/// chat, chat with the embedding model is refused as a client error.
pub async fn unknown_model(
    p: &dyn InferenceProvider,
    _llm: &str,
    embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    let err = chat_error(p, UNKNOWN).await?;
    ensure!(
        !err.message().is_empty(),
        "the unknown-model error has no message"
    );
    if !caps.chat {
        let err = chat_error(p, embedding).await?;
        let kind = err.kind();
        ensure!(
            matches!(
                kind,
                ErrorKind::InvalidRequest | ErrorKind::Unsupported | ErrorKind::NotFound
            ),
            "chat on a provider without chat failed with {kind:?}, not a client error ({err})"
        );
    }
    if caps.embeddings {
        let req: EmbeddingsRequest = request(json!({"model": UNKNOWN, "input": "x"}))?;
        ensure!(
            p.embeddings(&RequestContext::default(), req).await.is_err(),
            "embeddings with an unknown model succeeded"
        );
    }
    Ok(Outcome::Passed)
}

/// Backend failures arrive as errors of the matching kind, and a stream that breaks midway
/// ends with an error item after the chunks that did arrive.
pub async fn error_propagation(
    p: &dyn InferenceProvider,
    _llm: &str,
    _embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    super::require!(caps.failure_injection, "failure injection");
    for (model, kind) in [
        ("error-400", ErrorKind::InvalidRequest),
        ("error-429", ErrorKind::RateLimited),
        ("error-500", ErrorKind::UpstreamError),
        ("error-503", ErrorKind::UpstreamUnavailable),
    ] {
        let err = chat_error(p, model).await?;
        ensure!(
            err.kind() == kind,
            "{model}: expected {kind:?}, got {:?} ({err})",
            err.kind()
        );
        ensure!(
            !err.message().is_empty(),
            "{model}: the error has no message"
        );
    }
    if caps.embeddings {
        let req: EmbeddingsRequest = request(json!({"model": "error-429", "input": "x"}))?;
        match p.embeddings(&RequestContext::default(), req).await {
            Ok(_) => bail!("embeddings with error-429 succeeded"),
            Err(e) => ensure!(
                e.kind() == ErrorKind::RateLimited,
                "embeddings error-429: got {:?}",
                e.kind()
            ),
        }
    }
    let req: ChatCompletionRequest = request(
        json!({"model": "midstream-error", "messages": user("Tell me a story."), "stream": true}),
    )?;
    let mut stream = match p.chat_completion(&RequestContext::default(), req).await {
        Ok(Output::Stream(s)) => s,
        Ok(Output::Complete(_)) => {
            bail!("midstream-error with stream: true gave a whole completion")
        }
        Err(e) => {
            bail!("midstream-error failed before streaming ({e}); the first chunks should arrive")
        }
    };
    let (mut ok, mut failed) = (0, false);
    while let Some(item) = stream.next().await {
        ensure!(!failed, "the stream went on after an error item");
        match item {
            Ok(_) => ok += 1,
            Err(_) => failed = true,
        }
    }
    ensure!(ok > 0, "midstream-error: no chunk arrived before the error");
    ensure!(
        failed,
        "midstream-error: the broken stream ended without an error item ({ok} chunks)"
    );
    Ok(Outcome::Passed)
}

/// The error a chat request for `model` must fail with.
async fn chat_error(p: &dyn InferenceProvider, model: &str) -> anyhow::Result<Error> {
    let req: ChatCompletionRequest = request(json!({"model": model, "messages": user("hi")}))?;
    match p.chat_completion(&RequestContext::default(), req).await {
        Err(e) => Ok(e),
        Ok(_) => bail!("chat with model {model:?} succeeded; it should fail"),
    }
}
