//! [`BedrockProvider`]: the inference API over Amazon Bedrock's REST APIs with one pooled
//! client: every request SigV4-signed (service `bedrock`) with the call's keys, retried on
//! throttling and 5xx as `retry_mode`/`total_max_attempts` say; chat over Converse and
//! ConverseStream, embeddings over InvokeModel, models from ListFoundationModels.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use futures::stream::{self, StreamExt, TryStreamExt};
use lls_api_common::{BuildContext, Error, ErrorKind, RequestContext, Result};
use lls_api_inference::{Answer, Capabilities, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest};
use lls_api_inference::{Embedding, EmbeddingInput, EmbeddingUsage, EmbeddingsRequest, EmbeddingsResponse, Inference, InferenceProvider, Output};
use lls_api_models::ProviderModel;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, Url};
use serde_json::Value;

use crate::config::RetryMode;
use crate::credentials::{CredentialChain, EnvLookup, Keys, process_env, region};
use crate::models::{self, Family};
use crate::{BedrockConfig, converse, error, eventstream};

/// The SigV4 service name of both Bedrock endpoints (runtime and control plane).
pub const SIGNING_NAME: &str = "bedrock";

/// What stays unescaped in a model id put in a URL path (RFC 3986's unreserved characters), as
/// AWS's SDKs escape labels: `:` and `/` of versioned ids and ARNs are escaped.
const LABEL: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `remote::bedrock`.
#[derive(Debug)]
pub struct BedrockProvider {
    http: reqwest::Client,
    provider: Arc<str>,
    region: String,
    runtime_url: String,
    control_url: String,
    chain: CredentialChain,
    attempts: u32,
    mode: RetryMode,
    refresh_models: bool,
}

/// A signed request's answer and the URL it went to.
struct Sent {
    response: reqwest::Response,
    url: String,
}

impl BedrockProvider {
    /// Builds the pooled client and resolves credentials and region from the config and the
    /// process environment; no request is made.
    pub fn new(provider_id: &str, config: BedrockConfig) -> Result<Self> {
        Self::with_env(provider_id, config, &process_env)
    }

    /// As [`Self::new`], reading environment variables through `env`.
    pub fn with_env(provider_id: &str, config: BedrockConfig, env: &EnvLookup) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("llama-stack-rs/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout())
            .read_timeout(config.read_timeout())
            .build()
            .map_err(|e| Error::internal(format!("provider {provider_id}: cannot build the HTTP client: {e}")))?;
        let region = region(&config, env);
        let mode = config.retry_mode.clone().or_else(|| env("AWS_RETRY_MODE")).and_then(|m| RetryMode::parse(&m)).unwrap_or(RetryMode::Standard);
        let attempts = config
            .total_max_attempts
            .or_else(|| env("AWS_MAX_ATTEMPTS").and_then(|n| n.trim().parse().ok()))
            .unwrap_or_else(|| mode.default_attempts())
            .clamp(1, 20);
        let (runtime_url, control_url) = match &config.endpoint_url {
            Some(url) => (url.trim_end_matches('/').to_owned(), url.trim_end_matches('/').to_owned()),
            None => (format!("https://bedrock-runtime.{region}.amazonaws.com"), format!("https://bedrock.{region}.amazonaws.com")),
        };
        Ok(BedrockProvider {
            chain: CredentialChain::resolve(provider_id, &config, env),
            http,
            provider: Arc::from(provider_id),
            region,
            runtime_url,
            control_url,
            attempts,
            mode,
            refresh_models: config.refresh_models,
        })
    }

