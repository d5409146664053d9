//! What an [`crate::OpenAiCompatClient`] is built from: where the backend lives, how to
//! authenticate, TLS and timeouts. Providers translate their run.yaml config into this.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::{Error, Result, Secret};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::HttpFailure;

/// How the key goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyHeader {
    /// `Authorization: Bearer <key>` (OpenAI and most OpenAI-like backends).
    #[default]
    Bearer,
    /// The key alone in a header of this name (Azure OpenAI's `api-key`).
    Named(&'static str),
}

/// Short-lived bearer tokens a provider obtains itself (OAuth2 access tokens: Google's
/// service-account flow, the metadata server); the source caches and refreshes them.
#[async_trait]
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// A token valid for at least the next request.
    async fn token(&self) -> Result<Secret>;
}

/// A vendor's own reading of an error answer, tried before the generic table of
/// [`crate::error`]; `None` leaves the answer to it.
pub type ErrorHook = fn(&HttpFailure<'_>) -> Option<Error>;

/// Settings of one client; [`ClientConfig::new`] fills the defaults.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The run.yaml provider id, named in every error this client returns.
    pub provider_id: String,
    /// The OpenAI-compatible base, e.g. `https://api.openai.com/v1`; paths are appended to it.
    pub base_url: String,
    /// Sent as `Authorization: Bearer ...` unless the request's provider data carries a key.
    pub api_key: Option<Secret>,
    /// The provider-data field (e.g. `openai_api_key`) whose non-empty value overrides `api_key`.
    pub provider_data_key: Option<&'static str>,
    /// Where the key is sent (a bearer token unless the vendor names its own header).
    pub key_header: KeyHeader,
    /// Tokens fetched by the provider, sent when neither provider data nor `api_key` gives a key.
    pub token_source: Option<Arc<dyn TokenSource>>,
    /// The vendor's reading of error answers, before the generic one.
    pub error_hook: Option<ErrorHook>,
    /// Headers sent with every request.
    pub default_headers: BTreeMap<String, String>,
    pub tls_verify: TlsVerify,
    /// The longest the backend may stay silent (before the response head, or between body
    /// chunks) before the call fails with a timeout. Like the OpenAI SDK's read timeout, it does
    /// not bound a long stream that keeps producing.
    pub read_timeout: Duration,
    /// The longest a TCP/TLS connect may take.
    pub connect_timeout: Duration,
}

impl ClientConfig {
    /// The OpenAI SDK's defaults: 600 s read timeout, 5 s connect timeout, TLS verified.
    pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(600);
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

    pub fn new(provider_id: impl Into<String>, base_url: impl Into<String>) -> Self {
        ClientConfig {
            provider_id: provider_id.into(),
            base_url: base_url.into(),
            api_key: None,
            provider_data_key: None,
            key_header: KeyHeader::default(),
            token_source: None,
            error_hook: None,
            default_headers: BTreeMap::new(),
            tls_verify: TlsVerify::default(),
            read_timeout: Self::DEFAULT_READ_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// Applies a provider's configured timeouts.
    pub fn with_timeouts(mut self, timeouts: &HttpTimeouts) -> Self {
        self.connect_timeout = seconds(timeouts.connect_timeout);
        self.read_timeout = seconds(timeouts.read_timeout);
        self
    }
}

/// The HTTP timeouts of an OpenAI-like provider, in seconds: flattened into its run.yaml
/// `config:` (`connect_timeout`, `read_timeout`, `timeout`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpTimeouts {
    /// The longest a TCP (and TLS) connect to the backend may take.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: f64,
    /// The longest the backend may stay silent: before the answer's head, or between two reads
    /// of its body (a stream that keeps producing is never cut by it).
    #[serde(default = "default_read_timeout")]
    pub read_timeout: f64,
    /// The longest a whole call may take — up to the whole answer, or a stream's start —
    /// before it fails with a 504 naming the provider. Unset: the server's default (600 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
}

fn default_connect_timeout() -> f64 {
    ClientConfig::DEFAULT_CONNECT_TIMEOUT.as_secs_f64()
}

fn default_read_timeout() -> f64 {
    ClientConfig::DEFAULT_READ_TIMEOUT.as_secs_f64()
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts { connect_timeout: default_connect_timeout(), read_timeout: default_read_timeout(), timeout: None }
    }
}

impl HttpTimeouts {
    /// Each timeout is a positive number of seconds (at most a day).
    pub fn validate(&self) -> Result<()> {
        let fields = [("connect_timeout", Some(self.connect_timeout)), ("read_timeout", Some(self.read_timeout)), ("timeout", self.timeout)];
        for (name, value) in fields {
            if let Some(v) = value
                && !(v.is_finite() && v > 0.0 && v <= 86_400.0)
            {
                return Err(Error::invalid(format!("config.{name}: {v} is not a number of seconds between 0 and 86400"))
                    .with_param(name));
            }
        }
        Ok(())
    }

