//! OpenAI's vector store object (`/v1/vector_stores`) with 0.3.5's extensions, and the shapes of
//! create, update, list and delete.

use lls_api_common::store::Order;
use lls_api_common::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::file::{ChunkingStrategy, FileStatus};

/// How many of a store's (or a batch's) files are in each state.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct FileCounts {
    pub completed: u64,
    pub cancelled: u64,
    pub failed: u64,
    pub in_progress: u64,
    pub total: u64,
}

impl FileCounts {
    /// Counts one more file in `status`.
    pub fn add(&mut self, status: FileStatus) {
        *self.slot(status) += 1;
        self.total += 1;
    }

    /// Stops counting a file that was in `status`.
    pub fn remove(&mut self, status: FileStatus) {
        let slot = self.slot(status);
        *slot = slot.saturating_sub(1);
        self.total = self.total.saturating_sub(1);
    }

    fn slot(&mut self, status: FileStatus) -> &mut u64 {
        match status {
            FileStatus::Completed => &mut self.completed,
            FileStatus::Cancelled => &mut self.cancelled,
            FileStatus::Failed => &mut self.failed,
            FileStatus::InProgress => &mut self.in_progress,
        }
    }
}

/// OpenAI's `expires_after` for a vector store: expire `days` after the store was last active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StoreExpiresAfter {
    /// Always `last_active_at`.
    pub anchor: StoreExpiresAnchor,
    #[schemars(range(min = 1, max = StoreExpiresAfter::MAX_DAYS))]
    pub days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoreExpiresAnchor {
    LastActiveAt,
}

impl StoreExpiresAfter {
    /// OpenAI's bounds: one day to a year.
    pub const MAX_DAYS: u32 = 365;

    pub fn validate(&self) -> Result<()> {
        if !(1..=Self::MAX_DAYS).contains(&self.days) {
            return Err(Error::invalid(format!(
                "expires_after.days must be between 1 and {} (got {})",
                Self::MAX_DAYS,
                self.days
            ))
            .with_param("expires_after.days"));
        }
        Ok(())
    }

    /// When a store last active at `last_active_at` expires.
    pub fn expires_at(&self, last_active_at: i64) -> i64 {
        last_active_at + i64::from(self.days) * 86_400
    }
}

/// A store's status: `completed` once created (ingestion is tracked per file), `expired` after
/// its `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoreStatus {
    Expired,
    InProgress,
    Completed,
}

/// OpenAI's vector store object, as 0.3.5 serves it (every field present, `null` when unset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VectorStoreObject {
    pub id: String,
    /// Always `"vector_store"`.
    pub object: String,
    pub created_at: i64,
    pub name: Option<String>,
    /// Bytes of chunk text held for the store's completed files.
    pub usage_bytes: u64,
    pub file_counts: FileCounts,
    pub status: StoreStatus,
    pub expires_after: Option<StoreExpiresAfter>,
    pub expires_at: Option<i64>,
    pub last_active_at: Option<i64>,
    /// The caller's metadata plus `provider_id` (and the embedding settings when given there).
    pub metadata: Map<String, Value>,
}

/// `POST /v1/vector_stores`. Besides OpenAI's fields it takes 0.3.5's extensions (the OpenAI
/// SDK's `extra_body`): `embedding_model`, `embedding_dimension`, `provider_id` and
/// `provider_vector_store_id`. `metadata.embedding_model` (with `metadata.embedding_dimension`)
/// wins over the extension fields, as in 0.3.5.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateVectorStoreRequest {
    #[serde(default)]
    pub name: Option<String>,
    /// Files attached (and ingested) before the answer is sent.
    #[serde(default)]
    pub file_ids: Option<Vec<String>>,
    #[serde(default)]
    pub expires_after: Option<StoreExpiresAfter>,
    /// How `file_ids` are chunked (default `auto`).
    #[serde(default)]
    pub chunking_strategy: Option<ChunkingStrategy>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub embedding_model: Option<String>,
    #[serde(default, deserialize_with = "lenient_dimension")]
    #[schemars(schema_with = "dimension_schema")]
    pub embedding_dimension: Option<usize>,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub provider_vector_store_id: Option<String>,
    /// Anything else the client sent; ignored.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /v1/vector_stores/{id}`: each field given replaces the stored one (`metadata` as a whole).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UpdateVectorStoreRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub expires_after: Option<StoreExpiresAfter>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

