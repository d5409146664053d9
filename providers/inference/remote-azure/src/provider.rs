//! [`AzureProvider`]: the inference API over [`OpenAiCompatClient`] on an Azure OpenAI resource:
//! the key in `api-key`, the URL layout its `api-version` selects, per-request key, endpoint
//! and version from provider data, content filter results passed through (a stream's
//! `prompt_filter_results` chunk given the stream's id), and its errors read by `error.rs`.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use lls_api_common::{BuildContext, Error, OutboundPolicy, RequestContext, Result};
use lls_api_inference::{Field, JsonObject};
use lls_api_inference::{Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChunkStream, Completion, CompletionRequest};
use lls_api_inference::{EmbeddingsRequest, EmbeddingsResponse, Inference, InferenceProvider, Output};
use lls_api_models::ProviderModel;
use lls_openai_compat::{ClientConfig, KeyHeader, OpenAiCompatClient};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::AzureConfig;
use crate::config::{ApiVersion, check_api_base};

/// The provider-data field whose value overrides the configured key.
pub const PROVIDER_DATA_KEY: &str = "azure_api_key";
/// The provider-data field naming another resource endpoint for one request.
pub const PROVIDER_DATA_BASE: &str = "azure_api_base";
/// The provider-data field naming another `api-version` for one request.
pub const PROVIDER_DATA_VERSION: &str = "azure_api_version";

/// OpenAI's embedding models (Azure deploys them under these names by default): id, dimension.
const EMBEDDING_MODELS: &[(&str, u64)] =
    &[("text-embedding-3-small", 1536), ("text-embedding-3-large", 3072), ("text-embedding-ada-002", 1536)];
const EMBEDDING_CONTEXT_LENGTH: u64 = 8192;

/// A deployment name in a path segment: everything but unreserved characters escaped.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `remote::azure`.
#[derive(Debug)]
pub struct AzureProvider {
    /// Based at `{api_base}/openai`.
    client: OpenAiCompatClient,
    version: ApiVersion,
    outbound: Arc<OutboundPolicy>,
    refresh_models: bool,
}

/// One operation of the inference API, as Azure names its path.
#[derive(Clone, Copy)]
enum Operation {
    Chat,
    Completions,
    Embeddings,
}

impl Operation {
    fn path(self) -> &'static str {
        match self {
            Operation::Chat => "chat/completions",
            Operation::Completions => "completions",
            Operation::Embeddings => "embeddings",
        }
    }
}

impl AzureProvider {
    /// Builds the pooled client; no request is made. Endpoints named by provider data are
    /// checked against `outbound`.
    pub fn new(provider_id: &str, config: AzureConfig, outbound: Arc<OutboundPolicy>) -> Result<Self> {
        let base = config
            .api_base
            .filter(|b| !b.is_empty())
            .ok_or_else(|| Error::invalid(format!("provider {provider_id}: config.api_base is required")))?;
        let version = ApiVersion::parse(config.api_version.as_deref())?;
        let mut client = ClientConfig::new(provider_id, openai_root(&base)).with_timeouts(&config.http);
        client.api_key = config.api_key;
        client.provider_data_key = Some(PROVIDER_DATA_KEY);
        client.key_header = KeyHeader::Named("api-key");
        client.error_hook = Some(crate::error::read_failure);
        Ok(AzureProvider { client: OpenAiCompatClient::new(client)?, version, outbound, refresh_models: config.refresh_models })
    }

    /// The registry's entry point.
    pub async fn build(ctx: BuildContext, config: AzureConfig) -> Result<Arc<dyn InferenceProvider>> {
        Ok(Arc::new(Self::new(&ctx.provider_id, config, ctx.outbound.clone())?))
    }

    /// The client and version for a request: the config's, or those its provider data names.
    async fn target(&self, ctx: &RequestContext) -> Result<(OpenAiCompatClient, ApiVersion)> {
        let version = match ctx.provider_data_str(PROVIDER_DATA_VERSION) {
            Some(v) => ApiVersion::parse(Some(v)).map_err(|e| Error::invalid(format!("provider data {PROVIDER_DATA_VERSION}: {}", e.message())))?,
            None => self.version.clone(),
        };
        let client = match ctx.provider_data_str(PROVIDER_DATA_BASE).filter(|b| !b.is_empty()) {
            Some(base) => {
                check_api_base(base).map_err(|e| Error::invalid(format!("provider data {PROVIDER_DATA_BASE}: {}", e.message())))?;
                check_outbound(&self.outbound, base).await?;
                self.client.with_base_url(&openai_root(base))?
            }
            None => self.client.clone(),
        };
        Ok((client, version))
    }

