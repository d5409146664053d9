//! The prompts service's tests, one binary: the service over SQLite and PostgreSQL, with a
//! second instance on the same database as a second replica (`service`), its routes
//! in-process (`http`), and its wiring into a stack (`stack`).
// Helpers here (backends, calls) are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http;
mod service;
mod stack;
mod support;