/// `DELETE /v1/vector_stores/{id}`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VectorStoreDeleted {
    pub id: String,
    /// Always `"vector_store.deleted"`.
    pub object: String,
    pub deleted: bool,
}

/// Cursor parameters of the list routes (`limit` 1..=100, default 20; newest first by default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListQuery {
    #[serde(default)]
    #[schemars(range(min = 1, max = ListQuery::MAX_LIMIT))]
    pub limit: Option<usize>,
    #[serde(default)]
    pub order: Option<Order>,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
}

impl ListQuery {
    pub const DEFAULT_LIMIT: usize = 20;
    pub const MAX_LIMIT: usize = 100;

    /// The page size, checked against OpenAI's bounds.
    pub fn limit(&self) -> Result<usize> {
        match self.limit {
            None => Ok(Self::DEFAULT_LIMIT),
            Some(n) if (1..=Self::MAX_LIMIT).contains(&n) => Ok(n),
            Some(n) => Err(Error::invalid(format!(
                "limit must be between 1 and {} (got {n})",
                Self::MAX_LIMIT
            ))
            .with_param("limit")),
        }
    }

    pub fn order(&self) -> Order {
        self.order.unwrap_or_default()
    }
}

/// OpenAI's list page; `first_id`/`last_id` are `null` for an empty page, as 0.3.5 sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "{T}List")]
pub struct ListPage<T> {
    /// Always `"list"`.
    pub object: String,
    pub data: Vec<T>,
    pub first_id: Option<String>,
    pub last_id: Option<String>,
    pub has_more: bool,
}

impl<T> ListPage<T> {
    pub fn new(
        data: Vec<T>,
        first_id: Option<String>,
        last_id: Option<String>,
        has_more: bool,
    ) -> Self {
        ListPage {
            object: "list".into(),
            data,
            first_id,
            last_id,
            has_more,
        }
    }
}

/// An embedding dimension given as a number or as a numeric string (0.3.5 accepts both).
pub fn parse_dimension(value: &Value) -> Option<usize> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| *n > 0)
}

/// What [`lenient_dimension`] accepts: a positive integer, possibly as a string, or null.
fn dimension_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [
            {"type": "integer", "minimum": 1},
            {"type": "string", "pattern": "^\\s*0*[1-9][0-9]*\\s*$"},
            {"type": "null"}
        ]
    })
}

fn lenient_dimension<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => parse_dimension(&v).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("expected a positive integer, got {v}"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_request_takes_extensions_and_keeps_the_rest() {
        let r: CreateVectorStoreRequest = serde_json::from_value(json!({
            "name": "s", "embedding_model": "p/m", "embedding_dimension": "384", "provider_id": "faiss", "other": 1
        }))
        .unwrap();
        assert_eq!(r.embedding_dimension, Some(384));
        assert_eq!(r.provider_id.as_deref(), Some("faiss"));
        assert_eq!(r.extra.get("other"), Some(&json!(1)));
        assert!(
            serde_json::from_value::<CreateVectorStoreRequest>(json!({"embedding_dimension": "x"}))
                .is_err()
        );
    }

    #[test]
    fn counts_follow_status_changes() {
        let mut c = FileCounts::default();
        c.add(FileStatus::InProgress);
        c.remove(FileStatus::InProgress);
        c.add(FileStatus::Completed);
        assert_eq!(
            c,
            FileCounts {
                completed: 1,
                total: 1,
                ..Default::default()
            }
        );
    }

    #[test]
    fn list_limit_is_bounded() {
        assert_eq!(ListQuery::default().limit().unwrap(), 20);
        assert!(
            ListQuery {
                limit: Some(0),
                ..Default::default()
            }
            .limit()
            .is_err()
        );
        assert!(
            ListQuery {
                limit: Some(101),
                ..Default::default()
            }
            .limit()
            .is_err()
        );
    }

    #[test]
    fn expires_after_is_checked() {
        let e: StoreExpiresAfter =
            serde_json::from_value(json!({"anchor": "last_active_at", "days": 2})).unwrap();
        assert_eq!(e.expires_at(0), 172_800);
        assert!(StoreExpiresAfter { days: 0, ..e }.validate().is_err());
        assert!(
            serde_json::from_value::<StoreExpiresAfter>(json!({"anchor": "created_at", "days": 2}))
                .is_err()
        );
    }
}
