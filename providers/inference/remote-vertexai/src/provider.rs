//! [`VertexAiProvider`]: chat over Vertex AI's OpenAI-compatible endpoint
//! (`{root}/v1/projects/{project}/locations/{location}/endpoints/openapi`) on
//! [`OpenAiCompatClient`], with access tokens from `adc.rs` as its [`TokenSource`]; a token
//! Vertex AI refuses is renewed once and the call repeated. The project and location come from
//! config or from the request's provider data.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use lls_api_common::{BuildContext, Error, ErrorKind, HealthStatus, RequestContext, Result};
use lls_api_inference::{Answer, Capabilities, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest};
use lls_api_inference::{EmbeddingsRequest, EmbeddingsResponse, Inference, InferenceProvider, Output};
use lls_api_models::ProviderModel;
use lls_openai_compat::{ClientConfig, OpenAiCompatClient, TokenSource};

use crate::VertexAiConfig;
use crate::adc::{Credentials, GoogleTokens};
use crate::config::{check_location, check_project};

/// The provider-data field naming another project for one request.
pub const PROVIDER_DATA_PROJECT: &str = "vertex_project";
/// The provider-data field naming another location for one request.
pub const PROVIDER_DATA_LOCATION: &str = "vertex_location";

/// The models 0.3.5 lists (Vertex AI has no listing call for them).
pub const MODELS: [&str; 3] = ["google/gemini-2.0-flash", "google/gemini-2.5-flash", "google/gemini-2.5-pro"];

/// `remote::vertexai`.
#[derive(Debug)]
pub struct VertexAiProvider {
    /// Based at the configured project and location's endpoint.
    client: OpenAiCompatClient,
    tokens: Arc<GoogleTokens>,
    base_url: Option<String>,
    project: String,
    location: String,
}

/// The endpoint of a request and whether the caller chose its project.
struct Target {
    client: OpenAiCompatClient,
    project_from_caller: bool,
}

impl VertexAiProvider {
    /// Finds the credentials (Application Default Credentials, reading the key file now) and
    /// builds the pooled clients; no request is made.
    pub fn new(provider_id: &str, config: VertexAiConfig) -> Result<Self> {
        Self::with_env(provider_id, config, &|name| std::env::var(name).ok())
    }

    /// [`Self::new`] reading the environment (`GOOGLE_APPLICATION_CREDENTIALS`,
    /// `CLOUDSDK_CONFIG`, `HOME`, `GCE_METADATA_HOST`) through `env`.
    pub fn with_env(provider_id: &str, config: VertexAiConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let credentials = Credentials::discover(config.credentials_path.as_deref(), config.metadata_url.as_deref(), env)
            .map_err(|e| Error::invalid(format!("provider {provider_id}: {}", e.message())).with_param("credentials_path"))?;
        tracing::info!(provider = provider_id, credentials = %credentials.describe(), "Vertex AI credentials");
        let connect = ClientConfig::new(provider_id, "http://x").with_timeouts(&config.http).connect_timeout;
        let tokens = Arc::new(GoogleTokens::new(provider_id, credentials, connect)?);
        let base_url = config.base_url.map(|b| b.trim_end_matches('/').to_owned());
        let mut client = ClientConfig::new(provider_id, openapi_url(base_url.as_deref(), &config.project, &config.location))
            .with_timeouts(&config.http);
        client.token_source = Some(tokens.clone() as Arc<dyn TokenSource>);
        client.error_hook = Some(crate::error::read_failure);
        Ok(VertexAiProvider {
            client: OpenAiCompatClient::new(client)?,
            tokens,
            base_url,
            project: config.project,
            location: config.location,
        })
    }

    /// The registry's entry point.
    pub async fn build(ctx: BuildContext, config: VertexAiConfig) -> Result<Arc<dyn InferenceProvider>> {
        Ok(Arc::new(Self::new(&ctx.provider_id, config)?))
    }

    /// The endpoint for `ctx`: the config's, or the project and location its provider data name.
    fn target(&self, ctx: &RequestContext) -> Result<Target> {
        let chosen = |field: &str, check: fn(&str) -> std::result::Result<(), String>| -> Result<Option<String>> {
            match ctx.provider_data_str(field).filter(|v| !v.is_empty()) {
                Some(v) => check(v)
                    .map(|()| Some(v.to_owned()))
                    .map_err(|e| Error::invalid(format!("provider data {field}: {e}")).with_param(field)),
                None => Ok(None),
            }
        };
        let project = chosen(PROVIDER_DATA_PROJECT, check_project)?;
        let location = chosen(PROVIDER_DATA_LOCATION, check_location)?;
        if project.is_none() && location.is_none() {
            return Ok(Target { client: self.client.clone(), project_from_caller: false });
        }
        let url = openapi_url(
            self.base_url.as_deref(),
            project.as_deref().unwrap_or(&self.project),
            location.as_deref().unwrap_or(&self.location),
        );
        Ok(Target { client: self.client.with_base_url(&url)?, project_from_caller: project.is_some() })
    }

