//! What the service persists, and where: one kv namespace holds stores, file records, the chunk
//! copies of each file, batches, chunk expiries, (for vector-only providers) copies of natively
//! inserted chunks, the ingestion under way, and the heartbeats of the replicas sharing it.
//! Operations read it afresh; nothing here is cached across operations.

use std::sync::Arc;

use lls_api_common::Result;
use lls_api_common::store::KvStore;
use lls_api_vector_io::{
    Chunk, ChunkingStrategy, FileStatus, StoreExpiresAfter, StoreStatus, VectorStoreFileObject, VectorStoreObject,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Past the last character of any key, for prefix ranges.
const RANGE_END: char = '\u{10FFFF}';

/// A vector store as stored. Counts and usage are derived from its file records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoreRow {
    pub id: String,
    pub created_at: i64,
    /// Creation time in nanoseconds, to order stores created within the same second.
    pub created_ns: i64,
    pub name: Option<String>,
    pub expires_after: Option<StoreExpiresAfter>,
    pub last_active_at: i64,
    pub metadata: Map<String, Value>,
    pub provider_id: String,
    pub embedding_model: String,
    pub embedding_dimension: usize,
    /// `dimensions` to request from the embedding model, when the store's dimension is not the
    /// model's native one.
    #[serde(default)]
    pub request_dimensions: Option<u32>,
    /// Who created it; `None` with authentication off (everyone may use it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<lls_api_common::access::Owner>,
}

/// A file attached to a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FileRow {
    pub object: VectorStoreFileObject,
    pub filename: String,
    /// Attach time in nanoseconds, to order files attached within the same second.
    pub attached_ns: i64,
    /// The batch that attached the file, while that batch owns its ingestion.
    #[serde(default)]
    pub batch_id: Option<String>,
    /// The replica ingesting the file, while it is `in_progress` (see `replicas::Presence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
}

/// A file being ingested (or waiting for it): the index the takeover sweeper reads, written
/// before the file's record turns `in_progress` and removed after it leaves that status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WorkRow {
    pub vector_store_id: String,
    pub file_id: String,
}

/// A file batch; its counts and status are derived from its files' records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BatchRow {
    pub id: String,
    pub created_at: i64,
    pub vector_store_id: String,
    pub file_ids: Vec<String>,
    pub attributes: Map<String, Value>,
    pub chunking_strategy: ChunkingStrategy,
    pub expires_at: i64,
    #[serde(default)]
    pub cancelled: bool,
}

/// Chunks natively inserted with a `ttl_seconds`, to remove at `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ExpiryRow {
    pub vector_store_id: String,
    pub chunk_ids: Vec<String>,
}

impl StoreRow {
    pub fn expires_at(&self) -> Option<i64> {
        self.expires_after.map(|e| e.expires_at(self.last_active_at))
    }

    /// The OpenAI object, with counts and usage from `files`.
    pub fn object<'a>(&self, files: impl Iterator<Item = &'a FileRow>, now: i64) -> VectorStoreObject {
        let mut counts = lls_api_vector_io::FileCounts::default();
        let mut usage_bytes = 0;
        for f in files {
            counts.add(f.object.status);
            if f.object.status == FileStatus::Completed {
                usage_bytes += f.object.usage_bytes;
            }
        }
        let expires_at = self.expires_at();
        let status = match expires_at {
            Some(at) if now > at => StoreStatus::Expired,
            _ => StoreStatus::Completed,
        };
        VectorStoreObject {
            id: self.id.clone(),
            object: "vector_store".into(),
            created_at: self.created_at,
            name: self.name.clone(),
            usage_bytes,
            file_counts: counts,
            status,
            expires_after: self.expires_after,
            expires_at,
            last_active_at: Some(self.last_active_at),
            metadata: self.metadata.clone(),
        }
    }
}

/// Key layout inside the service's namespace.
pub(crate) mod keys {
    pub fn store(id: &str) -> String {
        format!("store:{id}")
    }

    pub const STORES: &str = "store:";

    pub fn file(store: &str, file: &str) -> String {
        format!("file:{store}:{file}")
    }

    pub fn files_of(store: &str) -> String {
        format!("file:{store}:")
    }

    pub fn contents(store: &str, file: &str) -> String {
        format!("contents:{store}:{file}")
    }

    pub fn contents_of(store: &str) -> String {
        format!("contents:{store}:")
    }

    pub fn native(store: &str, chunk_id: &str) -> String {
        format!("native:{store}:{chunk_id}")
    }

    pub fn natives_of(store: &str) -> String {
        format!("native:{store}:")
    }

    pub fn batch(id: &str) -> String {
        format!("batch:{id}")
    }

    pub const BATCHES: &str = "batch:";

    /// Zero-padded so keys sort by time.
    pub fn expiry(expires_at: i64, id: &str) -> String {
        format!("expiry:{expires_at:020}:{id}")
    }

    pub const EXPIRIES: &str = "expiry:";

    pub fn work(store: &str, file: &str) -> String {
        format!("work:{store}:{file}")
    }

    pub fn work_of(store: &str) -> String {
        format!("work:{store}:")
    }

    pub const WORK: &str = "work:";

    /// Where the replicas sharing the namespace keep their heartbeats and claims.
    pub const REPLICAS: &str = "replica:";
}

/// Typed access to the service's kv namespace.
#[derive(Clone)]
pub(crate) struct Records {
    kv: Arc<dyn KvStore>,
}

impl Records {
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Records { kv }
    }

    pub async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.kv.set(key, &serde_json::to_string(value)?, None).await
    }

    /// Stores an already serialised value (large ones are serialised off the async runtime).
    pub async fn put_raw(&self, key: &str, value: &str) -> Result<()> {
        self.kv.set(key, value, None).await
    }

    /// The raw values under `prefix`.
    pub async fn all_raw(&self, prefix: &str) -> Result<Vec<String>> {
        self.kv.values_in_range(prefix, &format!("{prefix}{RANGE_END}")).await
    }

    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.kv.get(key).await? {
            Some(raw) => Ok(Some(serde_json::from_str(&raw)?)),
            None => Ok(None),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        self.kv.delete(key).await
    }

    /// Every value under `prefix`, parsed; unreadable entries are skipped with a warning.
    pub async fn all<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>> {
        let raw = self.kv.values_in_range(prefix, &format!("{prefix}{RANGE_END}")).await?;
        Ok(raw
            .iter()
            .filter_map(|r| match serde_json::from_str(r) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::warn!(prefix, "skipping an unreadable vector store record: {e}");
                    None
                }
            })
            .collect())
    }

    /// Keys under `prefix` whose remainder sorts at or before `last`.
    pub async fn keys_until(&self, prefix: &str, last: &str) -> Result<Vec<String>> {
        self.kv.keys_in_range(prefix, &format!("{prefix}{last}")).await
    }

    pub async fn delete_prefix(&self, prefix: &str) -> Result<()> {
        for key in self.kv.keys_in_range(prefix, &format!("{prefix}{RANGE_END}")).await? {
            self.kv.delete(&key).await?;
        }
        Ok(())
    }

    pub async fn contents(&self, store: &str, file: &str) -> Result<Vec<Chunk>> {
        Ok(self.get(&keys::contents(store, file)).await?.unwrap_or_default())
    }
}
