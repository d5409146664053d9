//! Services: the per-API layer above the providers (routers, routing tables, stores) and its
//! route group, declared once by its crate with [`register_service!`] and built by the
//! registry in the same dependency-ordered pass as the providers.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use lls_api_common::{Api, ApiSpec, Deps, Error, Export, Result, Tasks};
use lls_config::RunConfig;
use lls_http::{RouteGroup, RouteInfo};
use lls_api_common::store::StoreResolver;

use crate::{BuiltProvider, ResourceRegistry};

/// One API's service, as its crate declares it.
pub struct ServiceDescriptor {
    /// The API whose providers it routes (and whose routes it serves).
    pub api: Api,
    /// Further APIs it exports to dependents (the inference service also serves models).
    pub also_serves: &'static [Api],
    pub depends_on: &'static [Api],
    /// Used when the stack has them.
    pub optional: &'static [Api],
    /// Built into the stack, as 0.3.5's conversations: wanted and served whatever run.yaml's
    /// `apis:` says (its build answers `None` when its config is absent).
    pub builtin: bool,
    pub description: &'static str,
    /// Builds the service; `None` when there is nothing to serve (no providers).
    pub build: fn(ServiceContext) -> BoxFuture<'static, Result<Option<BuiltService>>>,
    /// Every route the service can serve (for the OpenAPI document of a build).
    pub routes: fn() -> Vec<RouteInfo>,
}

inventory::collect!(ServiceDescriptor);

impl std::fmt::Debug for ServiceDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceDescriptor").field("api", &self.api).finish_non_exhaustive()
    }
}

/// Every service linked into this binary, sorted by API.
pub fn service_descriptors() -> Vec<&'static ServiceDescriptor> {
    let mut all: Vec<_> = inventory::iter::<ServiceDescriptor>.into_iter().collect();
    all.sort_by_key(|d| d.api);
    all
}

/// What a service's build function gets.
pub struct ServiceContext {
    pub config: Arc<RunConfig>,
    /// The built providers of the service's API, in run.yaml order.
    pub providers: Vec<BuiltProvider>,
    pub deps: Deps,
    pub stores: Arc<dyn StoreResolver>,
    pub registry: Arc<ResourceRegistry>,
    pub tasks: Tasks,
}

impl ServiceContext {
    /// The providers, typed, by provider id.
    pub fn providers_of<A: ApiSpec>(&self) -> Result<BTreeMap<String, Arc<A::Provider>>> {
        self.providers
            .iter()
            .map(|p| {
                let provider = p.instance.get::<A>().ok_or_else(|| {
                    Error::internal(format!("provider '{}' is not a {} provider", p.provider_id, A::API))
                })?;
                Ok((p.provider_id.clone(), provider))
            })
            .collect()
    }
}

/// A built service.
pub struct BuiltService {
    /// What dependents receive, one per API it serves.
    pub exports: Vec<Export>,
    /// Its routes, mounted when run.yaml serves its API.
    pub routes: Option<RouteGroup>,
    /// The service itself, for code that embeds the stack (and tests) to reach by type.
    pub state: Arc<dyn Any + Send + Sync>,
}

impl BuiltService {
    pub fn new<T: Any + Send + Sync>(state: Arc<T>) -> Self {
        BuiltService { exports: Vec::new(), routes: None, state }
    }

    /// Offers `service` to dependents as `A`'s implementation.
    pub fn export<A: ApiSpec>(mut self, service: Arc<A::Service>) -> Self {
        self.exports.push(Export::new::<A>(service));
        self
    }

    pub fn with_routes(mut self, routes: RouteGroup) -> Self {
        self.routes = Some(routes);
        self
    }
}

/// Declares a service in one statement:
///
/// ```ignore
/// lls_registry::register_service! {
///     api: InferenceApi,
///     also_serves: [ModelsApi],
///     depends_on: [],
///     builtin: false,        // optional: true serves it even when `apis:` leaves it out
///     description: "Routes inference to the provider of each model; models table; stored completions",
///     build: build,          // async fn(ServiceContext) -> Result<Option<BuiltService>>
///     routes: routes::book,  // fn() -> RouteBook<S>
/// }
/// ```
#[macro_export]
macro_rules! register_service {
    (
        api: $api:ty,
        $(also_serves: [$($also:ty),* $(,)?],)?
        depends_on: [$($dep:ty),* $(,)?],
        $(optional: [$($opt:ty),* $(,)?],)?
        $(builtin: $builtin:expr,)?
        description: $description:expr,
        build: $build:path,
        routes: $routes:path $(,)?
    ) => {
        $crate::inventory::submit! {
            $crate::ServiceDescriptor {
                api: <$api as $crate::__common::ApiSpec>::API,
                also_serves: &[$($(<$also as $crate::__common::ApiSpec>::API),*)?],
                depends_on: &[$(<$dep as $crate::__common::ApiSpec>::API),*],
                optional: &[$($(<$opt as $crate::__common::ApiSpec>::API),*)?],
                builtin: false $(|| $builtin)?,
                description: $description,
                build: |ctx| ::std::boxed::Box::pin($build(ctx)),
                routes: || $routes().finish().1,
            }
        }
    };
}
