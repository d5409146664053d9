//! [`SentenceTransformersProvider`]: the inference API's embeddings from an in-process model.
//! Models load lazily, once, on first use; all model work runs on tokio's blocking pool, one
//! batch at a time per provider (each batch already uses every core), so requests interleave
//! batch by batch and the async runtime never waits on a forward pass.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{BuildContext, Error, ErrorKind, HealthStatus, RequestContext, Result};
use lls_api_inference::{ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest};
use lls_api_inference::{Answer, Embedding, EmbeddingInput, EmbeddingUsage, EmbeddingsRequest, EmbeddingsResponse, EncodingFormat};
use lls_api_inference::{Capabilities, Inference, InferenceProvider, Output};
use lls_api_models::ProviderModel;
use parking_lot::Mutex;
use tokio::sync::{OnceCell, Semaphore};

use crate::encoder::{Encoder, Tokenized, plan_batches};
use crate::locate::{DEFAULT_ORG, SearchPaths, is_valid_name};
use crate::pipeline::Pipeline;
use crate::token_input::input_texts;
use crate::{PROVIDER_TYPE, SentenceTransformersConfig};

/// Dimensions of models whose files may be absent when the model list is built.
const KNOWN_DIMENSIONS: &[(&str, usize)] = &[("all-MiniLM-L6-v2", 384)];

/// The command that installs the default model's weights.
pub const INSTALL_HINT: &str =
    "run scripts/models.sh to install all-MiniLM-L6-v2, or point config.model_dir at a sentence-transformers model directory";

/// `inline::sentence-transformers`.
#[derive(Debug)]
pub struct SentenceTransformersProvider {
    provider_id: String,
    config: SentenceTransformersConfig,
    paths: SearchPaths,
    /// One cell per model name; a failed load leaves the cell empty, so installing the
    /// weights later needs no restart.
    encoders: Mutex<HashMap<String, Arc<OnceCell<Arc<Encoder>>>>>,
    /// One forward pass at a time: each already spreads over every core.
    gate: Arc<Semaphore>,
}

impl SentenceTransformersProvider {
    /// A provider searching the places `config` and the process environment name. Loads nothing.
    pub fn new(provider_id: &str, config: SentenceTransformersConfig) -> Self {
        let paths = SearchPaths::from_env(config.model_dir(), &config.model_search_paths);
        Self::with_paths(provider_id, config, paths)
    }

    /// The same with explicit search paths (tests).
    pub fn with_paths(provider_id: &str, config: SentenceTransformersConfig, paths: SearchPaths) -> Self {
        SentenceTransformersProvider {
            provider_id: provider_id.to_owned(),
            config,
            paths,
            encoders: Mutex::new(HashMap::new()),
            gate: Arc::new(Semaphore::new(1)),
        }
    }

    /// The registry's entry point.
    pub async fn build(ctx: BuildContext, config: SentenceTransformersConfig) -> Result<Arc<dyn InferenceProvider>> {
        Ok(Arc::new(Self::new(&ctx.provider_id, config)))
    }

    /// The configured model's id, as listed.
    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// Whether `name` is the configured model, by its own name or its Hugging Face id.
    fn is_configured(&self, name: &str) -> bool {
        fn bare(n: &str) -> &str {
            n.strip_prefix(DEFAULT_ORG).and_then(|r| r.strip_prefix('/')).unwrap_or(n)
        }
        bare(name) == bare(&self.config.model)
    }

    /// The loaded encoder for `name`, loading it (once) on first use.
    pub async fn encoder(&self, name: &str) -> Result<Arc<Encoder>> {
        let configured = self.is_configured(name);
        let key = if configured { self.config.model.clone() } else { name.to_owned() };
        let cell = self.encoders.lock().entry(key.clone()).or_default().clone();
        cell.get_or_try_init(|| self.load(key, configured)).await.cloned()
    }

