//! run.yaml for llama-stack-rs, in three pure stages: `${env.*}` expansion with upstream 0.3.5's
//! semantics ([`mod@env`]), typed parsing whose errors name their path ([`RunConfig`]), and validation
//! without I/O ([`RunConfig::validate`]). Each stage reports every problem it finds at once.
//!
//! ```
//! use lls_config::RunConfig;
//!
//! let yaml = "
//! image_name: demo
//! providers:
//!   inference:
//!   - provider_id: ${env.OLLAMA_URL:+ollama}
//!     provider_type: remote::ollama
//!     config: { url: '${env.OLLAMA_URL}' }
//! storage:
//!   backends: { kv: { type: kv_sqlite, db_path: /tmp/kv.db } }
//!   stores: { metadata: { backend: kv, namespace: registry } }
//! ";
//! let config = RunConfig::from_yaml_str(yaml, &|_| None)?;
//! assert!(config.provider_entries("inference").is_empty()); // OLLAMA_URL unset: disabled
//! config.validate()?;
//! # Ok::<(), lls_config::ConfigErrors>(())
//! ```

mod auth;
pub mod env;
mod error;
mod parse;
mod resources;
mod run_config;
mod scalar;
mod server;
mod storage;
mod switches;
mod validate;

pub use auth::{AuthConfig, parse_auth};
pub use env::{DISABLED_PROVIDER_ID, expand, process_env};
pub use error::{ConfigError, ConfigErrors};
pub use resources::{
    McpEndpoint, ModelInput, ModelType, RegisteredResources, ShieldInput, ToolGroupInput,
};
pub use run_config::{
    ProviderEntry, QualifiedModel, RUN_CONFIG_VERSION, RunConfig, TelemetryConfig,
    VectorStoresConfig, parse_yaml,
};
pub use server::{
    ConnectionLimits, CorsPolicy, CorsSetting, DEFAULT_SERVER_PORT, OutboundConfig, QuotaConfig, QuotaPeriod, ServerConfig,
};
pub use switches::SwitchedOff;
pub use storage::{
    BackendConfig, BackendFamily, KvMongoDbConfig, KvPostgresConfig, KvRedisConfig, KvSqliteConfig,
    SqlPostgresConfig, SqlSqliteConfig, StorageConfig, StoresConfig,
};
