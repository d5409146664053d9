//! [`ApiSpec`]: what an API crate declares about itself so registration and dependencies are
//! typed: the trait object its providers build, and the one its service gives dependents.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::call::CallStack;
use crate::{Api, HealthStatus};

/// Implemented once per API crate by a marker type (`InferenceApi`, `FilesApi`, …).
///
/// A provider registered through an API crate's `register_provider!` must build
/// `Arc<Self::Provider>`; anything else does not compile. Dependents receive
/// `Arc<Self::Service>` (the API's router or service), fetched with [`crate::Deps::require`].
pub trait ApiSpec: Send + Sync + 'static {
    /// The API as run.yaml names it.
    const API: Api;
    /// What a provider of this API is (`dyn InferenceProvider`).
    type Provider: ?Sized + Send + Sync + 'static;
    /// What the API's service offers dependents and clients (`dyn Inference`).
    type Service: ?Sized + Send + Sync + 'static;

    /// Wraps a built provider so each of its calls goes through `calls` (timeouts, retries,
    /// allowed models, error context, metrics). The default leaves the provider as it is.
    fn layer(provider: Arc<Self::Provider>, calls: &CallStack) -> Arc<Self::Provider> {
        let _ = calls;
        provider
    }

    /// The provider's health, as `/v1/providers` shows it.
    fn health(provider: &Self::Provider) -> BoxFuture<'_, HealthStatus> {
        let _ = provider;
        Box::pin(async { HealthStatus::not_implemented() })
    }
}
