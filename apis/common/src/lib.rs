//! Contracts shared by every API crate and provider: one error type, the list of APIs, typed
//! provider registration ([`ApiSpec`], descriptors collected with `inventory`), the call
//! layers' contract, background-task supervision, per-request context and the store traits.
//!
//! Nothing here does I/O or knows HTTP; the server maps [`Error`] to HTTP in one place.

pub mod api;
pub mod call;
pub mod context;
pub mod error;
pub mod limits;
pub mod provider;
pub mod secret;
pub mod spec;
pub mod store;
pub mod tasks;

pub use api::Api;
pub use context::RequestContext;
pub use error::{Error, ErrorKind, Result};
pub use call::{CallPolicy, CallStack};
pub use provider::{BuildContext, Deps, Export, HealthState, HealthStatus, ProviderConfig, ProviderDescriptor, ProviderInstance};
pub use spec::ApiSpec;
pub use tasks::Tasks;
pub use secret::Secret;

/// Re-exported so provider crates can register themselves without naming `inventory`.
pub use inventory;

/// Seconds since the Unix epoch, as OpenAI's `created` fields carry them.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
