//! `server:`: 0.3.5's keys (port, host, TLS, CORS, ...) plus llama-stack-rs's connection limits
//! (timeouts, connection cap, shutdown grace). Unknown keys are refused, so a typo is never ignored.

use std::time::Duration;

use lls_api_common::OutboundPolicy;
use lls_api_common::store::KvStoreRef;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::scalar;

/// `server.port` when run.yaml sets none.
pub const DEFAULT_SERVER_PORT: u16 = 8321;

/// `server:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_port", deserialize_with = "scalar::port")]
    pub port: u16,
    /// The CLI listens on 0.0.0.0 when unset.
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub tls_certfile: Option<String>,
    #[serde(default)]
    pub tls_keyfile: Option<String>,
    /// Turns on mutual TLS: clients must present a certificate signed by this CA.
    #[serde(default)]
    pub tls_cafile: Option<String>,
    /// `{provider_config, access_policy}`, kept raw here and read by [`ServerConfig::auth`].
    #[serde(default)]
    pub auth: Option<Value>,
    /// Per-client request counts in a kv store, per fixed window (the edge's quota layer).
    #[serde(default)]
    pub quota: Option<QuotaConfig>,
    /// `true` (0.3.5's development policy) or a CORS object.
    #[serde(default, deserialize_with = "cors_setting")]
    pub cors: Option<CorsSetting>,
    /// uvicorn's process count in 0.3.5; only 1 is accepted (one process serves every core).
    #[serde(default = "default_workers")]
    pub workers: u32,
    /// llama-stack-rs: seconds a client has to send a whole request head once it starts one,
    /// and to send a first request on a new connection (slowloris).
    #[serde(default = "defaults::header_read", deserialize_with = "seconds")]
    pub header_read_timeout_s: f64,
    /// llama-stack-rs: seconds an idle keep-alive connection stays open between requests.
    #[serde(default = "defaults::keepalive", deserialize_with = "seconds")]
    pub keepalive_timeout_s: f64,
    /// llama-stack-rs: seconds a request body may go without a byte arriving (unfinished bodies).
    #[serde(default = "defaults::body_read", deserialize_with = "seconds")]
    pub request_body_timeout_s: f64,
    /// llama-stack-rs: open connections at most; past it, idle ones are closed to make room.
    #[serde(default = "defaults::max_connections", deserialize_with = "count")]
    pub max_connections: u64,
    /// llama-stack-rs: seconds in-flight requests and streams get to finish after SIGTERM/SIGINT.
    #[serde(default = "defaults::grace", deserialize_with = "seconds")]
    pub shutdown_grace_period_s: f64,
    /// llama-stack-rs: which hosts providers may connect to when a client chooses the URL (MCP
    /// tool groups); absent, link-local addresses and metadata endpoints are refused.
    #[serde(default)]
    pub outbound: Option<OutboundConfig>,
}

/// `server.outbound` (llama-stack-rs): see [`OutboundPolicy`] for the grammar and semantics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundConfig {
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    #[serde(default)]
    pub deny_hosts: Vec<String>,
    #[serde(default)]
    pub allow_link_local: bool,
}

impl OutboundConfig {
    /// The policy; an error names the bad entry (`deny_hosts[2]: ...`), validation reports it.
    pub fn policy(&self) -> Result<OutboundPolicy, String> {
        OutboundPolicy::new(&self.allow_hosts, &self.deny_hosts, self.allow_link_local)
    }
}

impl ServerConfig {
    /// `server.auth`, parsed (`None`: authentication off). Validation reports its errors.
    pub fn auth(&self) -> Result<Option<crate::AuthConfig>, crate::ConfigErrors> {
        crate::parse_auth(self.auth.as_ref())
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: DEFAULT_SERVER_PORT,
            host: None,
            tls_certfile: None,
            tls_keyfile: None,
            tls_cafile: None,
            auth: None,
            quota: None,
            cors: None,
            workers: default_workers(),
            header_read_timeout_s: defaults::header_read(),
            keepalive_timeout_s: defaults::keepalive(),
            request_body_timeout_s: defaults::body_read(),
            max_connections: defaults::max_connections(),
            shutdown_grace_period_s: defaults::grace(),
            outbound: None,
        }
    }
}

fn default_port() -> u16 {
    DEFAULT_SERVER_PORT
}

fn default_workers() -> u32 {
    1
}

mod defaults {
    pub(super) fn header_read() -> f64 {
        10.0
    }
    pub(super) fn keepalive() -> f64 {
        60.0
    }
    pub(super) fn body_read() -> f64 {
        30.0
    }
    pub(super) fn max_connections() -> u64 {
        1024
    }
    pub(super) fn grace() -> f64 {
        20.0
    }
}

/// Longest timeout or grace period accepted, in seconds (a day).
pub const MAX_SECONDS: f64 = 86_400.0;

/// The connection limits of `server:` as durations, for the server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub keepalive_timeout: Duration,
    pub request_body_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace_period: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ServerConfig::default().limits()
    }
}

impl ServerConfig {
    /// The outbound host policy (the default when `server.outbound` is absent); an error names
    /// the bad entry (`server.outbound.deny_hosts[2]: ...`).
    pub fn outbound_policy(&self) -> Result<OutboundPolicy, String> {
        match &self.outbound {
            Some(o) => o.policy().map_err(|e| format!("server.outbound.{e}")),
            None => Ok(OutboundPolicy::default()),
        }
    }

