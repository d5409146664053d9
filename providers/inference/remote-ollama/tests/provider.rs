//! `remote::ollama` against the test kit's Ollama mock: the OpenAI API under `{url}/v1`, the
//! key upstream sends, model listing with upstream's embedding metadata, and health.
// Helpers here are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lls_api_common::{HealthState, RequestContext};
use lls_api_inference::{ChatCompletionRequest, Inference, InferenceProvider};
use lls_api_models::ModelType;
use lls_inference_remote_ollama::{OllamaConfig, OllamaProvider};
use lls_testkit::OllamaMock;
use serde_json::json;

#[tokio::test]
async fn chats_under_v1_and_lists_with_upstream_metadata() {
    let mock = OllamaMock::start(&["llama3.2:3b", "nomic-embed-text:latest", "all-minilm:l6-v2"], 768).await.unwrap();
    let p = OllamaProvider::new("ollama", OllamaConfig::new(format!("{}/", mock.url()))).unwrap();
    let req: ChatCompletionRequest = serde_json::from_value(json!({"model": "llama3.2:3b", "messages": [{"role": "user", "content": "hi"}]})).unwrap();
    p.chat_completion(&RequestContext::default(), req).await.unwrap();
    let sent = &mock.requests()[0];
    assert_eq!((sent.path.as_str(), sent.header("authorization")), ("/v1/chat/completions", Some("Bearer NO KEY REQUIRED")));
    let models = p.list_models().await.unwrap();
    let kind = |id: &str| models.iter().find(|m| m.provider_resource_id == id).map(|m| (m.model_type, m.metadata.get("embedding_dimension").cloned()));
    assert_eq!(kind("llama3.2:3b"), Some((ModelType::Llm, None)));
    assert_eq!(kind("nomic-embed-text:latest"), Some((ModelType::Embedding, Some(json!(768)))));
    assert_eq!(kind("all-minilm:l6-v2"), Some((ModelType::Embedding, Some(json!(384)))));
}

#[tokio::test]
async fn health_reads_api_ps() {
    let mock = OllamaMock::start(&["llama3.2:3b"], 8).await.unwrap();
    assert_eq!(OllamaProvider::new("ollama", OllamaConfig::new(mock.url())).unwrap().health().await.status, HealthState::Ok);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let down = OllamaProvider::new("ollama", OllamaConfig::new(gone)).unwrap().health().await;
    assert_eq!(down.status, HealthState::Error);
    assert!(down.message.unwrap().starts_with("Health check failed: provider ollama is unreachable"));
}