    /// The path of `operation` on `model` under `{api_base}/openai`.
    fn path(version: &ApiVersion, operation: Operation, model: &str) -> String {
        match version {
            ApiVersion::V1(None) => format!("v1/{}", operation.path()),
            ApiVersion::V1(Some(v)) => format!("v1/{}?api-version={v}", operation.path()),
            ApiVersion::Dated(v) => {
                format!("deployments/{}/{}?api-version={v}", utf8_percent_encode(model, SEGMENT), operation.path())
            }
        }
    }
}

/// `{api_base}/openai`: both layouts live under it.
fn openai_root(base: &str) -> String {
    format!("{}/openai", base.trim_end_matches('/'))
}

/// A resource endpoint from provider data must be one the server may connect to: refused by
/// name, or by any address the name resolves to, with a 400 before any request.
async fn check_outbound(policy: &OutboundPolicy, base: &str) -> Result<()> {
    let invalid = || Error::invalid(format!("provider data {PROVIDER_DATA_BASE}: '{base}' is not a valid URL")).with_param(PROVIDER_DATA_BASE);
    let rest = base.split_once("://").map(|(_, r)| r).ok_or_else(invalid)?;
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, tail) = v6.split_once(']').ok_or_else(invalid)?;
            (host, tail.strip_prefix(':').and_then(|p| p.parse().ok()))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port.parse::<u16>().map_err(|_| invalid())?)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err(invalid());
    }
    let param = |e: Error| e.with_param(PROVIDER_DATA_BASE);
    policy.check_host(host).map_err(param)?;
    if host.parse::<IpAddr>().is_err() {
        let port = port.unwrap_or(if base.starts_with("https") { 443 } else { 80 });
        if let Ok(addrs) = tokio::net::lookup_host((host, port)).await {
            let ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
            policy.check(host, &ips).map_err(param)?;
        }
    }
    Ok(())
}

/// How a listed model is registered: OpenAI's embedding models with their metadata, others as LLMs.
fn classify(id: String) -> ProviderModel {
    match EMBEDDING_MODELS.iter().find(|(name, _)| *name == id) {
        Some((_, dimension)) => {
            let mut model = ProviderModel::embedding(id, *dimension);
            model.metadata.insert("context_length".into(), EMBEDDING_CONTEXT_LENGTH.into());
            model
        }
        None => ProviderModel::llm(id),
    }
}

/// Azure opens a stream with a chunk of its own: `prompt_filter_results`, with empty `id`,
/// `object` and `model` and no choices. It is kept (the filter's verdict is the client's to
/// read) and given the stream's id, object, created and model from the chunk after it, so the
/// stream reads as one completion's chunks.
fn adopt_prompt_filter_chunk(stream: ChunkStream<Answer<ChatCompletionChunk>>) -> ChunkStream<Answer<ChatCompletionChunk>> {
    let mut held: Option<JsonObject> = None;
    stream
        .flat_map(move |item| {
            let out: Vec<Result<Answer<ChatCompletionChunk>>> = match item {
                Ok(Answer::Json(chunk)) if held.is_none() && is_prompt_filter_chunk(&chunk) => {
                    held = Some(chunk);
                    Vec::new()
                }
                Ok(Answer::Json(next)) => match held.take() {
                    Some(first) => vec![Ok(Answer::Json(with_identity_of(first, &next))), Ok(Answer::Json(next))],
                    None => vec![Ok(Answer::Json(next))],
                },
                other => held.take().map(|first| Ok(Answer::Json(first))).into_iter().chain([other]).collect(),
            };
            futures::stream::iter(out)
        })
        .boxed()
}

fn is_prompt_filter_chunk(chunk: &JsonObject) -> bool {
    chunk.raw(Field::Id) == Some("\"\"") && chunk.contains(b"\"prompt_filter_results\"")
}

/// `first` with `id`, `object`, `created` and `model` of `next` (as is, when either is not an object).
fn with_identity_of(first: JsonObject, next: &JsonObject) -> JsonObject {
    let (Ok(mut value), Ok(source)) =
        (serde_json::from_slice::<Value>(first.original()), serde_json::from_slice::<Value>(next.original()))
    else {
        return first;
    };
    let (Some(target), Some(source)) = (value.as_object_mut(), source.as_object()) else {
        return first;
    };
    for field in ["id", "object", "created", "model"] {
        if let Some(v) = source.get(field) {
            target.insert(field.to_owned(), v.clone());
        }
    }
    match serde_json::to_vec(&value).map(Bytes::from).map(JsonObject::parse) {
        Ok(Ok(rewritten)) => rewritten,
        _ => first,
    }
}

#[async_trait]
impl Inference for AzureProvider {
    async fn chat_completion(
        &self,
        ctx: &RequestContext,
        request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        let (client, version) = self.target(ctx).await?;
        let path = Self::path(&version, Operation::Chat, &request.model);
        if request.is_stream() {
            let chunks = client.post_answer_stream(ctx, &path, &request).await?;
            Ok(Output::Stream(adopt_prompt_filter_chunk(chunks)))
        } else {
            Ok(Output::Complete(client.post_answer(ctx, &path, &request).await?))
        }
    }