    async fn load(&self, name: String, configured: bool) -> Result<Arc<Encoder>> {
        let dir = match self.paths.find(&name, configured) {
            Ok(dir) => dir,
            Err(looked) => return Err(self.missing(&name, configured, &looked)),
        };
        tracing::info!(provider_id = %self.provider_id, model = %name, dir = %dir.display(), "loading embedding model");
        let encoder = tokio::task::spawn_blocking(move || Encoder::load(&dir))
            .await
            .map_err(|e| Error::internal(format!("loading model '{name}' stopped: {e}")))?
            .map_err(|e| {
                Error::new(ErrorKind::UpstreamUnavailable, format!("model '{name}' cannot be loaded: {e}"))
                    .with_provider(&self.provider_id)
            })?;
        Ok(Arc::new(encoder))
    }

    /// The error for a model whose files are nowhere: 503 for the configured model (the
    /// server lacks its weights), 404 for any other name.
    fn missing(&self, name: &str, configured: bool, looked: &[std::path::PathBuf]) -> Error {
        let looked = if looked.is_empty() {
            "nowhere (no search path applies)".to_owned()
        } else {
            looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        };
        if configured {
            Error::new(
                ErrorKind::UpstreamUnavailable,
                format!("the weights of embedding model '{name}' are not installed (looked in: {looked}); {INSTALL_HINT}"),
            )
            .with_provider(&self.provider_id)
        } else {
            Error::not_found(format!(
                "model '{name}' is not served by provider '{}' ({PROVIDER_TYPE}): no model files in {looked}",
                self.provider_id
            ))
            .with_param("model")
            .with_provider(&self.provider_id)
        }
    }

