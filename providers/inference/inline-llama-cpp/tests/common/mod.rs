//! The real GGUF files the tests run (`scripts/models.sh` installs them in
//! `${LLS_MODELS_DIR:-~/.cache/llama-stack-rs/models}`). Absent files fail a test, unless
//! `LLS_TEST_NO_MODELS=1`, which lets it pass without running and says so on stderr.

#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use lls_api_common::RequestContext;
use lls_api_inference::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, InferenceProvider, Output,
};
use lls_inference_inline_llama_cpp::{LlamaCppConfig, LlamaCppProvider};
use lls_testkit::Prerequisite;

pub const SMOLLM2: &str = "smollm2-135m-instruct-q4_1.gguf";
pub const QWEN: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";

pub const WEIGHTS: Prerequisite = Prerequisite {
    what: "the GGUF models (SmolLM2-135M-Instruct, Qwen2.5-Coder-0.5B-Instruct)",
    how: "bash scripts/models.sh",
    opt_out: "LLS_TEST_NO_MODELS",
};

/// A config for `file` in the models directory, small enough for tests; `None` when the
/// developer opted out and the file is missing.
pub fn config(file: &str, test: &str) -> Option<LlamaCppConfig> {
    let config = LlamaCppConfig {
        model: Some(file.to_owned()),
        model_path: None,
        context_length: 2048,
        max_concurrent_sequences: 2,
        ..LlamaCppConfig::for_path("")
    };
    let path = config.resolved_path();
    let found = path.is_file().then_some(config);
    WEIGHTS.require(
        &format!("{} {test}", env!("CARGO_PKG_NAME")),
        found,
        &format!("{} not found", path.display()),
    )
}

pub fn provider(config: LlamaCppConfig) -> Arc<LlamaCppProvider> {
    Arc::new(LlamaCppProvider::new("llama-cpp", config))
}

pub fn request(body: serde_json::Value) -> ChatCompletionRequest {
    serde_json::from_value(body).unwrap()
}

pub async fn chat(p: &dyn InferenceProvider, body: serde_json::Value) -> ChatCompletion {
    match p
        .chat_completion(&RequestContext::default(), request(body))
        .await
        .unwrap()
    {
        Output::Complete(a) => a.into_typed().unwrap(),
        Output::Stream(_) => panic!("a stream for a non-stream request"),
    }
}

pub async fn chat_stream(
    p: &dyn InferenceProvider,
    body: serde_json::Value,
) -> Vec<ChatCompletionChunk> {
    use futures::StreamExt;
    match p
        .chat_completion(&RequestContext::default(), request(body))
        .await
        .unwrap()
    {
        Output::Stream(s) => s.map(|c| c.unwrap().into_typed().unwrap()).collect().await,
        Output::Complete(_) => panic!("a whole answer for a stream request"),
    }
}
