//! `remote::pgvector` config, as upstream 0.3.5 spells it in run.yaml (`host`, `port`, `db`,
//! `user`, `password`, `persistence`), plus the distance metric and HNSW parameters.

use lls_api_common::store::KvStoreRef;
use lls_api_common::{Error, ProviderConfig, Result};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The default `hnsw_ef_search`: recall@10 ≥ 0.95 at 100k × 384 in `cargo xtask bench rag`
/// (see the README's RAG section for the curve).
pub const DEFAULT_HNSW_EF_SEARCH: u32 = 500;
/// The default `hnsw_min_chunks`: an exact scan of this many 384-d rows takes ~8 ms.
pub const DEFAULT_HNSW_MIN_CHUNKS: u64 = 10_000;

/// How vectors are compared (the HNSW operator class and the `ORDER BY` operator).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistanceMetric {
    /// `<=>`, `vector_cosine_ops` (0.3.5's default).
    #[default]
    #[serde(alias = "COSINE")]
    Cosine,
    /// `<->`, `vector_l2_ops`.
    #[serde(alias = "L2")]
    L2,
    /// `<#>` (negative inner product), `vector_ip_ops`.
    #[serde(alias = "INNER_PRODUCT")]
    InnerProduct,
}

/// run.yaml `config:` of a `remote::pgvector` provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgVectorConfig {
    /// `null` (an unset `${env.…}`) means the default, as in 0.3.5.
    #[serde(default = "default_host", deserialize_with = "text_or_default_host")]
    pub host: String,
    #[serde(default = "default_port", deserialize_with = "port")]
    pub port: u16,
    #[serde(default = "default_db", deserialize_with = "text_or_default_db")]
    pub db: String,
    #[serde(default = "default_user", deserialize_with = "text_or_default_user")]
    pub user: String,
    /// 0.3.5's default when absent is `mysecretpassword` (kept so its run.yaml files work
    /// unchanged); `null` (an unset `${env.PGVECTOR_PASSWORD}`) or empty means no password.
    #[serde(default = "default_password", deserialize_with = "optional_text")]
    pub password: Option<String>,
    /// Accepted for run.yaml compatibility with 0.3.5, which kept its store registry there; this
    /// provider keeps the registry in PostgreSQL beside the chunks, so every replica sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<KvStoreRef>,
    #[serde(default)]
    pub distance_metric: DistanceMetric,
    /// HNSW graph degree (`m`).
    #[serde(default = "default_hnsw_m")]
    pub hnsw_m: u32,
    /// HNSW build breadth (`ef_construction`).
    #[serde(default = "default_hnsw_ef_construction")]
    pub hnsw_ef_construction: u32,
    /// HNSW search breadth (`hnsw.ef_search`); raised to `k` for larger queries.
    #[serde(default = "default_hnsw_ef_search")]
    pub hnsw_ef_search: u32,
    /// A store gets its HNSW index once it holds this many chunks (built in one pass, in the
    /// background, once no bulk write has come for 2 s or ten times this many are waiting);
    /// smaller stores are searched exactly. Later bulk writes wait outside the index the same
    /// way (searched exactly) until the next build takes them in. 0: the index is created with
    /// the store and filled row by row.
    #[serde(default = "default_hnsw_min_chunks")]
    pub hnsw_min_chunks: u64,
}

fn default_host() -> String {
    "localhost".into()
}
fn default_port() -> u16 {
    5432
}
fn default_db() -> String {
    "postgres".into()
}
fn default_user() -> String {
    "postgres".into()
}
fn default_password() -> Option<String> {
    Some("mysecretpassword".into())
}
fn default_hnsw_m() -> u32 {
    16
}
fn default_hnsw_ef_construction() -> u32 {
    64
}
fn default_hnsw_ef_search() -> u32 {
    DEFAULT_HNSW_EF_SEARCH
}
fn default_hnsw_min_chunks() -> u64 {
    DEFAULT_HNSW_MIN_CHUNKS
}

/// A string, or a number that env substitution turned into one (`PGVECTOR_PASSWORD=1234`);
/// `None` for `null` or an empty string.
fn optional_text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(serde::de::Error::custom(format!("expected a string, got {other}"))),
    }
}

fn text_or_default_host<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(optional_text(d)?.unwrap_or_else(default_host))
}

