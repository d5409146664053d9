//! Milvus glue: the [`VectorIo`](lls_api_vector_io::VectorIo) implementation that `remote::milvus`
//! and `inline::milvus` share ([`MilvusIndex`]), over the official gRPC SDK (`milvus-sdk-rust`).
//!
//! One collection per vector store (named by [`collection_name`]): the chunk id as primary key,
//! the chunk as JSON text, its text under Milvus's analyzer with a BM25 function feeding a sparse
//! vector (keyword search is Milvus's own full-text search), its metadata as a JSON field (for
//! filter expressions, [`filter_expression`]) and the embedding. Milvus itself is the registry: a
//! store's collection name follows from its id and its dimension from the collection's schema,
//! so every server on one Milvus sees the same stores and a restart needs nothing else.

mod connect;
mod error;
mod expr;
mod index;
mod naming;
mod settings;

pub use connect::ConnectOptions;
pub use error::milvus_error;
pub use expr::filter_expression;
pub use index::MilvusIndex;
pub use naming::collection_name;
pub use settings::{Consistency, IndexKind, IndexSettings, Metric, consistency_or_default};