    /// The configured model's dimension without loading its weights: from its files when they
    /// are there, else from the known models.
    fn configured_dimension(&self) -> Option<usize> {
        if let Some(enc) = self.encoders.lock().get(&self.config.model).and_then(|c| c.get().cloned()) {
            return Some(enc.dimension());
        }
        let from_files = self.paths.find(&self.config.model, true).ok().and_then(|dir| {
            let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).ok()?).ok()?;
            let hidden = config.get("hidden_size")?.as_u64()? as usize;
            let positions = config.get("max_position_embeddings")?.as_u64()? as usize;
            Pipeline::read(&dir, hidden, positions).ok().map(|p| p.dimension(hidden))
        });
        let bare = self.config.model.rsplit('/').next().unwrap_or_default();
        from_files.or_else(|| KNOWN_DIMENSIONS.iter().find(|(n, _)| *n == bare).map(|(_, d)| *d))
    }

    fn chat_refusal(&self, model: &str, what: &str) -> Error {
        Error::unsupported(format!(
            "provider '{}' ({PROVIDER_TYPE}) serves embedding models only; '{model}' cannot be used for {what}",
            self.provider_id
        ))
        .with_param("model")
        .with_provider(&self.provider_id)
    }

    /// Runs `batches` of `tokens` through `encoder` one blocking task at a time; vectors come
    /// back in input order.
    async fn run_batches(
        &self,
        encoder: &Arc<Encoder>,
        tokens: Arc<Vec<Tokenized>>,
        batches: Vec<Vec<usize>>,
    ) -> Result<Vec<Vec<f32>>> {
        let mut out = vec![Vec::new(); tokens.len()];
        for batch in batches {
            let _turn = self.gate.acquire().await.map_err(|e| Error::internal(format!("embedding gate closed: {e}")))?;
            let (encoder, tokens, positions) = (encoder.clone(), tokens.clone(), batch.clone());
            let vectors = tokio::task::spawn_blocking(move || {
                let refs: Vec<&Tokenized> = positions.iter().map(|&i| &tokens[i]).collect();
                encoder.embed(&refs)
            })
            .await
            .map_err(|e| Error::internal(format!("an embedding batch stopped: {e}")))?
            .map_err(|e| {
                Error::new(ErrorKind::UpstreamError, format!("embedding failed: {e}")).with_provider(&self.provider_id)
            })?;
            for (i, v) in batch.into_iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Inference for SentenceTransformersProvider {
    async fn chat_completion(
        &self,
        _ctx: &RequestContext,
        request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        Err(self.chat_refusal(&request.model, "chat completions"))
    }

    async fn completion(&self, _ctx: &RequestContext, request: CompletionRequest) -> Result<Output<Completion, Completion>> {
        Err(self.chat_refusal(&request.model, "completions"))
    }

    async fn embeddings(&self, _ctx: &RequestContext, mut request: EmbeddingsRequest) -> Result<Answer<EmbeddingsResponse>> {
        request.validate()?;
        if !is_valid_name(&request.model) && !self.is_configured(&request.model) {
            return Err(self.missing(&request.model, false, &[]));
        }
        let input = std::mem::replace(&mut request.input, EmbeddingInput::Texts(Vec::new()));
        let texts = tokio::task::spawn_blocking(move || input_texts(&input))
            .await
            .map_err(|e| Error::internal(format!("reading the input stopped: {e}")))??;
        let encoder = self.encoder(&request.model).await?;
        if let Some(asked) = request.dimensions
            && asked as usize != encoder.dimension()
        {
            return Err(Error::invalid(format!(
                "model '{}' produces {}-dimensional embeddings and cannot shorten them; 'dimensions' must be {} or left out",
                request.model,
                encoder.dimension(),
                encoder.dimension()
            ))
            .with_param("dimensions"));
        }
        let tokenizer = encoder.clone();
        let tokens = tokio::task::spawn_blocking(move || tokenizer.tokenize(&texts))
            .await
            .map_err(|e| Error::internal(format!("tokenizing stopped: {e}")))?
            .map_err(|e| Error::invalid(format!("the input cannot be tokenized: {e}")).with_param("input"))?;
        let lengths: Vec<usize> = tokens.iter().map(|t| t.ids.len()).collect();
        let token_count = lengths.iter().sum::<usize>() as i64;
        let batches = plan_batches(&lengths, self.config.batch_size);
        let vectors = self.run_batches(&encoder, Arc::new(tokens), batches).await?;
        let base64 = request.encoding() == EncodingFormat::Base64;
        let data = vectors
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let mut e = Embedding::new(i as u32, v);
                if base64 {
                    e.embedding = e.embedding.to_base64();
                }
                e
            })
            .collect();
        Ok(Answer::Typed(EmbeddingsResponse {
            object: "list".into(),
            data,
            model: request.model,
            usage: EmbeddingUsage { prompt_tokens: token_count, total_tokens: token_count },
        }))
    }
}

#[async_trait]
impl InferenceProvider for SentenceTransformersProvider {
    /// The configured model, as an embedding model with its dimension (known even before its
    /// weights are installed, so the server starts and lists it either way).
    async fn list_models(&self) -> Result<Vec<ProviderModel>> {
        match self.configured_dimension() {
            Some(dim) => Ok(vec![ProviderModel::embedding(self.config.model.clone(), dim as u64)]),
            None => {
                tracing::warn!(provider_id = %self.provider_id, model = %self.config.model,
                    "not listing the model: its files are missing, so its dimension is unknown; {INSTALL_HINT}");
                Ok(Vec::new())
            }
        }
    }

    /// Embeddings only: the router refuses chat and completions before they get here.
    fn capabilities(&self) -> Capabilities {
        Capabilities::embeddings_only()
    }