fn text_or_default_db<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(optional_text(d)?.unwrap_or_else(default_db))
}

fn text_or_default_user<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(optional_text(d)?.unwrap_or_else(default_user))
}

/// A port as a number or as digits.
fn port<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u16, D::Error> {
    let v = Value::deserialize(d)?;
    let n = match &v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.and_then(|n| u16::try_from(n).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| serde::de::Error::custom(format!("expected a port number (1 to 65535), got {v}")))
}

impl PgVectorConfig {
    /// The connection URL (credentials percent-encoded).
    pub fn url(&self) -> String {
        let password = self.password.as_deref().map(|p| format!(":{}", encode(p))).unwrap_or_default();
        format!("postgres://{}{password}@{}:{}/{}", encode(&self.user), self.host, self.port, encode(&self.db))
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl ProviderConfig for PgVectorConfig {
    fn validate(&self) -> Result<()> {
        for (name, value) in [("host", &self.host), ("db", &self.db), ("user", &self.user)] {
            if value.trim().is_empty() {
                return Err(Error::invalid(format!("config.{name}: must not be empty")).with_param(name));
            }
        }
        if self.hnsw_m < 2 || self.hnsw_m > 100 {
            return Err(Error::invalid("config.hnsw_m: must be 2 to 100").with_param("hnsw_m"));
        }
        if self.hnsw_ef_construction < 2 * self.hnsw_m || self.hnsw_ef_construction > 1000 {
            return Err(Error::invalid("config.hnsw_ef_construction: must be at least 2 × hnsw_m and at most 1000")
                .with_param("hnsw_ef_construction"));
        }
        if !(1..=1000).contains(&self.hnsw_ef_search) {
            return Err(Error::invalid("config.hnsw_ef_search: must be 1 to 1000").with_param("hnsw_ef_search"));
        }
        lls_sql::postgres::connect_options(&self.url())
            .map(|_| ())
            .map_err(|e| Error::invalid(format!("config: not a usable PostgreSQL address: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use lls_api_common::provider::parse_config;
    use serde_json::json;

    use super::*;

    #[test]
    fn upstream_config_parses_with_env_retyped_values() {
        let c: PgVectorConfig = parse_config(&json!({
            "host": "db.example", "port": "6543", "db": "vectors", "user": "u", "password": 1234,
            "persistence": {"namespace": "vector_io::pgvector", "backend": "kv_default"},
        }))
        .unwrap();
        assert_eq!((c.port, c.password.as_deref()), (6543, Some("1234")));
        assert_eq!(c.distance_metric, DistanceMetric::Cosine);
        assert_eq!(c.url(), "postgres://u:1234@db.example:6543/vectors");
        let c: PgVectorConfig = parse_config(&json!({"password": "p@ss/w:rd", "distance_metric": "L2"})).unwrap();
        assert_eq!(c.url(), "postgres://postgres:p%40ss%2Fw%3Ard@localhost:5432/postgres");
        assert_eq!(c.distance_metric, DistanceMetric::L2);
        // Unset env values: defaults, and no password.
        let c: PgVectorConfig = parse_config(&json!({"host": null, "db": null, "password": null})).unwrap();
        assert_eq!(c.url(), "postgres://postgres@localhost:5432/postgres");
        assert_eq!(parse_config::<PgVectorConfig>(&json!({})).unwrap().password.as_deref(), Some("mysecretpassword"));
        let c = parse_config::<PgVectorConfig>(&json!({})).unwrap();
        assert_eq!((c.hnsw_ef_search, c.hnsw_min_chunks), (500, 10_000));
        assert_eq!(parse_config::<PgVectorConfig>(&json!({"hnsw_min_chunks": 0})).unwrap().hnsw_min_chunks, 0);
    }

    #[test]
    fn bad_values_are_refused_with_their_field() {
        assert!(parse_config::<PgVectorConfig>(&json!({"port": 0})).is_err());
        assert!(parse_config::<PgVectorConfig>(&json!({"port": "http"})).is_err());
        assert!(parse_config::<PgVectorConfig>(&json!({"hnsw_m": 1})).is_err());
        assert!(parse_config::<PgVectorConfig>(&json!({"host": " "})).is_err());
        assert!(parse_config::<PgVectorConfig>(&json!({"hosts": "x"})).is_err());
    }
}
