//! Provider descriptors: what a provider crate submits to `inventory` (through its API
//! crate's `register_provider!`, which makes the registration typed), and what the registry
//! needs to check its config (no I/O) and build it (I/O) with its resolved dependencies.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::call::{CallPolicy, CallStack};
use crate::outbound::OutboundPolicy;
use crate::spec::ApiSpec;
use crate::store::StoreResolver;
use crate::tasks::Tasks;
use crate::{Api, Error, Result};

/// One provider implementation, declared once by its crate with its API crate's
/// `register_provider!` (which fills `api` and checks the built type).
pub struct ProviderDescriptor {
    pub api: Api,
    /// `inline::name` or `remote::name`, exactly as run.yaml spells it.
    pub provider_type: &'static str,
    pub description: &'static str,
    /// A run.yaml `config:` block that works for this provider (YAML text).
    pub sample_config: &'static str,
    pub api_dependencies: &'static [Api],
    pub optional_api_dependencies: &'static [Api],
    /// Parses and validates a config without I/O; returns it as `/v1/providers` shows it
    /// (secrets redacted).
    pub check_config: fn(&Value) -> Result<Value>,
    /// What the config asks of the call layers (allowed models, timeout, retries).
    pub policy: fn(&Value) -> Result<CallPolicy>,
    /// Builds the provider (may connect, open files, list models) and wraps it in its layers.
    pub build: fn(BuildContext) -> BoxFuture<'static, Result<ProviderInstance>>,
}

inventory::collect!(ProviderDescriptor);

impl std::fmt::Debug for ProviderDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderDescriptor")
            .field("api", &self.api)
            .field("provider_type", &self.provider_type)
            .finish_non_exhaustive()
    }
}

/// Every provider linked into this binary, sorted by API and type.
pub fn descriptors() -> Vec<&'static ProviderDescriptor> {
    let mut all: Vec<_> = inventory::iter::<ProviderDescriptor>.into_iter().collect();
    all.sort_by_key(|d| (d.api, d.provider_type));
    all
}

type HealthFn = for<'a> fn(&'a (dyn Any + Send + Sync)) -> BoxFuture<'a, crate::HealthStatus>;

/// A built provider of some API; [`ProviderInstance::get`] recovers it, typed by its API.
#[derive(Clone)]
pub struct ProviderInstance {
    api: Api,
    inner: Arc<dyn Any + Send + Sync>,
    health: HealthFn,
}

impl ProviderInstance {
    pub fn new<A: ApiSpec>(provider: Arc<A::Provider>) -> Self {
        ProviderInstance {
            api: A::API,
            inner: Arc::new(provider),
            health: health_of::<A>,
        }
    }

    pub fn api(&self) -> Api {
        self.api
    }

    /// The provider, when it is a provider of `A`.
    pub fn get<A: ApiSpec>(&self) -> Option<Arc<A::Provider>> {
        if self.api != A::API {
            return None;
        }
        self.inner.downcast_ref::<Arc<A::Provider>>().cloned()
    }

    pub async fn health(&self) -> crate::HealthStatus {
        (self.health)(self.inner.as_ref()).await
    }
}

fn health_of<A: ApiSpec>(inner: &(dyn Any + Send + Sync)) -> BoxFuture<'_, crate::HealthStatus> {
    match inner.downcast_ref::<Arc<A::Provider>>() {
        Some(p) => A::health(p),
        None => Box::pin(async { crate::HealthStatus::not_implemented() }),
    }
}

impl std::fmt::Debug for ProviderInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProviderInstance({})", self.api)
    }
}

/// What a service offers dependents for one API (`Arc<A::Service>`, erased).
#[derive(Clone)]
pub struct Export {
    api: Api,
    inner: Arc<dyn Any + Send + Sync>,
}

impl Export {
    pub fn new<A: ApiSpec>(service: Arc<A::Service>) -> Self {
        Export {
            api: A::API,
            inner: Arc::new(service),
        }
    }

    pub fn api(&self) -> Api {
        self.api
    }

    pub fn get<A: ApiSpec>(&self) -> Option<Arc<A::Service>> {
        if self.api != A::API {
            return None;
        }
        self.inner.downcast_ref::<Arc<A::Service>>().cloned()
    }
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Export({})", self.api)
    }
}

/// The APIs a provider or service depends on, as their services export them.
#[derive(Clone, Default, Debug)]
pub struct Deps(BTreeMap<Api, Export>);

impl Deps {
    pub fn insert(&mut self, export: Export) {
        self.0.insert(export.api, export);
    }

    pub fn get<A: ApiSpec>(&self) -> Option<Arc<A::Service>> {
        self.0.get(&A::API).and_then(Export::get::<A>)
    }

    /// Like [`Deps::get`], for a dependency the descriptor declared as required.
    pub fn require<A: ApiSpec>(&self) -> Result<Arc<A::Service>> {
        self.get::<A>().ok_or_else(|| {
            Error::internal(format!(
                "required dependency on the {} API is missing",
                A::API
            ))
        })
    }
}

