//! The provider: builds the prompt, asks the guard model through the inference API (one chat
//! completion per conversation or moderation input, temperature 0), reads its verdict.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use lls_api_common::{BuildContext, Error, ErrorKind, RequestContext, Result};
use lls_api_inference::{ChatCompletion, ChatCompletionRequest, ChatMessage, Inference, InferenceApi, Output};
use lls_api_safety::{ModerationObject, RunShieldResponse, SafetyProvider, Shield};
use serde_json::{Map, Value};

use crate::LlamaGuardConfig;
use crate::prompt::{chat_completion_request, moderation_prompt, run_shield_prompt};
use crate::verdict::{moderation_verdict, run_shield_verdict, safe_result};

/// Moderation inputs judged at once (one model call each).
const MODERATION_CONCURRENCY: usize = 4;

/// Shields judged by a Llama Guard model.
pub struct LlamaGuard {
    excluded: Vec<String>,
    inference: Arc<dyn Inference>,
}

impl LlamaGuard {
    pub fn new(config: LlamaGuardConfig, inference: Arc<dyn Inference>) -> Self {
        LlamaGuard { excluded: config.excluded_categories, inference }
    }

    pub async fn build(ctx: BuildContext, config: LlamaGuardConfig) -> Result<Arc<dyn SafetyProvider>> {
        let inference = ctx.deps.get::<InferenceApi>().ok_or_else(|| {
            Error::invalid(format!("provider '{}' (inline::llama-guard) needs an inference provider in run.yaml", ctx.provider_id))
        })?;
        Ok(Arc::new(LlamaGuard::new(config, inference)))
    }

    /// The guard model's answer to `prompt` (its text, if any).
    async fn ask(&self, ctx: &RequestContext, model: &str, prompt: &str) -> Result<Option<String>> {
        let request: ChatCompletionRequest = serde_json::from_value(chat_completion_request(model, prompt))?;
        let answer = match self.inference.chat_completion(ctx, request).await? {
            Output::Complete(answer) => answer,
            Output::Stream(_) => return Err(Error::new(ErrorKind::UpstreamError, "the guard model streamed an answer it was not asked to stream")),
        };
        let completion: ChatCompletion = answer.into_typed()?;
        Ok(completion.choices.into_iter().next().and_then(|c| c.message.content))
    }
}

#[async_trait]
impl SafetyProvider for LlamaGuard {
    async fn run_shield(&self, ctx: &RequestContext, shield: &Shield, messages: &[ChatMessage], _params: &Map<String, Value>) -> Result<RunShieldResponse> {
        let model = shield.provider_resource();
        let messages: Vec<Value> = messages.iter().map(serde_json::to_value).collect::<std::result::Result<_, _>>()?;
        let prompt = run_shield_prompt(&messages, model, &self.excluded)?;
        let answer = self.ask(ctx, model, &prompt).await?;
        Ok(RunShieldResponse { violation: run_shield_verdict(answer.as_deref(), &self.excluded)? })
    }

    /// One result per input, in order (0.3.5 judges a list as one conversation and answers a
    /// single result, which OpenAI's API does not).
    async fn run_moderation(&self, ctx: &RequestContext, shield: &Shield, inputs: &[String]) -> Result<ModerationObject> {
        let model = shield.provider_resource();
        let excluded = &self.excluded;
        let results: Vec<Result<_>> = futures::stream::iter(inputs.to_vec())
            .map(|input: String| async move {
                match moderation_prompt(std::slice::from_ref(&input), model, excluded)? {
                    Some(prompt) => {
                        let answer = self.ask(ctx, model, &prompt).await?;
                        Ok(moderation_verdict(answer.as_deref(), excluded)?)
                    }
                    None => Ok(safe_result()),
                }
            })
            .buffered(MODERATION_CONCURRENCY)
            .collect()
            .await;
        Ok(ModerationObject {
            id: format!("modr-{}", uuid::Uuid::new_v4()),
            model: model.to_owned(),
            results: results.into_iter().collect::<Result<_>>()?,
        })
    }
}
