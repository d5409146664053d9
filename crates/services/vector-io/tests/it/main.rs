//! The vector stores service's integration tests.
//!
//! One test binary for the crate (one compile and one link in CI); each module was once a
//! target of its own.

mod support;

mod background;
mod http;
mod metrics;
mod replicas;
mod service;
