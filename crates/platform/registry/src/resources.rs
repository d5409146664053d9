//! The persistent registry of routable resources (models, shields, vector stores, ...), kept in
//! the `metadata` kv store under upstream's key layout, with an in-memory cache for reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use lls_api_common::Result;
use lls_api_common::store::KvStore;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::Value;

const KEY_PREFIX: &str = "distributions:registry:v10::";

/// A resource as stored: its wire JSON plus how it came to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResource {
    pub resource_type: String,
    pub identifier: String,
    pub provider_id: String,
    /// `via_register_api` or `listed_from_provider`.
    pub source: String,
    pub body: Value,
}

/// Resources by `(type, identifier)`. Reads hit the cache; writes go to the store first.
pub struct ResourceRegistry {
    kv: Arc<dyn KvStore>,
    cache: RwLock<BTreeMap<(String, String), StoredResource>>,
}

impl ResourceRegistry {
    /// Opens the registry and loads every stored resource into the cache.
    pub async fn open(kv: Arc<dyn KvStore>) -> Result<Self> {
        let start = KEY_PREFIX.to_string();
        let end = format!("{KEY_PREFIX}\u{10FFFF}");
        let mut cache = BTreeMap::new();
        for raw in kv.values_in_range(&start, &end).await? {
            match serde_json::from_str::<StoredResource>(&raw) {
                Ok(r) => {
                    cache.insert((r.resource_type.clone(), r.identifier.clone()), r);
                }
                Err(e) => tracing::warn!("skipping unreadable registry entry: {e}"),
            }
        }
        Ok(ResourceRegistry { kv, cache: RwLock::new(cache) })
    }

    fn key(resource_type: &str, identifier: &str) -> String {
        format!("{KEY_PREFIX}{resource_type}:{identifier}")
    }

    pub fn get(&self, resource_type: &str, identifier: &str) -> Option<StoredResource> {
        self.cache.read().get(&(resource_type.to_owned(), identifier.to_owned())).cloned()
    }

    pub fn list(&self, resource_type: &str) -> Vec<StoredResource> {
        self.cache.read().values().filter(|r| r.resource_type == resource_type).cloned().collect()
    }

    pub async fn put(&self, resource: StoredResource) -> Result<()> {
        let raw = serde_json::to_string(&resource)?;
        self.kv.set(&Self::key(&resource.resource_type, &resource.identifier), &raw, None).await?;
        self.cache.write().insert((resource.resource_type.clone(), resource.identifier.clone()), resource);
        Ok(())
    }

    pub async fn remove(&self, resource_type: &str, identifier: &str) -> Result<Option<StoredResource>> {
        self.kv.delete(&Self::key(resource_type, identifier)).await?;
        Ok(self.cache.write().remove(&(resource_type.to_owned(), identifier.to_owned())))
    }
}
