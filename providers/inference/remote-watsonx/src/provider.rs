//! [`WatsonxProvider`]: the inference API over watsonx.ai's REST API with one pooled client:
//! IAM tokens from the API key (provider data over config), `version` and `project_id` on every
//! call, one renewal of a token watsonx refuses, streams read from watsonx's server-sent events.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::stream::{self, StreamExt, TryStreamExt};
use lls_api_common::{BuildContext, Error, ErrorKind, RequestContext, Result, Secret};
use lls_api_inference::{Answer, Capabilities, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChunkStream, Completion};
use lls_api_inference::{CompletionRequest, EmbeddingsRequest, EmbeddingsResponse, Inference, InferenceProvider, Output};
use lls_api_models::ProviderModel;
use lls_openai_compat::Credential;
use serde_json::Value;

use crate::error::{self, KEY_FIELD};
use crate::iam::IamTokens;
use crate::{WatsonxConfig, wire};

/// The provider-data field whose value overrides the configured project.
pub const PROJECT_FIELD: &str = "watsonx_project_id";

/// `remote::watsonx`.
#[derive(Debug)]
pub struct WatsonxProvider {
    http: reqwest::Client,
    provider: Arc<str>,
    url: String,
    api_version: String,
    api_key: Option<Secret>,
    project_id: Option<String>,
    iam: IamTokens,
    refresh_models: bool,
}

impl WatsonxProvider {
    /// Builds the pooled client (shared with the IAM exchange); no request is made.
    pub fn new(provider_id: &str, config: WatsonxConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("llama-stack-rs/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout())
            .read_timeout(config.call_timeout())
            .build()
            .map_err(|e| Error::internal(format!("provider {provider_id}: cannot build the HTTP client: {e}")))?;
        let provider: Arc<str> = Arc::from(provider_id);
        Ok(WatsonxProvider {
            iam: IamTokens::new(http.clone(), &config.iam_url, provider.clone()),
            http,
            provider,
            url: config.url.trim_end_matches('/').to_owned(),
            api_version: config.api_version,
            api_key: config.api_key.filter(|k| !k.expose().is_empty()),
            project_id: config.project_id,
            refresh_models: config.refresh_models,
        })
    }

    /// The registry's entry point.
    pub async fn build(ctx: BuildContext, config: WatsonxConfig) -> Result<Arc<dyn InferenceProvider>> {
        Ok(Arc::new(Self::new(&ctx.provider_id, config)?))
    }

    /// The request's key (provider data) over the configured one; neither is a 400 saying what
    /// to set.
    fn api_key<'a>(&'a self, ctx: &'a RequestContext) -> Result<(&'a str, Credential)> {
        if let Some(key) = ctx.provider_data_str(KEY_FIELD) {
            return Ok((key, Credential::ProviderData));
        }
        match &self.api_key {
            Some(key) => Ok((key.expose(), Credential::Config)),
            None => Err(Error::invalid(format!(
                "Pass an IBM Cloud API key in the header X-LlamaStack-Provider-Data as {{\"{KEY_FIELD}\": <your api key>}}, \
                 or set api_key in the config of provider {} (WATSONX_API_KEY in the starter distribution)",
                self.provider
            ))
            .with_provider(self.provider.as_ref())),
        }
    }

