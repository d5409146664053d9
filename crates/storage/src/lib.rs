//! KV and SQL stores over SQLite and PostgreSQL (sqlx), implementing the contracts in
//! `lls_api_common::store`, plus [`QueuedWriter`], a batching background writer.
//!
//! Start from [`Stores`]: a map of named [`BackendSpec`]s that connects each backend on first
//! use and implements [`StoreResolver`](lls_api_common::store::StoreResolver).

mod db;
mod dialect;
mod error;
mod kv;
mod postgres;
mod queue;
mod resolver;
mod sql;
mod sqlite;
mod value;

pub use kv::{POSTGRES_KV_TABLE, SQLITE_KV_TABLE};
pub use queue::{MAX_BATCH, QueuedWriter};
pub use resolver::{BackendSpec, Stores};
pub use sqlite::IN_MEMORY;
