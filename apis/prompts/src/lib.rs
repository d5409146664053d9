//! The prompts API (built into Llama Stack 0.3.5, `/v1/prompts`): versioned prompt templates
//! with `{{ name }}` variables, which the Responses API renders as a request's instructions.

pub mod template;

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{Api, ApiSpec, RequestContext, Result};
use serde::{Deserialize, Serialize};

/// One version of a prompt, in 0.3.5's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Prompt {
    /// The template text, with `{{ name }}` placeholders.
    pub prompt: Option<String>,
    /// 1 for a new prompt, one more for each update.
    pub version: i64,
    /// `pmpt_` and 48 lowercase hex digits.
    pub prompt_id: String,
    /// The variables the template may use; every placeholder names one of them.
    #[serde(default)]
    pub variables: Vec<String>,
    /// Whether this version is the one a read without a version gets.
    #[serde(default)]
    pub is_default: bool,
}

/// `GET /v1/prompts` and `GET /v1/prompts/{prompt_id}/versions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListPromptsResponse {
    pub data: Vec<Prompt>,
}

/// `POST /v1/prompts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreatePromptRequest {
    pub prompt: String,
    #[serde(default)]
    pub variables: Option<Vec<String>>,
}

/// `POST /v1/prompts/{prompt_id}`: a new version after `version`, which must be the latest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UpdatePromptRequest {
    pub prompt: String,
    /// The version the client last saw: the latest, else the update is a conflict (409).
    pub version: i64,
    #[serde(default)]
    pub variables: Option<Vec<String>>,
    /// Default true.
    #[serde(default = "yes")]
    pub set_as_default: bool,
}

fn yes() -> bool {
    true
}

/// `POST /v1/prompts/{prompt_id}/set-default-version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SetDefaultVersionRequest {
    pub version: i64,
}

/// `GET /v1/prompts/{prompt_id}` query: a version, else the default one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GetPromptQuery {
    #[serde(default)]
    pub version: Option<i64>,
}

/// The prompts service. A malformed id or a version below 1 is a 400; an unknown prompt or
/// version is not found (404); an update after a version that is not the latest is a
/// conflict (409).
#[async_trait]
pub trait Prompts: Send + Sync {
    /// Every prompt's default version, newest id first as 0.3.5 sorts them.
    async fn list(&self, ctx: &RequestContext) -> Result<ListPromptsResponse>;
    /// Every version of one prompt, oldest first.
    async fn list_versions(
        &self,
        ctx: &RequestContext,
        prompt_id: &str,
    ) -> Result<ListPromptsResponse>;
    /// A version, or the default one.
    async fn get(
        &self,
        ctx: &RequestContext,
        prompt_id: &str,
        version: Option<i64>,
    ) -> Result<Prompt>;
    /// Version 1 of a new prompt, its default.
    async fn create(&self, ctx: &RequestContext, request: CreatePromptRequest) -> Result<Prompt>;
    /// The version after the latest; exactly one of several concurrent updates gets it.
    async fn update(
        &self,
        ctx: &RequestContext,
        prompt_id: &str,
        request: UpdatePromptRequest,
    ) -> Result<Prompt>;
    /// Removes every version.
    async fn delete(&self, ctx: &RequestContext, prompt_id: &str) -> Result<()>;
    async fn set_default_version(
        &self,
        ctx: &RequestContext,
        prompt_id: &str,
        version: i64,
    ) -> Result<Prompt>;
}

/// The prompts API: built into the stack (no providers); dependents get `dyn Prompts`.
#[derive(Debug)]
pub struct PromptsApi;

impl ApiSpec for PromptsApi {
    const API: Api = Api::Prompts;
    type Provider = dyn Prompts;
    type Service = dyn Prompts;
}

/// Lets tests hand a `PromptsApi` export around.
pub type SharedPrompts = Arc<dyn Prompts>;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_as_0_3_5_writes_and_reads_them() {
        let p = Prompt {
            prompt: Some("Hi {{ name }}".into()),
            version: 2,
            prompt_id: "pmpt_x".into(),
            variables: vec!["name".into()],
            is_default: true,
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"prompt":"Hi {{ name }}","version":2,"prompt_id":"pmpt_x","variables":["name"],"is_default":true}"#
        );
        let update: UpdatePromptRequest =
            serde_json::from_value(json!({"prompt": "p", "version": 1})).unwrap();
        assert!(update.set_as_default);
        assert_eq!(update.variables, None);
        assert!(serde_json::from_value::<CreatePromptRequest>(json!({"variables": []})).is_err());
    }
}
