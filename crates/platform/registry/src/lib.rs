//! The registry: finds provider implementations linked into this binary (through `inventory`),
//! checks their configs without I/O, builds them in dependency order, and keeps the persistent
//! registry of routable resources (models, shields, vector stores, ...).

mod build;
mod lookup;
mod resources;

pub use build::{BuiltProvider, ProviderSet, RouterFactory, build_providers};
pub use lookup::{check_provider_configs, find_descriptor};
pub use resources::{ResourceRegistry, StoredResource};
