//! The registry: finds provider and service implementations linked into this binary (through
//! `inventory`), checks provider configs without I/O, builds providers and services in one
//! dependency-ordered pass into a [`Stack`] (wrapping each provider in its call layers), and
//! keeps the persistent registry of routable resources (models, shields, vector stores, ...).

mod graph;
mod lookup;
pub mod metrics;
mod resources;
mod service;
mod stack;

pub use graph::enabled;
pub use lookup::{check_provider_configs, find_descriptor};
pub use resources::{ResourceRegistry, StoredResource, chosen_provider};
pub use service::{BuiltService, ServiceContext, ServiceDescriptor, service_descriptors};
pub use stack::{BuiltProvider, ServiceEntry, Stack};

/// Re-exported for [`register_service!`].
pub use inventory;
#[doc(hidden)]
pub use lls_api_common as __common;
