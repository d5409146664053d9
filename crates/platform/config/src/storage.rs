//! run.yaml's `storage:` block: named backends (`kv_*` for key-value, `sql_*` for tables) and the
//! stack's own stores, which refer to a backend by name.

use std::collections::BTreeMap;
use std::fmt;

use lls_api_common::Secret;
use lls_api_common::store::{KvStoreRef, QueuedSqlStoreRef, SqlStoreRef};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigErrors;
use crate::parse;
use crate::scalar;

/// `storage: {backends, stores}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorageConfig {
    pub backends: BTreeMap<String, BackendConfig>,
    #[serde(default)]
    pub stores: StoresConfig,
}

impl StorageConfig {
    pub fn backend(&self, name: &str) -> Option<&BackendConfig> {
        self.backends.get(name)
    }

    /// Reads `storage` backend by backend, so that each error names the field at fault.
    pub(crate) fn parse(value: Value, path: &str, errors: &mut ConfigErrors) -> Option<Self> {
        let mut map = parse::object(value, path, errors)?;
        let backends = match parse::take(&mut map, "backends") {
            Some(value) => parse_backends(value, &parse::child(path, "backends"), errors),
            None => {
                errors.push(parse::child(path, "backends"), "required field is missing");
                BTreeMap::new()
            }
        };
        let stores = parse::take(&mut map, "stores")
            .and_then(|value| parse::at(value, &parse::child(path, "stores"), errors))
            .unwrap_or_default();
        Some(StorageConfig { backends, stores })
    }
}

fn parse_backends(
    value: Value,
    path: &str,
    errors: &mut ConfigErrors,
) -> BTreeMap<String, BackendConfig> {
    let Some(map) = parse::object(value, path, errors) else {
        return BTreeMap::new();
    };
    map.into_iter()
        .filter_map(|(name, value)| {
            let backend = BackendConfig::parse(value, &parse::child(path, &name), errors)?;
            Some((name, backend))
        })
        .collect()
}

/// The stack's own stores. `metadata` (the resource registry) is required by validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoresConfig {
    #[serde(default)]
    pub metadata: Option<KvStoreRef>,
    #[serde(default)]
    pub inference: Option<QueuedSqlStoreRef>,
    #[serde(default)]
    pub conversations: Option<SqlStoreRef>,
    #[serde(default)]
    pub responses: Option<QueuedSqlStoreRef>,
    #[serde(default)]
    pub prompts: Option<KvStoreRef>,
}

/// Which kind of store a backend can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendFamily {
    /// `kv_*`: key-value stores, referred to as `{backend, namespace}`.
    Kv,
    /// `sql_*`: table stores, referred to as `{backend, table_name}`.
    Sql,
}

impl fmt::Display for BackendFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendFamily::Kv => "kv_*",
            BackendFamily::Sql => "sql_*",
        })
    }
}

/// One named backend under `storage.backends`, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BackendConfig {
    #[serde(rename = "kv_sqlite")]
    KvSqlite(KvSqliteConfig),
    #[serde(rename = "kv_redis")]
    KvRedis(KvRedisConfig),
    #[serde(rename = "kv_postgres")]
    KvPostgres(KvPostgresConfig),
    #[serde(rename = "kv_mongodb")]
    KvMongoDb(KvMongoDbConfig),
    #[serde(rename = "sql_sqlite")]
    SqlSqlite(SqlSqliteConfig),
    #[serde(rename = "sql_postgres")]
    SqlPostgres(SqlPostgresConfig),
}

