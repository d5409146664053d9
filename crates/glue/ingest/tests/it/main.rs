//! Ingestion: parsing and chunking.
//!
//! One test binary for the crate (one compile and one link in CI); each module was once a
//! target of its own.

mod chunk;
mod parse;
