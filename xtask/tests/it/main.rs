//! The xtask tests: the tidy rules on this workspace and on broken ones, and the OpenAPI document's freshness.
//!
//! One test binary for the crate (one compile and one link in CI); each module was once a
//! target of its own.

mod openapi;
mod tidy;
mod tidy_selftest;
