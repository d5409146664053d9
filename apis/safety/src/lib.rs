//! The safety API of Llama Stack 0.3.5: shields (a routable resource kept in the registry),
//! `run-shield` (a shield's verdict on a conversation), OpenAI's moderations (a shield chosen by
//! its `provider_resource_id`), and the traits the service and providers implement.
//!
//! Wire shapes follow 0.3.5: optional fields are present (as `null`) when unset, as pydantic
//! writes them.

mod spec;
mod types;

use async_trait::async_trait;
use lls_api_common::{RequestContext, Result};
use lls_api_inference::ChatMessage;
use serde_json::{Map, Value};

pub use spec::SafetyApi;
pub use types::{
    ListShieldsResponse, ModerationInput, ModerationObject, ModerationResult,
    RegisterShieldRequest, RunModerationRequest, RunShieldRequest, RunShieldResponse,
    SHIELD_RESOURCE, SafetyViolation, Shield, ViolationLevel,
};

#[doc(hidden)]
pub use lls_api_common as __common;

/// A safety provider: judges conversations and texts for the shields registered on it.
#[async_trait]
pub trait SafetyProvider: Send + Sync {
    /// Called before a shield is registered on this provider: refuse (400) what it cannot
    /// serve. The default accepts every shield.
    async fn register_shield(&self, _ctx: &RequestContext, _shield: &Shield) -> Result<()> {
        Ok(())
    }

    /// The shield's verdict on `messages` (already validated); `params` are the request's.
    async fn run_shield(
        &self,
        ctx: &RequestContext,
        shield: &Shield,
        messages: &[ChatMessage],
        params: &Map<String, Value>,
    ) -> Result<RunShieldResponse>;

    /// OpenAI's moderation of each input, in order; `model` is the shield's
    /// `provider_resource_id`, as the client named it.
    async fn run_moderation(
        &self,
        ctx: &RequestContext,
        shield: &Shield,
        inputs: &[String],
    ) -> Result<ModerationObject>;
}

/// The safety service as dependents (the Responses API's guardrails) and routes see it.
#[async_trait]
pub trait Safety: Send + Sync {
    async fn run_shield(
        &self,
        ctx: &RequestContext,
        request: RunShieldRequest,
    ) -> Result<RunShieldResponse>;
    async fn run_moderation(
        &self,
        ctx: &RequestContext,
        request: RunModerationRequest,
    ) -> Result<ModerationObject>;

    /// A shield the caller may read, by id (404 otherwise).
    async fn get_shield(&self, ctx: &RequestContext, shield_id: &str) -> Result<Shield>;

    /// OpenAI's moderation of `inputs` by one named shield (the Responses API's guardrails).
    async fn moderate_with(
        &self,
        ctx: &RequestContext,
        shield_id: &str,
        inputs: &[String],
    ) -> Result<ModerationObject>;
}

/// Registers a safety provider; `build` must return `Arc<dyn SafetyProvider>`.
#[macro_export]
macro_rules! register_provider {
    ($($body:tt)*) => {
        $crate::__common::__register_provider! { spec: $crate::SafetyApi, $($body)* }
    };
}
