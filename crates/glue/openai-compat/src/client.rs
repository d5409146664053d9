//! [`OpenAiCompatClient`]: one pooled HTTP client per provider, speaking the OpenAI REST API
//! (chat, completions, embeddings, models) plus generic JSON calls for vendor endpoints.

use std::sync::Arc;

use futures::StreamExt;
use lls_api_common::{Error, RequestContext, Result, Secret};
use lls_api_inference::{Answer, AnswerType, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChunkStream};
use lls_api_inference::{Completion, CompletionRequest, EmbeddingsRequest, EmbeddingsResponse, Output};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{self, BackendError, Credential, HttpFailure};
use crate::models::{ModelList, RemoteModel};
use crate::{ClientConfig, ErrorHook, KeyHeader, TlsVerify, TokenSource, sse};

/// An OpenAI-compatible backend. Cheap to clone; clones share one connection pool.
#[derive(Debug, Clone)]
pub struct OpenAiCompatClient {
    http: reqwest::Client,
    provider: Arc<str>,
    base_url: String,
    api_key: Option<Secret>,
    provider_data_key: Option<&'static str>,
    key_header: KeyHeader,
    token_source: Option<Arc<dyn TokenSource>>,
    error_hook: Option<ErrorHook>,
}

impl OpenAiCompatClient {
    /// Builds the pooled client. Reads the CA bundle named by `tls_verify`, so call it when the
    /// provider is built, not when its config is validated.
    pub fn new(config: ClientConfig) -> Result<Self> {
        let provider = config.provider_id.as_str();
        let base_url = config.base_url.trim_end_matches('/').to_owned();
        match reqwest::Url::parse(&base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            Ok(_) => return Err(Error::invalid(format!("provider {provider}: base URL '{base_url}' must be http(s)"))),
            Err(e) => return Err(Error::invalid(format!("provider {provider}: base URL '{base_url}' is invalid: {e}"))),
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(default_headers(&config)?)
            .user_agent(concat!("llama-stack-rs/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout);
        match &config.tls_verify {
            TlsVerify::Enabled(true) => {}
            TlsVerify::Enabled(false) => builder = builder.danger_accept_invalid_certs(true),
            TlsVerify::CaBundle(path) => {
                let shown = path.display();
                let pem = std::fs::read(path)
                    .map_err(|e| Error::invalid(format!("provider {provider}: cannot read CA bundle {shown}: {e}")))?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| Error::invalid(format!("provider {provider}: CA bundle {shown} is not PEM: {e}")))?;
                // Like httpx's `verify=<path>`: trust that bundle instead of the built-in roots.
                builder = builder.tls_built_in_root_certs(false);
                for cert in certs {
                    builder = builder.add_root_certificate(cert);
                }
            }
        }
        let http = builder
            .build()
            .map_err(|e| Error::internal(format!("provider {provider}: cannot build the HTTP client: {e}")))?;
        Ok(OpenAiCompatClient {
            http,
            provider: Arc::from(provider),
            base_url,
            api_key: config.api_key.filter(|k| !k.expose().is_empty()),
            provider_data_key: config.provider_data_key,
            key_header: config.key_header,
            token_source: config.token_source,
            error_hook: config.error_hook,
        })
    }

    /// The same client — its connection pool, keys and hooks — for another base URL (a backend
    /// a request names, which its provider has checked against the outbound policy).
    pub fn with_base_url(&self, base_url: &str) -> Result<Self> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        match reqwest::Url::parse(&base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(OpenAiCompatClient { base_url, ..self.clone() }),
            _ => Err(Error::invalid(format!("provider {}: base URL '{base_url}' is not an http(s) URL", self.provider))),
        }
    }

    pub fn provider_id(&self) -> &str {
        &self.provider
    }

    /// The base URL without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `path` (with or without a leading slash) under the base URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url, path.trim_start_matches('/'))
    }

    /// Whether a request in `ctx` would carry an API key (from provider data or config; a
    /// token source counts as one).
    pub fn has_api_key(&self, ctx: &RequestContext) -> bool {
        self.credential(ctx).0.is_some() || self.token_source.is_some()
    }

