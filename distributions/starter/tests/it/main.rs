//! The starter distribution's integration tests: the HTTP API in process, and the binary as a process.
//!
//! One test binary for the crate (one compile and one link in CI); each module was once a
//! target of its own.

mod support;

mod capabilities;
mod edge;
mod files;
mod http;
mod limits;
mod process;
mod providers;
mod rag_tool;
mod slow_tools;
mod tools;