    async fn completion(&self, ctx: &RequestContext, request: CompletionRequest) -> Result<Output<Completion, Completion>> {
        let (client, version) = self.target(ctx).await?;
        let path = Self::path(&version, Operation::Completions, &request.model);
        if request.is_stream() {
            Ok(Output::Stream(client.post_answer_stream(ctx, &path, &request).await?))
        } else {
            Ok(Output::Complete(client.post_answer(ctx, &path, &request).await?))
        }
    }

    async fn embeddings(&self, ctx: &RequestContext, request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        let (client, version) = self.target(ctx).await?;
        let path = Self::path(&version, Operation::Embeddings, &request.model);
        client.post_answer(ctx, &path, &request).await
    }
}

#[async_trait]
impl InferenceProvider for AzureProvider {
    /// The resource's models (`GET /openai/v1/models`, or `/openai/models?api-version=` on the
    /// deployments API); empty without a configured key, as upstream skips such a provider.
    async fn list_models(&self) -> Result<Vec<ProviderModel>> {
        let ctx = RequestContext::default();
        if !self.client.has_api_key(&ctx) {
            return Ok(Vec::new());
        }
        let path = match &self.version {
            ApiVersion::V1(None) => "v1/models".to_owned(),
            ApiVersion::V1(Some(v)) => format!("v1/models?api-version={v}"),
            ApiVersion::Dated(v) => format!("models?api-version={v}"),
        };
        let listed: lls_openai_compat::ModelList = self.client.get_json(&ctx, &path).await?;
        Ok(listed.data.into_iter().map(|m| classify(m.id)).collect())
    }

    fn refresh_models(&self) -> bool {
        self.refresh_models
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_models::ModelType;

    #[test]
    fn paths_follow_the_api_version() {
        let v1 = ApiVersion::V1(None);
        assert_eq!(AzureProvider::path(&v1, Operation::Chat, "gpt-4o"), "v1/chat/completions");
        let preview = ApiVersion::V1(Some("preview".into()));
        assert_eq!(AzureProvider::path(&preview, Operation::Embeddings, "e"), "v1/embeddings?api-version=preview");
        let dated = ApiVersion::Dated("2024-10-21".into());
        assert_eq!(AzureProvider::path(&dated, Operation::Completions, "my dep/1"), "deployments/my%20dep%2F1/completions?api-version=2024-10-21");
    }

    #[test]
    fn embedding_models_carry_their_metadata() {
        let m = classify("text-embedding-3-large".into());
        assert_eq!((m.model_type, m.metadata["embedding_dimension"].clone()), (ModelType::Embedding, 3072.into()));
        assert_eq!(classify("gpt-4o".into()).model_type, ModelType::Llm);
    }

    fn object(text: &str) -> JsonObject {
        JsonObject::parse(Bytes::from(text.to_owned())).unwrap()
    }

    #[test]
    fn the_prompt_filter_chunk_takes_the_stream_identity() {
        let first = object(r#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0}]}"#);
        assert!(is_prompt_filter_chunk(&first));
        let next = object(r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":5,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant"}}]}"#);
        assert!(!is_prompt_filter_chunk(&next));
        let fixed: Value = serde_json::from_slice(&with_identity_of(first, &next).to_bytes()).unwrap();
        assert_eq!((fixed["id"].as_str(), fixed["object"].as_str(), fixed["created"].as_i64()), (Some("chatcmpl-1"), Some("chat.completion.chunk"), Some(5)));
        assert_eq!(fixed["prompt_filter_results"][0]["prompt_index"], 0);
    }

    #[tokio::test]
    async fn a_held_chunk_is_never_lost() {
        let first = object(r#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[]}"#);
        let items: Vec<Result<Answer<ChatCompletionChunk>>> = vec![Ok(Answer::Json(first)), Err(Error::internal("cut"))];
        let out: Vec<_> = adopt_prompt_filter_chunk(futures::stream::iter(items).boxed()).collect().await;
        assert_eq!(out.len(), 2);
        assert!(out[0].is_ok() && out[1].is_err());
    }

    #[tokio::test]
    async fn provider_data_endpoints_obey_the_outbound_policy() {
        let deny = OutboundPolicy::new(&[], &["10.0.0.0/8".into()], false).unwrap();
        assert!(check_outbound(&deny, "https://10.1.2.3:8443").await.is_err());
        assert!(check_outbound(&deny, "http://169.254.169.254").await.is_err());
        assert!(check_outbound(&deny, "https://[fe80::1]").await.is_err());
        assert!(check_outbound(&deny, "https://192.0.2.7").await.is_ok());
        assert!(check_outbound(&OutboundPolicy::permissive(), "https://10.1.2.3").await.is_ok());
    }
}
