//! The vector stores service: OpenAI's vector stores API and the native vector_io insert/query,
//! implemented once above the index-level [`lls_api_vector_io::VectorIo`] providers.
//!
//! [`VectorStoresService`] implements [`lls_api_vector_io::VectorStores`]. It chooses a provider
//! and an embedding model for each store, ingests files (files API → `lls-ingest` parse and
//! chunk on the blocking pool → embeddings through the inference router, in bounded concurrent
//! batches → the provider), searches with attribute filters and hybrid ranking, runs file
//! batches in the background, and persists everything (stores, file records, chunk copies,
//! batches, chunk expiries) in one kv namespace, so a restart resumes where it stopped.
//! Ingestion and search are Prometheus metrics per provider (`metrics`).
//!
//! Lifecycle: the registry builds it once inference, the models table and files exist
//! ([`VectorStoresService::open`] loads its state with them), then
//! [`VectorStoresService::start`] resumes interrupted ingestion and starts the expiry sweeper
//! under the stack's task supervisor. Its routes are in `routes`.

mod batches;
mod embedding;
mod files;
mod ingestion;
mod keyword;
mod metrics;
mod native;
mod node;
mod pagination;
mod records;
mod routes;
mod search;
mod service;
mod stores;
mod work;

pub use service::{Defaults, Dependencies, EmbeddingModels, VectorIoProvider, VectorStoresService};

/// The kv namespace the service keeps its records in (inside the metadata backend).
pub const KV_NAMESPACE: &str = "vector_stores";