impl BackendConfig {
    pub const TYPES: &'static [&'static str] = &[
        "kv_sqlite",
        "kv_redis",
        "kv_postgres",
        "kv_mongodb",
        "sql_sqlite",
        "sql_postgres",
    ];

    /// The `type` tag, as run.yaml spells it.
    pub fn type_name(&self) -> &'static str {
        match self {
            BackendConfig::KvSqlite(_) => "kv_sqlite",
            BackendConfig::KvRedis(_) => "kv_redis",
            BackendConfig::KvPostgres(_) => "kv_postgres",
            BackendConfig::KvMongoDb(_) => "kv_mongodb",
            BackendConfig::SqlSqlite(_) => "sql_sqlite",
            BackendConfig::SqlPostgres(_) => "sql_postgres",
        }
    }

    pub fn family(&self) -> BackendFamily {
        match self {
            BackendConfig::KvSqlite(_)
            | BackendConfig::KvRedis(_)
            | BackendConfig::KvPostgres(_)
            | BackendConfig::KvMongoDb(_) => BackendFamily::Kv,
            BackendConfig::SqlSqlite(_) | BackendConfig::SqlPostgres(_) => BackendFamily::Sql,
        }
    }

    /// Whether `crates/storage` can open this backend: SQLite and PostgreSQL only, for now.
    /// Redis and MongoDB backends parse, so upstream files load, but validation rejects them.
    pub fn supported_by_this_build(&self) -> bool {
        !matches!(
            self,
            BackendConfig::KvRedis(_) | BackendConfig::KvMongoDb(_)
        )
    }

    /// Reads the variant named by `type` directly, because serde's internally tagged enums lose
    /// the path of errors inside the variant.
    pub(crate) fn parse(value: Value, path: &str, errors: &mut ConfigErrors) -> Option<Self> {
        let mut map = parse::object(value, path, errors)?;
        let type_path = parse::child(path, "type");
        let tag = match map.shift_remove("type") {
            Some(Value::String(tag)) => tag,
            Some(other) => {
                errors.push(
                    type_path,
                    format!("invalid type: {}, expected a string", scalar::kind(&other)),
                );
                return None;
            }
            None => {
                errors.push(
                    path,
                    format!("missing field `type` (one of {})", Self::TYPES.join(", ")),
                );
                return None;
            }
        };
        match tag.as_str() {
            "kv_sqlite" => variant(map, path, errors).map(BackendConfig::KvSqlite),
            "kv_redis" => variant(map, path, errors).map(BackendConfig::KvRedis),
            "kv_postgres" => variant(map, path, errors).map(BackendConfig::KvPostgres),
            "kv_mongodb" => variant(map, path, errors).map(BackendConfig::KvMongoDb),
            "sql_sqlite" => variant(map, path, errors).map(BackendConfig::SqlSqlite),
            "sql_postgres" => variant(map, path, errors).map(BackendConfig::SqlPostgres),
            other => {
                errors.push(
                    type_path,
                    format!(
                        "unknown backend type `{other}`, expected one of {}",
                        Self::TYPES.join(", ")
                    ),
                );
                None
            }
        }
    }
}

fn variant<T: DeserializeOwned>(
    map: Map<String, Value>,
    path: &str,
    errors: &mut ConfigErrors,
) -> Option<T> {
    parse::at(Value::Object(map), path, errors)
}

/// `kv_sqlite`: one SQLite file. As upstream, `namespace` is accepted but not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvSqliteConfig {
    pub db_path: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// `kv_redis`: keys are stored as `{namespace}:{key}`. Parsed; this build cannot open it yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvRedisConfig {
    #[serde(default = "localhost")]
    pub host: String,
    #[serde(default = "redis_port", deserialize_with = "scalar::port")]
    pub port: u16,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// `kv_postgres`: one key-value table in a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvPostgresConfig {
    #[serde(default = "localhost")]
    pub host: String,
    #[serde(default = "postgres_port", deserialize_with = "scalar::port")]
    pub port: u16,
    #[serde(default = "default_db", deserialize_with = "scalar::text")]
    pub db: String,
    #[serde(deserialize_with = "scalar::text")]
    pub user: String,
    #[serde(default, deserialize_with = "scalar::opt_secret")]
    pub password: Option<Secret>,
    #[serde(default)]
    pub ssl_mode: Option<String>,
    #[serde(default)]
    pub ca_cert_path: Option<String>,
    #[serde(default = "default_kv_table")]
    pub table_name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// `kv_mongodb`: read so the file parses; this build cannot open it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvMongoDbConfig {
    #[serde(default = "localhost")]
    pub host: String,
    #[serde(default = "mongodb_port", deserialize_with = "scalar::port")]
    pub port: u16,
    #[serde(default = "default_db", deserialize_with = "scalar::text")]
    pub db: String,
    #[serde(default, deserialize_with = "scalar::opt_text")]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "scalar::opt_secret")]
    pub password: Option<Secret>,
    #[serde(default = "default_kv_table")]
    pub collection_name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// `sql_sqlite`: one SQLite file holding the tables of every store that names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlSqliteConfig {
    pub db_path: String,
}

/// `sql_postgres`: tables in a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlPostgresConfig {
    #[serde(default = "localhost")]
    pub host: String,
    #[serde(default = "postgres_port", deserialize_with = "scalar::port")]
    pub port: u16,
    #[serde(default = "default_db", deserialize_with = "scalar::text")]
    pub db: String,
    #[serde(deserialize_with = "scalar::text")]
    pub user: String,
    #[serde(default, deserialize_with = "scalar::opt_secret")]
    pub password: Option<Secret>,
}

fn localhost() -> String {
    "localhost".to_owned()
}

fn default_db() -> String {
    "llamastack".to_owned()
}

fn default_kv_table() -> String {
    "llamastack_kvstore".to_owned()
}

fn redis_port() -> u16 {
    6379
}

fn postgres_port() -> u16 {
    5432
}

