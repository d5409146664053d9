//! Provider descriptors: what a provider crate submits to `inventory`, and what the registry
//! needs to check its config (no I/O) and build it (I/O) with its resolved dependencies.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::store::StoreResolver;
use crate::{Api, Error, Result};

/// One provider implementation, declared once by its crate with [`crate::register_provider!`].
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
    /// Builds the provider: may connect, open files, list models.
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

/// A built provider with its API trait erased; [`ProviderInstance::get`] recovers it.
#[derive(Clone)]
pub struct ProviderInstance(Arc<dyn Any + Send + Sync>);

impl ProviderInstance {
    /// Wraps `Arc<dyn SomeApi>`; `T` is the trait object type.
    pub fn new<T: ?Sized + Send + Sync + 'static>(inner: Arc<T>) -> Self {
        ProviderInstance(Arc::new(inner))
    }

    /// The provider as `Arc<dyn SomeApi>`, if that is what it is.
    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.0.downcast_ref::<Arc<T>>().cloned()
    }
}

impl std::fmt::Debug for ProviderInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProviderInstance")
    }
}

/// The APIs a provider depends on, already built (usually the routers).
#[derive(Clone, Default, Debug)]
pub struct Deps(BTreeMap<Api, ProviderInstance>);

impl Deps {
    pub fn insert(&mut self, api: Api, instance: ProviderInstance) {
        self.0.insert(api, instance);
    }

    pub fn get<T: ?Sized + Send + Sync + 'static>(&self, api: Api) -> Option<Arc<T>> {
        self.0.get(&api).and_then(ProviderInstance::get::<T>)
    }

    /// Like [`Deps::get`], for a dependency the descriptor declared as required.
    pub fn require<T: ?Sized + Send + Sync + 'static>(&self, api: Api) -> Result<Arc<T>> {
        self.get(api).ok_or_else(|| Error::internal(format!("required dependency on the {api} API is missing")))
    }
}

/// Everything a provider's build function gets.
#[derive(Clone)]
pub struct BuildContext {
    pub provider_id: String,
    pub config: Value,
    pub deps: Deps,
    pub stores: Arc<dyn StoreResolver>,
}

/// A provider's typed config.
pub trait ProviderConfig: DeserializeOwned + Serialize {
    /// Checks what serde cannot, without I/O.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Deserializes a config, naming the path of the first bad field.
pub fn parse_config<C: ProviderConfig>(config: &Value) -> Result<C> {
    let config = if config.is_null() { Value::Object(Default::default()) } else { config.clone() };
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

/// Declares a provider in one statement:
///
/// ```ignore
/// lls_api_common::register_provider! {
///     api: Api::Inference,
///     provider_type: "remote::openai",
///     description: "OpenAI and OpenAI-compatible endpoints",
///     sample_config: "base_url: https://api.openai.com/v1\napi_key: ${env.OPENAI_API_KEY:=}\n",
///     config: OpenAiConfig,
///     build: OpenAiProvider::build,   // async fn(BuildContext, OpenAiConfig) -> Result<Arc<dyn Inference>>
/// }
/// ```
#[macro_export]
macro_rules! register_provider {
    (
        api: $api:expr,
        provider_type: $provider_type:expr,
        description: $description:expr,
        sample_config: $sample:expr,
        config: $config:ty,
        $(deps: [$($dep:expr),* $(,)?],)?
        $(optional_deps: [$($odep:expr),* $(,)?],)?
        build: $build:path $(,)?
    ) => {
        $crate::inventory::submit! {
            $crate::ProviderDescriptor {
                api: $api,
                provider_type: $provider_type,
                description: $description,
                sample_config: $sample,
                api_dependencies: &[$($($dep),*)?],
                optional_api_dependencies: &[$($($odep),*)?],
                check_config: $crate::provider::check_config::<$config>,
                build: |ctx| ::std::boxed::Box::pin(async move {
                    let config: $config = $crate::provider::parse_config(&ctx.config)?;
                    let provider = $build(ctx, config).await?;
                    Ok($crate::ProviderInstance::new(provider))
                }),
            }
        }
    };
}

/// A provider's answer to a health check, as `/v1/providers` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct HealthStatus {
    pub status: HealthState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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
        HealthStatus { status: HealthState::Ok, message: None }
    }

    pub fn error(message: impl Into<String>) -> Self {
        HealthStatus { status: HealthState::Error, message: Some(message.into()) }
    }

    pub fn not_implemented() -> Self {
        HealthStatus {
            status: HealthState::NotImplemented,
            message: Some("Provider does not implement health check".into()),
        }
    }
}