    /// What the call layers bound each call by (`ProviderConfig::policy`'s `timeout`).
    pub fn call_timeout(&self) -> Option<Duration> {
        self.timeout.map(seconds)
    }
}

fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::from_secs(86_400))
}

/// run.yaml's `tls_verify`: `true`/`false`, or the path of a PEM CA bundle to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsVerify {
    Enabled(bool),
    CaBundle(PathBuf),
}

impl Default for TlsVerify {
    fn default() -> Self {
        TlsVerify::Enabled(true)
    }
}

impl TlsVerify {
    /// Checks what needs no I/O: a CA bundle path must not be empty.
    pub fn validate(&self) -> Result<()> {
        match self {
            TlsVerify::CaBundle(p) if p.as_os_str().is_empty() => {
                Err(Error::invalid("tls_verify: a CA bundle path must not be empty"))
            }
            _ => Ok(()),
        }
    }
}

impl Serialize for TlsVerify {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            TlsVerify::Enabled(b) => s.serialize_bool(*b),
            TlsVerify::CaBundle(p) => s.serialize_str(&p.to_string_lossy()),
        }
    }
}

impl<'de> Deserialize<'de> for TlsVerify {
    /// Accepts a bool, or a string: `"true"`/`"false"` (env expansion may leave them as text)
    /// or a path.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Bool(b) => TlsVerify::Enabled(b),
            Raw::Text(t) if t.eq_ignore_ascii_case("true") => TlsVerify::Enabled(true),
            Raw::Text(t) if t.eq_ignore_ascii_case("false") => TlsVerify::Enabled(false),
            Raw::Text(t) => TlsVerify::CaBundle(PathBuf::from(t)),
        })
    }
}

/// `deserialize_with` for an optional key in a provider config: env coercion turns
/// `VLLM_API_TOKEN=1234` into an integer and `true` into a boolean; both are read back as text.
pub fn optional_secret<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Secret>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(serde_json::Number),
        Bool(bool),
    }
    Ok(Option::<Raw>::deserialize(d)?.map(|raw| match raw {
        Raw::Text(t) => Secret::new(t),
        Raw::Number(n) => Secret::new(n.to_string()),
        Raw::Bool(b) => Secret::new(b.to_string()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timeouts_default_and_validate() {
        let t: HttpTimeouts = serde_json::from_value(json!({})).unwrap();
        assert_eq!(t, HttpTimeouts::default());
        assert_eq!((t.connect_timeout, t.read_timeout, t.call_timeout()), (5.0, 600.0, None));
        let t: HttpTimeouts = serde_json::from_value(json!({"connect_timeout": 1, "read_timeout": 2.5, "timeout": 30})).unwrap();
        assert_eq!(t.call_timeout(), Some(Duration::from_secs(30)));
        let client = ClientConfig::new("p", "http://h").with_timeouts(&t);
        assert_eq!((client.connect_timeout, client.read_timeout), (Duration::from_secs(1), Duration::from_millis(2500)));
        for bad in [json!({"timeout": 0}), json!({"read_timeout": -1}), json!({"connect_timeout": 1e9})] {
            let t: HttpTimeouts = serde_json::from_value(bad.clone()).unwrap();
            assert!(t.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn tls_verify_forms() {
        let parse = |v| serde_json::from_value::<TlsVerify>(v).unwrap();
        assert_eq!(parse(json!(true)), TlsVerify::Enabled(true));
        assert_eq!(parse(json!("False")), TlsVerify::Enabled(false));
        assert_eq!(parse(json!("/etc/ca.pem")), TlsVerify::CaBundle("/etc/ca.pem".into()));
        assert!(parse(json!("")).validate().is_err());
        assert_eq!(serde_json::to_value(TlsVerify::CaBundle("/x".into())).unwrap(), json!("/x"));
        assert!(serde_json::from_value::<TlsVerify>(json!(3)).is_err());
    }

    #[test]
    fn secrets_coerced_by_env_expansion_read_back_as_text() {
        #[derive(Deserialize)]
        struct C {
            #[serde(default, deserialize_with = "optional_secret")]
            key: Option<Secret>,
        }
        let read = |v| serde_json::from_value::<C>(v).unwrap().key.map(|s| s.expose().to_owned());
        assert_eq!(read(json!({"key": 1234})), Some("1234".into()));
        assert_eq!(read(json!({"key": "sk"})), Some("sk".into()));
        assert_eq!(read(json!({"key": null})), None);
        assert_eq!(read(json!({})), None);
        assert!(serde_json::from_value::<C>(json!({"key": [1]})).is_err());
    }
}
