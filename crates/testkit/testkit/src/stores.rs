//! Real stores for tests that need them: SQLite in memory through `lls-storage`, so provider
//! crates test against the same SQL the server runs without depending on the storage crate.

use std::sync::Arc;

use lls_api_common::Result;
use lls_api_common::store::{SqlStore, StoreResolver};

/// Fresh in-memory backends named `kv_default` and `sql_default`, private to this call.
pub fn memory_stores() -> Arc<dyn StoreResolver> {
    Arc::new(lls_storage::Stores::in_memory())
}

/// A fresh in-memory SQL store (the `sql_default` backend of [`memory_stores`]).
pub async fn memory_sql() -> Result<Arc<dyn SqlStore>> {
    memory_stores().sql("sql_default").await
}