    /// Runs `call` on the request's endpoint; when Vertex AI refuses the token, renews it once
    /// and runs `call` again. A project the caller chose and the credentials may not use is the
    /// caller's 403.
    async fn with_token<T, F, Fut>(&self, ctx: &RequestContext, call: F) -> Result<T>
    where
        F: Fn(OpenAiCompatClient) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let target = self.target(ctx)?;
        let started = Instant::now();
        let result = match call(target.client.clone()).await {
            Err(e) if e.upstream_status() == Some(401) => {
                tracing::debug!(provider = self.client.provider_id(), "Vertex AI refused the access token; renewing it once");
                self.tokens.forget_older_than(started).await;
                call(target.client).await
            }
            other => other,
        };
        result.map_err(|e| match e.upstream_status() {
            Some(403) if target.project_from_caller => Error::new(ErrorKind::Forbidden, e.message().to_owned())
                .with_param(PROVIDER_DATA_PROJECT)
                .with_upstream_status(403)
                .with_provider(self.client.provider_id()),
            _ => e,
        })
    }

    fn chat_only(&self, what: &str) -> Error {
        Error::unsupported(format!(
            "provider {}: Vertex AI's OpenAI-compatible endpoint serves chat completions only, not {what}",
            self.client.provider_id()
        ))
    }
}

/// Vertex AI's OpenAI-compatible endpoint of `project` in `location`, under `base_url` or the
/// location's regional host (the global host for `global`).
fn openapi_url(base_url: Option<&str>, project: &str, location: &str) -> String {
    let root = match base_url {
        Some(base) => base.to_owned(),
        None if location == "global" => "https://aiplatform.googleapis.com".to_owned(),
        None => format!("https://{location}-aiplatform.googleapis.com"),
    };
    format!("{root}/v1/projects/{project}/locations/{location}/endpoints/openapi")
}

#[async_trait]
impl Inference for VertexAiProvider {
    async fn chat_completion(
        &self,
        ctx: &RequestContext,
        request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        let request = &request;
        if request.is_stream() {
            let chunks = self.with_token(ctx, |c| async move { c.post_answer_stream(ctx, "chat/completions", request).await }).await?;
            Ok(Output::Stream(chunks))
        } else {
            let answer = self.with_token(ctx, |c| async move { c.post_answer(ctx, "chat/completions", request).await }).await?;
            Ok(Output::Complete(answer))
        }
    }

    async fn completion(&self, _ctx: &RequestContext, _request: CompletionRequest) -> Result<Output<Completion, Completion>> {
        Err(self.chat_only("completions"))
    }

    async fn embeddings(&self, _ctx: &RequestContext, _request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        Err(self.chat_only("embeddings"))
    }
}

#[async_trait]
impl InferenceProvider for VertexAiProvider {
    /// 0.3.5's fixed list of Gemini models.
    async fn list_models(&self) -> Result<Vec<ProviderModel>> {
        Ok(MODELS.iter().map(|m| ProviderModel::llm((*m).to_owned())).collect())
    }

    /// Chat (streamed, tools, JSON schemas, logprobs) as Gemini serves it through the endpoint.
    fn capabilities(&self) -> Capabilities {
        Capabilities { tools: true, structured_output: true, logprobs: true, ..Capabilities::chat_only() }
    }

    /// OK when an access token can be had.
    async fn health(&self) -> HealthStatus {
        match self.tokens.current().await {
            Ok(_) => HealthStatus::ok(),
            Err(e) => HealthStatus::error(format!("no access token from {}: {}", self.tokens.credentials().describe(), e.message())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_by_location() {
        assert_eq!(
            openapi_url(None, "p", "us-central1"),
            "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/endpoints/openapi"
        );
        assert_eq!(openapi_url(None, "p", "global"), "https://aiplatform.googleapis.com/v1/projects/p/locations/global/endpoints/openapi");
        assert_eq!(openapi_url(Some("http://127.0.0.1:9"), "p", "europe-west4"), "http://127.0.0.1:9/v1/projects/p/locations/europe-west4/endpoints/openapi");
    }
}