    pub fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: duration(self.header_read_timeout_s),
            keepalive_timeout: duration(self.keepalive_timeout_s),
            request_body_timeout: duration(self.request_body_timeout_s),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            shutdown_grace_period: duration(self.shutdown_grace_period_s),
        }
    }

    /// Each field with its name, for validation.
    pub(crate) fn seconds_fields(&self) -> [(&'static str, f64); 4] {
        [
            ("header_read_timeout_s", self.header_read_timeout_s),
            ("keepalive_timeout_s", self.keepalive_timeout_s),
            ("request_body_timeout_s", self.request_body_timeout_s),
            ("shutdown_grace_period_s", self.shutdown_grace_period_s),
        ]
    }
}

/// Validation keeps these finite and in range; clamping here keeps a bad value from panicking.
fn duration(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds.clamp(0.0, MAX_SECONDS)).unwrap_or(Duration::ZERO)
}

/// Seconds: a number, or a string holding one (env expansion may leave either).
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let value = Value::deserialize(d)?;
    let number = match &value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    number.ok_or_else(|| D::Error::custom(format!("invalid duration {value}: expected a number of seconds")))
}

fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(d)?;
    let number = match &value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    number.ok_or_else(|| D::Error::custom(format!("invalid count {value}: expected a non-negative integer")))
}

/// `server.quota`: 0.3.5's `QuotaConfig`. Requests are counted per client in `kvstore`, per fixed
/// window of `period`; the client is its authenticated principal (limit
/// `authenticated_max_requests`) or else its IP address (limit `anonymous_max_requests`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    pub kvstore: KvStoreRef,
    #[serde(default = "quota_defaults::anonymous", deserialize_with = "count")]
    pub anonymous_max_requests: u64,
    #[serde(default = "quota_defaults::authenticated", deserialize_with = "count")]
    pub authenticated_max_requests: u64,
    #[serde(default)]
    pub period: QuotaPeriod,
}

mod quota_defaults {
    pub(super) fn anonymous() -> u64 {
        100
    }
    pub(super) fn authenticated() -> u64 {
        1000
    }
}

/// A quota window. 0.3.5 has only `day`; `hour` and `minute` are llama-stack-rs extensions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaPeriod {
    #[default]
    Day,
    Hour,
    Minute,
}

impl QuotaPeriod {
    /// The window's length in seconds; windows start at multiples of it since the unix epoch.
    pub fn seconds(self) -> u64 {
        match self {
            QuotaPeriod::Day => 86_400,
            QuotaPeriod::Hour => 3_600,
            QuotaPeriod::Minute => 60,
        }
    }
}

/// `server.cors`: `true`, `false` or a policy object (0.3.5's `CORSConfig`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CorsSetting {
    Enabled(bool),
    Policy(CorsPolicy),
}

impl CorsSetting {
    /// The policy in force: `true` is 0.3.5's development policy (any `http(s)://localhost:PORT`
    /// origin; GET, POST, PUT, DELETE, OPTIONS; Content-Type, Authorization, X-Requested-With).
    pub fn policy(&self) -> Option<CorsPolicy> {
        match self {
            CorsSetting::Enabled(false) => None,
            CorsSetting::Enabled(true) => Some(CorsPolicy {
                allow_origins: Vec::new(),
                allow_origin_regex: Some(r"https?://localhost:\d+".to_owned()),
                allow_methods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"].map(String::from).to_vec(),
                allow_headers: ["Content-Type", "Authorization", "X-Requested-With"].map(String::from).to_vec(),
                ..CorsPolicy::default()
            }),
            CorsSetting::Policy(p) => Some(p.clone()),
        }
    }
}

/// 0.3.5's `CORSConfig`, with its defaults. `allow_origin_regex` must match a whole origin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsPolicy {
    #[serde(default)]
    pub allow_origins: Vec<String>,
    #[serde(default)]
    pub allow_origin_regex: Option<String>,
    #[serde(default = "default_cors_methods")]
    pub allow_methods: Vec<String>,
    #[serde(default)]
    pub allow_headers: Vec<String>,
    #[serde(default)]
    pub allow_credentials: bool,
    #[serde(default)]
    pub expose_headers: Vec<String>,
    #[serde(default = "default_max_age")]
    pub max_age: u64,
}

impl Default for CorsPolicy {
    fn default() -> Self {
        CorsPolicy {
            allow_origins: Vec::new(),
            allow_origin_regex: None,
            allow_methods: default_cors_methods(),
            allow_headers: Vec::new(),
            allow_credentials: false,
            expose_headers: Vec::new(),
            max_age: default_max_age(),
        }
    }
}

fn default_cors_methods() -> Vec<String> {
    vec!["OPTIONS".to_owned()]
}

fn default_max_age() -> u64 {
    600
}

fn cors_setting<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CorsSetting>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(CorsSetting::Enabled(b))),
        Value::String(s) if matches!(s.as_str(), "true" | "false") => Ok(Some(CorsSetting::Enabled(s == "true"))),
        object @ Value::Object(_) => serde_json::from_value(object).map(|p| Some(CorsSetting::Policy(p))).map_err(D::Error::custom),
        other => Err(D::Error::custom(format!(
            "invalid type: {}, expected true, false or a CORS map",
            scalar::kind(&other)
        ))),
    }
}

/// An HTTP token (RFC 9110 `tchar`s), what header names and methods must be.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