fn mongodb_port() -> u16 {
    27017
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn storage(value: Value) -> Result<StorageConfig, ConfigErrors> {
        let mut errors = ConfigErrors::new();
        let parsed = StorageConfig::parse(value, "storage", &mut errors);
        match parsed {
            Some(storage) if errors.is_empty() => Ok(storage),
            _ => Err(errors),
        }
    }

    #[test]
    fn backends_get_their_defaults() {
        let s = storage(json!({
            "backends": {
                "kv": { "type": "kv_sqlite", "db_path": "/tmp/kv.db" },
                "redis": { "type": "kv_redis" },
                "pg": { "type": "kv_postgres", "user": "me", "password": "pw" },
                "mongo": { "type": "kv_mongodb" },
                "sql": { "type": "sql_sqlite", "db_path": "/tmp/sql.db" },
                "sqlpg": { "type": "sql_postgres", "user": 1000, "port": "6543" },
            },
        }))
        .unwrap();
        assert_eq!(s.stores, StoresConfig::default());
        assert_eq!(
            s.backend("redis"),
            Some(&BackendConfig::KvRedis(KvRedisConfig {
                host: "localhost".into(),
                port: 6379,
                namespace: None
            }))
        );
        let Some(BackendConfig::KvPostgres(pg)) = s.backend("pg") else {
            unreachable!()
        };
        assert_eq!(
            (pg.host.as_str(), pg.port, pg.db.as_str()),
            ("localhost", 5432, "llamastack")
        );
        assert_eq!(pg.table_name, "llamastack_kvstore");
        assert_eq!(pg.password.as_ref().map(Secret::expose), Some("pw"));
        let Some(BackendConfig::KvMongoDb(mongo)) = s.backend("mongo") else {
            unreachable!()
        };
        assert_eq!(
            (mongo.port, mongo.collection_name.as_str()),
            (27017, "llamastack_kvstore")
        );
        let Some(BackendConfig::SqlPostgres(sqlpg)) = s.backend("sqlpg") else {
            unreachable!()
        };
        assert_eq!((sqlpg.user.as_str(), sqlpg.port), ("1000", 6543));
        assert_eq!(
            s.backend("sql").map(BackendConfig::family),
            Some(BackendFamily::Sql)
        );
        assert_eq!(
            s.backend("kv").map(BackendConfig::type_name),
            Some("kv_sqlite")
        );
    }

    #[test]
    fn stores_are_read_with_queue_defaults() {
        let s = storage(json!({
            "backends": { "sql": { "type": "sql_sqlite", "db_path": "x" } },
            "stores": {
                "metadata": { "backend": "kv", "namespace": "registry" },
                "inference": { "backend": "sql", "table_name": "inference_store" },
                "conversations": { "backend": "sql", "table_name": "openai_conversations" },
            },
        }))
        .unwrap();
        let inference = s.stores.inference.unwrap();
        assert_eq!(
            (inference.max_write_queue_size, inference.num_writers),
            (10_000, 4)
        );
        assert_eq!(s.stores.metadata.unwrap().namespace, "registry");
        assert!(s.stores.responses.is_none());
    }

    #[test]
    fn every_bad_backend_is_reported_with_its_field() {
        let errors = storage(json!({
            "backends": {
                "a": { "type": "kv_sqlite" },
                "b": { "type": "kv_postgres", "user": "u", "port": "many" },
                "c": { "type": "kv_etcd" },
                "d": { "db_path": "x" },
                "e": "kv_sqlite",
            },
        }))
        .unwrap_err();
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert_eq!(lines[0], "storage.backends.a: missing field `db_path`");
        assert!(
            lines[1].starts_with("storage.backends.b.port: invalid port \"many\""),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("storage.backends.c.type: unknown backend type `kv_etcd`"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].starts_with("storage.backends.d: missing field `type`"),
            "{}",
            lines[3]
        );
        assert_eq!(
            lines[4],
            "storage.backends.e: invalid type: string, expected a map"
        );
    }

    #[test]
    fn missing_backends_and_bad_store_refs_are_reported() {
        let errors = storage(json!({ "stores": { "metadata": { "backend": "kv" } } })).unwrap_err();
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "storage.backends: required field is missing",
                "storage.stores.metadata: missing field `namespace`"
            ]
        );
    }

    #[test]
    fn serde_form_round_trips_with_secrets_redacted() {
        let backend = BackendConfig::SqlPostgres(SqlPostgresConfig {
            host: "h".into(),
            port: 1,
            db: "d".into(),
            user: "u".into(),
            password: Some(Secret::new("hunter2")),
        });
        let value = serde_json::to_value(&backend).unwrap();
        assert_eq!(
            value,
            json!({ "type": "sql_postgres", "host": "h", "port": 1, "db": "d", "user": "u", "password": "********" })
        );
        let back: BackendConfig = serde_json::from_value(value).unwrap();
        assert_eq!(back.type_name(), "sql_postgres");
    }
}