    /// OK when the configured model is loaded or its files are in place; else why not.
    async fn health(&self) -> HealthStatus {
        let loaded = self.encoders.lock().get(&self.config.model).is_some_and(|c| c.initialized());
        if loaded {
            return HealthStatus::ok();
        }
        match self.paths.find(&self.config.model, true) {
            Ok(_) => HealthStatus::ok(),
            Err(looked) => HealthStatus::error(self.missing(&self.config.model, true, &looked).message().to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::HealthStatus;
    use serde_json::json;

    fn nowhere(dir: &std::path::Path) -> SentenceTransformersProvider {
        let paths = SearchPaths { model_dir: None, roots: vec![dir.join("models")], hf_hub: Some(dir.join("hub")) };
        SentenceTransformersProvider::with_paths("st", SentenceTransformersConfig::default(), paths)
    }

    fn embeddings_request(body: serde_json::Value) -> EmbeddingsRequest {
        serde_json::from_value(body).unwrap()
    }

    #[tokio::test]
    async fn missing_weights_say_where_they_were_looked_for_and_how_to_install_them() {
        let tmp = tempfile::tempdir().unwrap();
        let p = nowhere(tmp.path());
        let err = p
            .embeddings(&RequestContext::default(), embeddings_request(json!({"model": "all-MiniLM-L6-v2", "input": "hi"})))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
        let msg = err.message();
        assert!(msg.contains(&tmp.path().join("models/all-MiniLM-L6-v2").display().to_string()), "{msg}");
        assert!(msg.contains("models--sentence-transformers--all-MiniLM-L6-v2"), "{msg}");
        assert!(msg.contains("scripts/models.sh"), "{msg}");
        // The Hugging Face id names the same model.
        let err = p
            .embeddings(
                &RequestContext::default(),
                embeddings_request(json!({"model": "sentence-transformers/all-MiniLM-L6-v2", "input": "hi"})),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
        // Still listed with its dimension, and health says what is wrong.
        let models = p.list_models().await.unwrap();
        assert_eq!(models, [ProviderModel::embedding("all-MiniLM-L6-v2", 384)]);
        let health = p.health().await;
        assert_ne!(health, HealthStatus::ok());
    }

    #[tokio::test]
    async fn other_models_are_not_found_and_bad_names_never_touch_the_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let p = nowhere(tmp.path());
        for model in ["nomic-ai/nomic-embed-text-v1.5", "../../etc/passwd", "/etc"] {
            let err = p
                .embeddings(&RequestContext::default(), embeddings_request(json!({"model": model, "input": "hi"})))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{model}: {err}");
        }
    }

    #[tokio::test]
    async fn chat_and_completions_are_refused_as_client_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let p = nowhere(tmp.path());
        let chat: ChatCompletionRequest =
            serde_json::from_value(json!({"model": "all-MiniLM-L6-v2", "messages": [{"role": "user", "content": "hi"}]}))
                .unwrap();
        let err = p.chat_completion(&RequestContext::default(), chat).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.message().contains("embedding models only"), "{err}");
        let completion: CompletionRequest = serde_json::from_value(json!({"model": "all-MiniLM-L6-v2", "prompt": "hi"})).unwrap();
        assert_eq!(p.completion(&RequestContext::default(), completion).await.unwrap_err().kind(), ErrorKind::Unsupported);
    }

    #[tokio::test]
    async fn token_inputs_are_read_before_the_model_loads_and_bad_ids_are_client_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let p = nowhere(tmp.path());
        let ctx = RequestContext::default();
        let call = |body: serde_json::Value| p.embeddings(&ctx, embeddings_request(body));
        // cl100k ids are accepted; what fails then is the missing weights.
        let err = call(json!({"model": "all-MiniLM-L6-v2", "input": [[15339, 1917]]})).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable, "{err}");
        for body in [
            json!({"model": "all-MiniLM-L6-v2", "input": [1, 2, 300000]}),
            json!({"model": "all-MiniLM-L6-v2", "input": [[1], [-5]]}),
            json!({"model": "all-MiniLM-L6-v2", "input": []}),
        ] {
            let err = call(body.clone()).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{body}: {err:?}");
            assert_eq!(err.param(), Some("input"), "{body}");
        }
    }
}