    /// The registry's entry point.
    pub async fn build(ctx: BuildContext, config: BedrockConfig) -> Result<Arc<dyn InferenceProvider>> {
        Ok(Arc::new(Self::new(&ctx.provider_id, config)?))
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// `{runtime}/model/{id}/{action}`.
    fn model_url(&self, model: &str, action: &str) -> String {
        format!("{}/model/{}/{action}", self.runtime_url, utf8_percent_encode(model, LABEL))
    }

    /// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token`) of a request.
    fn signature(&self, keys: &Keys, method: &Method, url: &Url, headers: &[(&str, &str)], body: &[u8]) -> Result<Vec<(String, String)>> {
        let identity: Identity = Credentials::new(
            keys.access_key_id.clone(),
            keys.secret_access_key.expose().to_owned(),
            keys.session_token.as_ref().map(|t| t.expose().to_owned()),
            None,
            "llama-stack-rs",
        )
        .into();
        let failed = |e: &dyn std::fmt::Display| Error::internal(format!("provider {}: cannot sign the request: {e}", self.provider));
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SIGNING_NAME)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| failed(&e))?
            .into();
        let signable = SignableRequest::new(method.as_str(), url.as_str(), headers.iter().copied(), SignableBody::Bytes(body)).map_err(|e| failed(&e))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| failed(&e))?.into_parts();
        Ok(instructions.headers().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }

    /// Sends a signed request, signed afresh for each attempt, retrying what `retry_mode` says.
    async fn send(&self, ctx: &RequestContext, method: Method, url: &str, body: Option<Vec<u8>>, accept: &str) -> Result<Sent> {
        let (keys, credential) = self.chain.keys(ctx)?;
        let parsed = Url::parse(url).map_err(|e| Error::internal(format!("provider {}: bad URL {url}: {e}", self.provider)))?;
        let payload = body.unwrap_or_default();
        let mut headers: Vec<(&str, &str)> = vec![("accept", accept)];
        if method == Method::POST {
            headers.push(("content-type", "application/json"));
        }
        let mut attempt = 1;
        loop {
            let signed = self.signature(&keys, &method, &parsed, &headers, &payload)?;
            // The current span's W3C traceparent (not signed: SigV4 signs only the headers it lists).
            let mut request = self.http.request(method.clone(), parsed.clone()).headers(lls_trace_context::headers());
            for (k, v) in headers.iter().map(|(k, v)| (*k, *v)).chain(signed.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
                request = request.header(k, v);
            }
            if method == Method::POST {
                request = request.body(payload.clone());
            }
            tracing::debug!(provider = %self.provider, %url, attempt, "backend request");
            let failure = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(Sent { response, url: url.to_owned() }),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let error_type = response.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).map(str::to_owned);
                    let bytes = response.bytes().await.unwrap_or_default();
                    let vendor = error::AwsError::parse(error_type.as_deref(), &bytes);
                    let retry = error::is_retryable(self.mode, status, &vendor);
                    (retry, error::from_status(&self.provider, status, error_type.as_deref(), &bytes, credential))
                }
                Err(e) => {
                    let retry = e.is_connect() || e.is_timeout();
                    (retry, lls_openai_compat::error::from_transport(&self.provider, url, e))
                }
            };
            match failure {
                (true, e) if attempt < self.attempts => {
                    tracing::debug!(provider = %self.provider, attempt, error = %e, "retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                (_, e) => return Err(e),
            }
        }
    }

    /// A JSON answer and the input token count Bedrock puts in a header.
    async fn post_json(&self, ctx: &RequestContext, url: &str, body: &Value) -> Result<(Value, Option<u64>)> {
        let sent = self.send(ctx, Method::POST, url, Some(serde_json::to_vec(body)?), "application/json").await?;
        let tokens = sent
            .response
            .headers()
            .get("x-amzn-bedrock-input-token-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let bytes = sent.response.bytes().await.map_err(|e| lls_openai_compat::error::from_transport(&self.provider, &sent.url, e))?;
        let value = serde_json::from_slice(&bytes).map_err(|_| error::invalid_answer(&self.provider, "answer", &bytes))?;
        Ok((value, tokens))
    }

    /// One Converse call: its choice (as `index`) and token counts.
    async fn converse(&self, ctx: &RequestContext, model: &str, body: &Value, index: u32) -> Result<(Value, (u64, u64))> {
        let (answer, _) = self.post_json(ctx, &self.model_url(model, "converse"), body).await?;
        converse::choice(&answer, index).ok_or_else(|| error::invalid_answer(&self.provider, "Converse answer", answer.to_string().as_bytes()))
    }

    async fn chat_stream(&self, ctx: &RequestContext, request: &ChatCompletionRequest, body: &Value) -> Result<lls_api_inference::ChunkStream<Answer<ChatCompletionChunk>>> {
        let url = self.model_url(&request.model, "converse-stream");
        let sent = self.send(ctx, Method::POST, &url, Some(serde_json::to_vec(body)?), "application/vnd.amazon.eventstream").await?;
        let provider = self.provider.clone();
        let transport = provider.clone();
        let bytes = sent.response.bytes_stream().map(move |c| c.map_err(|e| lls_openai_compat::error::from_transport(&transport, &url, e)));
        let mut maker = converse::ChunkMaker::new(&request.model, request.include_usage());
        let chunks = eventstream::events(&provider, Box::pin(bytes))
            .map(move |event| {
                event
                    .and_then(|e| maker.on_event(&e.kind, &e.payload))
                    .map(|chunks| stream::iter(chunks.into_iter().map(|c| Ok(Answer::Typed(c)))))
            })
            .try_flatten()
            .boxed();
        Ok(chunks)
    }

    async fn titan(&self, ctx: &RequestContext, model: &str, family: Family, text: &str, dimensions: Option<u32>) -> Result<(Vec<f32>, u64)> {
        let body = models::titan_body(family, text, dimensions)?;
        let (answer, _) = self.post_json(ctx, &self.model_url(model, "invoke"), &body).await?;
        models::titan_answer(&answer).ok_or_else(|| error::invalid_answer(&self.provider, "Titan embedding answer", answer.to_string().as_bytes()))
    }

    async fn cohere(&self, ctx: &RequestContext, model: &str, texts: &[String], input_type: Option<&str>, dimensions: Option<u32>) -> Result<(Vec<Vec<f32>>, u64)> {
        let body = models::cohere_body(texts, input_type, dimensions)?;
        let (answer, tokens) = self.post_json(ctx, &self.model_url(model, "invoke"), &body).await?;
        match models::cohere_answer(&answer) {
            Some(vectors) if vectors.len() == texts.len() => Ok((vectors, tokens.unwrap_or(0))),
            _ => Err(error::invalid_answer(&self.provider, "Cohere embedding answer", answer.to_string().as_bytes())),
        }
    }
}

