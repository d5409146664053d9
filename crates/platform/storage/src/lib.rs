#![doc = include_str!("../README.md")]

mod address;
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

pub use address::PostgresAddress;
pub use kv::{POSTGRES_KV_TABLE, SQLITE_KV_TABLE};
pub use queue::{DROPPED_ROWS, FAILED_ROWS, MAX_BATCH, QUEUE_DEPTH, QueuedWriter, describe_metrics};
pub use resolver::{BackendSpec, Stores};
pub use sqlite::IN_MEMORY;