    /// `POST /chat/completions`; streams when the request says `stream: true`. Answers (and
    /// chunks) are the backend's JSON, kept whole.
    pub async fn chat_completion(
        &self,
        ctx: &RequestContext,
        request: &ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        if request.is_stream() {
            Ok(Output::Stream(self.post_answer_stream(ctx, "chat/completions", request).await?))
        } else {
            Ok(Output::Complete(self.post_answer(ctx, "chat/completions", request).await?))
        }
    }

    /// `POST /completions`; streams when the request says `stream: true`.
    pub async fn completion(&self, ctx: &RequestContext, request: &CompletionRequest) -> Result<Output<Completion, Completion>> {
        if request.is_stream() {
            Ok(Output::Stream(self.post_answer_stream(ctx, "completions", request).await?))
        } else {
            Ok(Output::Complete(self.post_answer(ctx, "completions", request).await?))
        }
    }

    /// `POST /embeddings`; `encoding_format`, `dimensions`, `user` and extras pass through.
    pub async fn embeddings(&self, ctx: &RequestContext, request: &EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        self.post_answer(ctx, "embeddings", request).await
    }

    /// `POST {base}/{path}` with a JSON body, answered with a JSON object of type `T`, kept as
    /// received.
    pub async fn post_answer<B, T>(&self, ctx: &RequestContext, path: &str, body: &B) -> Result<Answer<T>>
    where
        B: Serialize + ?Sized,
        T: AnswerType,
    {
        let url = self.url(path);
        let (builder, credential) = self.request(ctx, Method::POST, &url).await?;
        let response = self.execute(builder.json(body), &url, credential).await?;
        let body = response.bytes().await.map_err(|e| error::from_transport(&self.provider, &url, e))?;
        Answer::from_json(body.clone()).map_err(|e| error::invalid_response(&self.provider, &body, &e))
    }

    /// Like [`Self::post_stream`], with each event kept as the backend's JSON.
    pub async fn post_answer_stream<B, T>(&self, ctx: &RequestContext, path: &str, body: &B) -> Result<ChunkStream<Answer<T>>>
    where
        B: Serialize + ?Sized,
        T: AnswerType + Send + 'static,
    {
        let body = self.open_stream(ctx, path, body).await?;
        Ok(sse::answer_stream(self.provider.clone(), body))
    }

    /// `GET /models`.
    pub async fn list_models(&self, ctx: &RequestContext) -> Result<Vec<RemoteModel>> {
        let list: ModelList = self.get_json(ctx, "models").await?;
        Ok(list.data)
    }

    /// `POST {base}/{path}` with a JSON body, expecting a JSON answer.
    pub async fn post_json<B, T>(&self, ctx: &RequestContext, path: &str, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let url = self.url(path);
        let (builder, credential) = self.request(ctx, Method::POST, &url).await?;
        let response = self.execute(builder.json(body), &url, credential).await?;
        self.read_json(response, &url).await
    }

    /// `GET {base}/{path}`, expecting a JSON answer.
    pub async fn get_json<T: DeserializeOwned>(&self, ctx: &RequestContext, path: &str) -> Result<T> {
        let url = self.url(path);
        let (builder, credential) = self.request(ctx, Method::GET, &url).await?;
        let response = self.execute(builder, &url, credential).await?;
        self.read_json(response, &url).await
    }

    /// `POST {base}/{path}` answered with server-sent events of JSON `T`. An error status is
    /// returned here, before any chunk; failures after that end the stream with one `Err`.
    pub async fn post_stream<B, T>(&self, ctx: &RequestContext, path: &str, body: &B) -> Result<ChunkStream<T>>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned + Send + 'static,
    {
        let body = self.open_stream(ctx, path, body).await?;
        Ok(sse::json_stream(self.provider.clone(), body))
    }