/// Exponential backoff with jitter: 100 ms doubled each attempt, at most 20 s (botocore's cap),
/// times a factor in [0.5, 1).
fn backoff(attempt: u32) -> Duration {
    let base = (0.1 * 2f64.powi(attempt.saturating_sub(1).min(16) as i32)).min(20.0);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    Duration::from_secs_f64(base * (0.5 + f64::from(nanos % 1000) / 2000.0))
}

fn texts_of(request: &EmbeddingsRequest) -> Result<Vec<String>> {
    match &request.input {
        EmbeddingInput::Text(t) => Ok(vec![t.clone()]),
        EmbeddingInput::Texts(ts) if !ts.is_empty() => Ok(ts.clone()),
        EmbeddingInput::Texts(_) => Err(Error::invalid("input must be a non-empty string or list").with_param("input")),
        _ => Err(Error::invalid("Amazon Bedrock embeddings take text inputs, not token ids").with_param("input")),
    }
}

#[async_trait]
impl Inference for BedrockProvider {
    async fn chat_completion(&self, ctx: &RequestContext, request: ChatCompletionRequest) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        let body = converse::converse_body(&request)?;
        let n = request.n.unwrap_or(1).max(1);
        if request.is_stream() {
            if n > 1 {
                return Err(Error::invalid("Amazon Bedrock streams one choice: n must be 1 with stream: true").with_param("n"));
            }
            return Ok(Output::Stream(self.chat_stream(ctx, &request, &body).await?));
        }
        // Converse answers one choice a call: n choices are n concurrent calls.
        let calls = (0..n).map(|i| self.converse(ctx, &request.model, &body, i));
        let results = futures::future::try_join_all(calls).await?;
        let usage = results.iter().fold((0, 0), |(p, c), (_, (dp, dc))| (p.max(*dp), c + dc));
        let choices = results.into_iter().map(|(choice, _)| choice).collect();
        Ok(Output::Complete(Answer::Typed(converse::completion(&request.model, choices, usage)?)))
    }

    async fn completion(&self, _ctx: &RequestContext, _request: CompletionRequest) -> Result<Output<Completion, Completion>> {
        Err(Error::new(ErrorKind::Unsupported, "Amazon Bedrock has no text completions API here: use /v1/chat/completions (Converse)")
            .with_provider(self.provider.as_ref()))
    }

    async fn embeddings(&self, ctx: &RequestContext, request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        let family = models::family(&request.model);
        let texts = texts_of(&request)?;
        let (vectors, tokens) = match family {
            Family::TitanV1 | Family::TitanV2 => {
                let calls = texts.iter().map(|t| self.titan(ctx, &request.model, family, t, request.dimensions));
                let results = futures::future::try_join_all(calls).await?;
                let tokens: u64 = results.iter().map(|(_, n)| n).sum();
                (results.into_iter().map(|(v, _)| v).collect::<Vec<_>>(), tokens)
            }
            Family::Cohere => {
                let input_type = request.extra.get("input_type").and_then(Value::as_str);
                let calls = texts.chunks(models::COHERE_BATCH).map(|batch| self.cohere(ctx, &request.model, batch, input_type, request.dimensions));
                let results = futures::future::try_join_all(calls).await?;
                let tokens: u64 = results.iter().map(|(_, n)| n).sum();
                (results.into_iter().flat_map(|(v, _)| v).collect(), tokens)
            }
        };
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        Ok(Answer::Typed(EmbeddingsResponse {
            object: "list".into(),
            data: vectors.into_iter().enumerate().map(|(i, v)| Embedding::new(i as u32, v)).collect(),
            model: request.model.clone(),
            usage: EmbeddingUsage { prompt_tokens: tokens, total_tokens: tokens },
        }))
    }
}