/// Everything a provider's build function gets.
#[derive(Clone)]
pub struct BuildContext {
    pub provider_id: String,
    pub config: Value,
    pub deps: Deps,
    pub stores: Arc<dyn StoreResolver>,
    /// Supervises the provider's background work (sweepers, refreshers).
    pub tasks: Tasks,
    /// The layers the registry wraps around this provider's calls.
    pub calls: CallStack,
    /// Which hosts the provider may connect to when a client chooses the URL (run.yaml
    /// `server.outbound`); [`BuildContext::new`] allows every host.
    pub outbound: Arc<OutboundPolicy>,
}

impl BuildContext {
    /// A context with no dependencies, no call layers and its own task supervisor.
    pub fn new(
        api: Api,
        provider_id: impl Into<String>,
        config: Value,
        stores: Arc<dyn StoreResolver>,
    ) -> Self {
        let provider_id = provider_id.into();
        BuildContext {
            calls: CallStack::empty(api, &provider_id),
            provider_id,
            config,
            deps: Deps::default(),
            stores,
            tasks: Tasks::new(),
            outbound: Arc::new(OutboundPolicy::permissive()),
        }
    }
}

/// A provider's typed config.
pub trait ProviderConfig: DeserializeOwned + Serialize {
    /// Checks what serde cannot, without I/O.
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// What the call layers should enforce for this provider.
    fn policy(&self) -> CallPolicy {
        CallPolicy::default()
    }
}

/// Deserializes a config, naming the path of the first bad field.
pub fn parse_config<C: ProviderConfig>(config: &Value) -> Result<C> {
    let config = if config.is_null() {
        Value::Object(Default::default())
    } else {
        config.clone()
    };
    let parsed: C = serde_path_to_error::deserialize(config).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            Error::invalid(format!("config: {inner}"))
        } else {
            Error::invalid(format!("config.{path}: {inner}"))
        }
    })?;
    parsed.validate()?;
    Ok(parsed)
}

/// [`ProviderDescriptor::check_config`] for a typed config.
pub fn check_config<C: ProviderConfig>(config: &Value) -> Result<Value> {
    let parsed: C = parse_config(config)?;
    Ok(serde_json::to_value(parsed)?)
}

/// [`ProviderDescriptor::policy`] for a typed config.
pub fn config_policy<C: ProviderConfig>(config: &Value) -> Result<CallPolicy> {
    parse_config::<C>(config).map(|c| c.policy())
}

/// Builds a provider of `A` with its typed config and wraps it in its layers: the body of
/// every `register_provider!`. `build` must produce `Arc<A::Provider>`, so a provider
/// registered under the wrong API does not compile.
pub async fn build_typed<A, C, F, Fut>(ctx: BuildContext, build: F) -> Result<ProviderInstance>
where
    A: ApiSpec,
    C: ProviderConfig,
    F: FnOnce(BuildContext, C) -> Fut,
    Fut: std::future::Future<Output = Result<Arc<A::Provider>>>,
{
    let config: C = parse_config(&ctx.config)?;
    let calls = ctx.calls.clone();
    let provider = build(ctx, config).await?;
    Ok(ProviderInstance::new::<A>(A::layer(provider, &calls)))
}

/// The registration every API crate's `register_provider!` expands to; use the API crate's
/// macro, which names the API for you:
///
/// ```ignore
/// lls_api_inference::register_provider! {
///     provider_type: "remote::openai",
///     description: "OpenAI and OpenAI-compatible endpoints",
///     sample_config: "base_url: https://api.openai.com/v1\napi_key: ${env.OPENAI_API_KEY:=}\n",
///     config: OpenAiConfig,
///     build: OpenAiProvider::build,   // async fn(BuildContext, OpenAiConfig) -> Result<Arc<dyn InferenceProvider>>
/// }
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __register_provider {
    (
        spec: $spec:ty,
        provider_type: $provider_type:expr,
        description: $description:expr,
        sample_config: $sample:expr,
        config: $config:ty,
        $(deps: [$($dep:ty),* $(,)?],)?
        $(optional_deps: [$($odep:ty),* $(,)?],)?
        build: $build:path $(,)?
    ) => {
        $crate::inventory::submit! {
            $crate::ProviderDescriptor {
                api: <$spec as $crate::ApiSpec>::API,
                provider_type: $provider_type,
                description: $description,
                sample_config: $sample,
                api_dependencies: &[$($(<$dep as $crate::ApiSpec>::API),*)?],
                optional_api_dependencies: &[$($(<$odep as $crate::ApiSpec>::API),*)?],
                check_config: $crate::provider::check_config::<$config>,
                policy: $crate::provider::config_policy::<$config>,
                build: |ctx| ::std::boxed::Box::pin($crate::provider::build_typed::<$spec, $config, _, _>(ctx, $build)),
            }
        }
    };
}

/// A provider's answer to a health check, as `/v1/providers` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct HealthStatus {
    pub status: HealthState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub enum HealthState {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "Error")]
    Error,
    #[serde(rename = "Not Implemented")]
    NotImplemented,
}

impl HealthStatus {
    pub fn ok() -> Self {
        HealthStatus {
            status: HealthState::Ok,
            message: None,
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        HealthStatus {
            status: HealthState::Error,
            message: Some(message.into()),
        }
    }

    pub fn not_implemented() -> Self {
        HealthStatus {
            status: HealthState::NotImplemented,
            message: Some("Provider does not implement health check".into()),
        }
    }
}
