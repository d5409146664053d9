//! [`SafetyApi`]: the safety API's marker for typed registration and dependencies, and the
//! wrapper that sends provider calls through the call layers.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::call::CallStack;
use lls_api_common::{Api, ApiSpec, RequestContext, Result};
use lls_api_inference::ChatMessage;
use serde_json::{Map, Value};

use crate::{ModerationObject, RunShieldResponse, Safety, SafetyProvider, Shield};

/// The safety API: providers build `dyn SafetyProvider`; dependents get the service as
/// `dyn Safety`.
#[derive(Debug)]
pub struct SafetyApi;

impl ApiSpec for SafetyApi {
    const API: Api = Api::Safety;
    type Provider = dyn SafetyProvider;
    type Service = dyn Safety;

    fn layer(provider: Arc<dyn SafetyProvider>, calls: &CallStack) -> Arc<dyn SafetyProvider> {
        Arc::new(Layered {
            inner: provider,
            calls: calls.clone(),
        })
    }
}

/// Every call a provider makes goes through the stack's layers (error context naming the
/// provider, metrics, timeout). Judging has no side effects, so failures are retried.
struct Layered {
    inner: Arc<dyn SafetyProvider>,
    calls: CallStack,
}

#[async_trait]
impl SafetyProvider for Layered {
    async fn register_shield(&self, ctx: &RequestContext, shield: &Shield) -> Result<()> {
        let (inner, ctx, shield) = (self.inner.clone(), ctx.clone(), shield.clone());
        self.calls
            .once("register_shield", None, async move {
                inner.register_shield(&ctx, &shield).await
            })
            .await
    }

    async fn run_shield(
        &self,
        ctx: &RequestContext,
        shield: &Shield,
        messages: &[ChatMessage],
        params: &Map<String, Value>,
    ) -> Result<RunShieldResponse> {
        self.calls
            .repeatable("run_shield", None, || {
                let (inner, ctx, shield, messages, params) = (
                    self.inner.clone(),
                    ctx.clone(),
                    shield.clone(),
                    messages.to_vec(),
                    params.clone(),
                );
                async move { inner.run_shield(&ctx, &shield, &messages, &params).await }
            })
            .await
    }

    async fn run_moderation(
        &self,
        ctx: &RequestContext,
        shield: &Shield,
        inputs: &[String],
    ) -> Result<ModerationObject> {
        self.calls
            .repeatable("run_moderation", None, || {
                let (inner, ctx, shield, inputs) = (
                    self.inner.clone(),
                    ctx.clone(),
                    shield.clone(),
                    inputs.to_vec(),
                );
                async move { inner.run_moderation(&ctx, &shield, &inputs).await }
            })
            .await
    }
}