    /// Sends a stream request; the event bytes as they arrive, once the answer's head says
    /// they are events.
    async fn open_stream<B: Serialize + ?Sized>(
        &self,
        ctx: &RequestContext,
        path: &str,
        body: &B,
    ) -> Result<impl futures::Stream<Item = Result<bytes::Bytes>> + Send + 'static> {
        let url = self.url(path);
        let (builder, credential) = self.request(ctx, Method::POST, &url).await?;
        let response = self.execute(builder.json(body), &url, credential).await?;
        if is_json(&response) {
            // A backend that answers a stream request with one JSON object has failed it.
            let body = response.bytes().await.map_err(|e| error::from_transport(&self.provider, &url, e))?;
            return Err(match BackendError::parse(&body).filter(|b| b.message.is_some()) {
                Some(backend) => error::from_stream_event(&self.provider, &backend),
                None => Error::new(
                    lls_api_common::ErrorKind::UpstreamError,
                    format!("provider {} answered a stream request with JSON, not events: {}", self.provider, error::snippet(&body)),
                )
                .with_provider(self.provider.as_ref()),
            });
        }
        let provider = self.provider.clone();
        let body = response
            .bytes_stream()
            .map(move |chunk| chunk.map_err(|e| error::from_transport(&provider, &url, e)));
        Ok(body)
    }

    /// The key to send: provider data first (it overrides the config), then the config.
    fn credential<'a>(&'a self, ctx: &'a RequestContext) -> (Option<&'a str>, Credential) {
        if let Some(key) = self.provider_data_key.and_then(|field| ctx.provider_data_str(field)) {
            return (Some(key), Credential::ProviderData);
        }
        match &self.api_key {
            Some(key) => (Some(key.expose()), Credential::Config),
            None => (None, Credential::None),
        }
    }

    /// The request with its key: provider data, else config, else the token source's token.
    async fn request(&self, ctx: &RequestContext, method: Method, url: &str) -> Result<(RequestBuilder, Credential)> {
        tracing::debug!(provider = %self.provider, %method, %url, "backend request");
        // The current span's W3C traceparent, so the backend's spans join the request's trace.
        let builder = self.http.request(method, url).headers(lls_trace_context::headers());
        let (key, credential) = self.credential(ctx);
        if let Some(key) = key {
            return Ok((self.with_key(builder, key), credential));
        }
        match &self.token_source {
            Some(source) => {
                let token = source.token().await.map_err(|e| e.with_provider(self.provider.as_ref()))?;
                Ok((self.with_key(builder, token.expose()), Credential::Config))
            }
            None => Ok((builder, credential)),
        }
    }

    fn with_key(&self, builder: RequestBuilder, key: &str) -> RequestBuilder {
        match self.key_header {
            KeyHeader::Bearer => builder.bearer_auth(key),
            KeyHeader::Named(name) => match HeaderValue::from_str(key) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    builder.header(name, value)
                }
                // A key that is not a header value cannot be sent; the backend then refuses the call.
                Err(_) => builder,
            },
        }
    }

    /// Sends, and turns an error status into an `Err` carrying the backend's message.
    async fn execute(&self, builder: RequestBuilder, url: &str, credential: Credential) -> Result<Response> {
        let response = builder.send().await.map_err(|e| error::from_transport(&self.provider, url, e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default();
        let failure = HttpFailure { provider: &self.provider, status: status.as_u16(), headers: &headers, body: &body, credential };
        match self.error_hook.and_then(|hook| hook(&failure)) {
            Some(e) => Err(e.with_provider(self.provider.as_ref())),
            None => Err(error::from_failure(&failure)),
        }
    }

    async fn read_json<T: DeserializeOwned>(&self, response: Response, url: &str) -> Result<T> {
        let body = response.bytes().await.map_err(|e| error::from_transport(&self.provider, url, e))?;
        serde_json::from_slice(&body).map_err(|e| error::invalid_response(&self.provider, &body, &e))
    }
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn default_headers(config: &ClientConfig) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    for (name, value) in &config.default_headers {
        let bad = |e: &dyn std::fmt::Display| Error::invalid(format!("provider {}: header '{name}' is invalid: {e}", config.provider_id));
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(&e))?;
        let mut value = HeaderValue::from_str(value).map_err(|e| bad(&e))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(headers)
}
