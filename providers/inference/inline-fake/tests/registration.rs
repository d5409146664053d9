//! The provider is registered once, checks its config without I/O, and builds through its
//! descriptor into a working `InferenceProvider`.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::provider::descriptors;
use lls_api_common::store::{KvStore, KvStoreRef, SqlStore, StoreResolver};
use lls_api_common::{Api, BuildContext, Error, Result};
use lls_api_inference::InferenceApi;
use lls_inference_inline_fake::PROVIDER_TYPE;
use serde_json::json;

struct NoStores;

#[async_trait]
impl StoreResolver for NoStores {
    async fn kv(&self, _: &KvStoreRef) -> Result<Arc<dyn KvStore>> {
        Err(Error::internal("the fake needs no stores"))
    }
    async fn sql(&self, _: &str) -> Result<Arc<dyn SqlStore>> {
        Err(Error::internal("the fake needs no stores"))
    }
}

fn descriptor() -> &'static lls_api_common::ProviderDescriptor {
    let found: Vec<_> =
        descriptors().into_iter().filter(|d| d.api == Api::Inference && d.provider_type == PROVIDER_TYPE).collect();
    assert_eq!(found.len(), 1, "inline::fake must be registered exactly once");
    found[0]
}

#[test]
fn config_is_checked_without_io() {
    let d = descriptor();
    assert_eq!((d.check_config)(&json!({})).unwrap(), json!({"embedding_dimension": 384, "models": []}));
    let err = (d.check_config)(&json!({"embedding_dimensions": 8})).unwrap_err();
    assert!(err.message().contains("embedding_dimensions"), "{}", err.message());
    assert!((d.check_config)(&json!({"embedding_dimension": 0})).is_err());
    let sample: serde_json::Value = serde_json::from_str(&yaml_to_json(d.sample_config)).unwrap();
    (d.check_config)(&sample).unwrap();
}

/// The sample config is two flat YAML lines; this avoids a YAML dependency for them.
fn yaml_to_json(yaml: &str) -> String {
    let fields: Vec<String> = yaml
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| format!("\"{k}\": {v}"))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

#[tokio::test]
async fn builds_through_the_descriptor() {
    let ctx = BuildContext::new(Api::Inference, "fake-1", json!({"models": ["extra-llm"]}), Arc::new(NoStores));
    let instance = (descriptor().build)(ctx).await.unwrap();
    let provider = instance.get::<InferenceApi>().expect("an InferenceProvider");
    let ids: Vec<String> = provider.list_models().await.unwrap().into_iter().map(|m| m.provider_resource_id).collect();
    assert_eq!(ids, ["fake-llm", "fake-embed", "extra-llm"]);
    let req = serde_json::from_value(json!({"model": "error-503", "messages": [{"role": "user", "content": "x"}]})).unwrap();
    let err = provider.chat_completion(&Default::default(), req).await.unwrap_err();
    assert_eq!(err.provider(), Some("fake-1"));
}
