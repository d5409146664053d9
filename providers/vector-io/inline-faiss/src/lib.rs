#![doc = include_str!("../README.md")]

pub mod config;
mod contents;
mod index;
mod owner;
pub mod provider;
mod record;
mod store;


pub use config::{FaissConfig, IndexKind};
pub use provider::FaissVectorIo;

/// How run.yaml names this provider.
pub const PROVIDER_TYPE: &str = "inline::faiss";

lls_api_vector_io::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "In-process FAISS indexes (exact, IVF for large stores), persisted one chunk per key in a kv store",
    sample_config: "persistence:\n  namespace: vector_io::faiss\n  backend: kv_default\n",
    config: FaissConfig,
    build: FaissVectorIo::build,
}