    /// The request's project (provider data) over the configured one.
    fn project<'a>(&'a self, ctx: &'a RequestContext) -> Result<&'a str> {
        ctx.provider_data_str(PROJECT_FIELD).or(self.project_id.as_deref()).ok_or_else(|| {
            Error::invalid(format!(
                "watsonx.ai needs a project: set project_id in the config of provider {} (WATSONX_PROJECT_ID in the starter \
                 distribution) or send {{\"{PROJECT_FIELD}\": ...}} in X-LlamaStack-Provider-Data",
                self.provider
            ))
            .with_provider(self.provider.as_ref())
        })
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}/ml/v1/{path}", self.url)
    }

    /// `POST /ml/v1/{path}?version=...` with a bearer token; a 401 renews the token once.
    async fn post(&self, ctx: &RequestContext, path: &str, body: &Value) -> Result<reqwest::Response> {
        let (key, credential) = self.api_key(ctx)?;
        let url = self.endpoint(path);
        let mut token = self.iam.token(key, credential).await?;
        let mut renewed = false;
        loop {
            tracing::debug!(provider = %self.provider, %url, "backend request");
            let response = self
                .http
                .post(&url)
                .headers(lls_trace_context::headers())
                .query(&[("version", self.api_version.as_str())])
                .bearer_auth(&token)
                .json(body)
                .send()
                .await
                .map_err(|e| lls_openai_compat::error::from_transport(&self.provider, &url, e))?;
            let status = response.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(response);
            }
            if status == 401 && !renewed {
                renewed = true;
                token = self.iam.renew(key, &token, credential).await?;
                continue;
            }
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
                .filter(|v| status == 429 && !v.is_empty());
            let body = response.bytes().await.unwrap_or_default();
            return Err(error::from_status(&self.provider, status, &body, credential, retry_after.as_deref()));
        }
    }

    /// A JSON answer.
    async fn post_json(&self, ctx: &RequestContext, path: &str, body: &Value) -> Result<Value> {
        let response = self.post(ctx, path, body).await?;
        let url = self.endpoint(path);
        let bytes = response.bytes().await.map_err(|e| lls_openai_compat::error::from_transport(&self.provider, &url, e))?;
        serde_json::from_slice(&bytes).map_err(|_| error::invalid_answer(&self.provider, "answer", &bytes))
    }

    /// The events of a stream answer, each `data:` as JSON; `event: error` ends it with an error.
    async fn post_events(&self, ctx: &RequestContext, path: &str, body: &Value) -> Result<ChunkStream<Value>> {
        let response = self.post(ctx, path, body).await?;
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let url = self.endpoint(path);
        let provider = self.provider.clone();
        if is_json {
            let bytes = response.bytes().await.map_err(|e| lls_openai_compat::error::from_transport(&provider, &url, e))?;
            return Err(error::invalid_answer(&provider, "answer to a stream request (JSON, not events)", &bytes));
        }
        let transport = provider.clone();
        let bytes = response.bytes_stream().map(move |c| c.map_err(|e| lls_openai_compat::error::from_transport(&transport, &url, e)));
        Ok(events(provider, bytes))
    }

    /// The inference calls' provider models: every listed spec page, `next` followed.
    async fn specs(&self) -> Result<Vec<ProviderModel>> {
        let mut models = Vec::new();
        let mut next = Some(format!("{}?version={}&limit=200", self.endpoint("foundation_model_specs"), self.api_version));
        let mut pages = 0;
        while let Some(url) = next.take() {
            // The specs are public: no token, as 0.3.5 lists them.
            let response =
                self.http.get(&url).send().await.map_err(|e| lls_openai_compat::error::from_transport(&self.provider, &url, e))?;
            let status = response.status().as_u16();
            let bytes = response.bytes().await.map_err(|e| lls_openai_compat::error::from_transport(&self.provider, &url, e))?;
            if !(200..300).contains(&status) {
                return Err(error::from_status(&self.provider, status, &bytes, Credential::None, None));
            }
            let page: Value = serde_json::from_slice(&bytes).map_err(|_| error::invalid_answer(&self.provider, "model list", &bytes))?;
            models.extend(wire::models_of(&page));
            pages += 1;
            next = page.pointer("/next/href").and_then(Value::as_str).filter(|_| pages < 50).map(str::to_owned);
        }
        Ok(models)
    }

    async fn generation(&self, ctx: &RequestContext, req: &CompletionRequest, prompt: &str, index: usize, project: &str) -> Result<wire::Generated> {
        let answer = self.post_json(ctx, "text/generation", &wire::generation_body(req, prompt, project)?).await?;
        let echo = req.echo.unwrap_or(false);
        wire::generated(&answer, index, prompt, echo)
            .ok_or_else(|| error::invalid_answer(&self.provider, "generation answer", answer.to_string().as_bytes()))
    }
}

/// The `data:` of each event as JSON; a framing error, unparseable data or `event: error` yields
/// one `Err` and ends the stream. Dropping it drops the body, cancelling the request.
fn events<S>(provider: Arc<str>, body: S) -> ChunkStream<Value>
where
    S: futures::Stream<Item = Result<Bytes>> + Send + 'static,
{
    let events = Box::pin(body.eventsource());
    stream::unfold(Some(events), move |state| {
        let provider = provider.clone();
        async move {
            let mut events = state?;
            loop {
                let event = match events.next().await? {
                    Ok(e) => e,
                    Err(e) => {
                        let err = Error::new(ErrorKind::UpstreamError, format!("provider {provider}: broken event stream: {e}"))
                            .with_provider(provider.as_ref());
                        return Some((Err(err), None));
                    }
                };
                let data = event.data.trim();
                if event.event == "error" {
                    let value = serde_json::from_str(data).unwrap_or(Value::String(data.to_owned()));
                    return Some((Err(error::from_stream_error(&provider, &value)), None));
                }
                if data.is_empty() {
                    continue;
                }
                return match serde_json::from_str::<Value>(data) {
                    Ok(v) => Some((Ok(v), Some(events))),
                    Err(_) => Some((Err(error::invalid_answer(&provider, "stream event", data.as_bytes())), None)),
                };
            }
        }
    })
    .boxed()
}