#[async_trait]
impl InferenceProvider for BedrockProvider {
    /// ListFoundationModels on the control-plane endpoint, signed with the operator's keys.
    async fn list_models(&self) -> Result<Vec<ProviderModel>> {
        let url = format!("{}/foundation-models", self.control_url);
        let sent = self.send(&RequestContext::default(), Method::GET, &url, None, "application/json").await?;
        let bytes = sent.response.bytes().await.map_err(|e| lls_openai_compat::error::from_transport(&self.provider, &url, e))?;
        let answer: Value = serde_json::from_slice(&bytes).map_err(|_| error::invalid_answer(&self.provider, "model list", &bytes))?;
        Ok(models::models_of(&answer))
    }

    fn refresh_models(&self) -> bool {
        self.refresh_models
    }

    /// Chat (streamed too, with tools) and embeddings; Converse has no logprobs, no structured
    /// output and there are no text completions.
    fn capabilities(&self) -> Capabilities {
        Capabilities { logprobs: false, structured_output: false, completions: false, embeddings_base64: false, ..Capabilities::all() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_are_escaped_as_aws_sdks_escape_them() {
        let p = BedrockProvider::with_env("b", BedrockConfig::default(), &|_| None).unwrap();
        assert_eq!(p.region(), "us-east-1");
        assert_eq!(
            p.model_url("anthropic.claude-3-haiku-20240307-v1:0", "converse"),
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        );
        assert_eq!(p.control_url, "https://bedrock.us-east-1.amazonaws.com");
        assert!(p.model_url("arn:aws:bedrock:us-east-1:1:inference-profile/us.x", "invoke").contains("arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/invoke"));
    }

    #[test]
    fn retry_settings_come_from_config_then_environment() {
        let env = |name: &str| match name {
            "AWS_RETRY_MODE" => Some("legacy".to_owned()),
            "AWS_MAX_ATTEMPTS" => Some("7".to_owned()),
            _ => None,
        };
        let p = BedrockProvider::with_env("b", BedrockConfig::default(), &env).unwrap();
        assert_eq!((p.mode, p.attempts), (RetryMode::Legacy, 7));
        let p = BedrockProvider::with_env("b", BedrockConfig::default(), &|_| None).unwrap();
        assert_eq!((p.mode, p.attempts), (RetryMode::Standard, 3));
        let c = BedrockConfig { retry_mode: Some("adaptive".into()), total_max_attempts: Some(2), ..BedrockConfig::default() };
        let p = BedrockProvider::with_env("b", c, &env).unwrap();
        assert_eq!((p.mode, p.attempts), (RetryMode::Adaptive, 2));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(100) && backoff(1) >= Duration::from_millis(50));
        assert!(backoff(30) <= Duration::from_secs(20));
    }
}