#[async_trait]
impl Inference for WatsonxProvider {
    async fn chat_completion(&self, ctx: &RequestContext, request: ChatCompletionRequest) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        let body = wire::chat_body(&request, self.project(ctx)?)?;
        let model = request.model.clone();
        if !request.is_stream() {
            let answer = self.post_json(ctx, "text/chat", &body).await?;
            return Ok(Output::Complete(Answer::Typed(wire::chat_answer(&answer, &model)?)));
        }
        let include_usage = request.include_usage();
        let events = self.post_events(ctx, "text/chat_stream", &body).await?;
        let chunks = events
            .and_then(move |v| {
                let out = wire::chat_chunks(&v, &model, include_usage).map(|c| stream::iter(c.into_iter().map(|c| Ok(Answer::Typed(c)))));
                async move { out }
            })
            .try_flatten()
            .boxed();
        Ok(Output::Stream(chunks))
    }

    async fn completion(&self, ctx: &RequestContext, request: CompletionRequest) -> Result<Output<Completion, Completion>> {
        let prompts = wire::prompts(&request)?;
        let project = self.project(ctx)?;
        let id = format!("cmpl-{}", uuid::Uuid::new_v4().simple());
        if !request.is_stream() {
            let calls = prompts.iter().enumerate().map(|(i, p)| self.generation(ctx, &request, p, i, project));
            let results = futures::future::try_join_all(calls).await?;
            let usage = results.iter().fold((0, 0), |(p, c), g| (p + g.prompt_tokens, c + g.completion_tokens));
            let choices = results.into_iter().map(|g| g.choice).collect();
            return Ok(Output::Complete(Answer::Typed(wire::completion(&id, &request.model, choices, Some(usage))?)));
        }
        let [prompt] = prompts.as_slice() else {
            return Err(Error::invalid("watsonx.ai streams one prompt at a time").with_param("prompt"));
        };
        let body = wire::generation_body(&request, prompt, project)?;
        let events = self.post_events(ctx, "text/generation_stream", &body).await?;
        let (model, provider, include_usage) = (request.model.clone(), self.provider.clone(), request.stream_options.as_ref().and_then(|o| o.include_usage).unwrap_or(false));
        let prompt = prompt.clone();
        let echo = request.echo.unwrap_or(false);
        let mut first = true;
        let chunks = events.and_then(move |v| {
            let out = match wire::generated(&v, 0, &prompt, echo && first) {
                Some(g) => {
                    first = false;
                    let finished = !g.choice["finish_reason"].is_null();
                    let usage = (include_usage && finished).then_some((g.prompt_tokens, g.completion_tokens));
                    wire::completion(&id, &model, vec![g.choice], usage).map(Answer::Typed)
                }
                None => Err(error::invalid_answer(&provider, "generation stream event", v.to_string().as_bytes())),
            };
            async move { out }
        });
        Ok(Output::Stream(chunks.boxed()))
    }

    async fn embeddings(&self, ctx: &RequestContext, request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        let body = wire::embeddings_body(&request, self.project(ctx)?)?;
        let answer = self.post_json(ctx, "text/embeddings", &body).await?;
        wire::embeddings_answer(&answer, &request.model)
            .map(Answer::Typed)
            .ok_or_else(|| error::invalid_answer(&self.provider, "embeddings answer", answer.to_string().as_bytes()))
    }
}

#[async_trait]
impl InferenceProvider for WatsonxProvider {
    /// The public model specs: listed with or without a key, as 0.3.5 lists them.
    async fn list_models(&self) -> Result<Vec<ProviderModel>> {
        self.specs().await
    }

    fn refresh_models(&self) -> bool {
        self.refresh_models
    }

    /// Everything but base64 embeddings, which the router encodes.
    fn capabilities(&self) -> Capabilities {
        Capabilities { embeddings_base64: false, ..Capabilities::all() }
    }
}
