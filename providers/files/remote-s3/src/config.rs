//! `remote::s3` config, as upstream 0.3.5 spells it in run.yaml, plus the keys every files
//! provider here shares (`ttl_secs`, `max_file_size_bytes`) and two of its own (`key_prefix`,
//! `multipart_part_size_bytes`); checked without I/O (the bucket is looked at when the
//! provider is built).

use lls_api_common::store::SqlStoreRef;
use lls_api_common::{Error, ProviderConfig, Result, Secret};
use lls_files_catalog::{DEFAULT_MAX_FILE_SIZE_BYTES, DEFAULT_TTL_SECS, check_catalog_settings};
use serde::{Deserialize, Deserializer, Serialize};

/// The region when none is configured, as upstream.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Uploads that fit in one part go up in a single PUT; larger ones as a multipart upload of
/// parts this size (8 MiB: S3's minimum part is 5 MiB, its maximum part count 10,000).
pub const DEFAULT_PART_SIZE_BYTES: usize = 8 * 1024 * 1024;

/// S3's bounds on a part (the last part may be smaller).
pub const MIN_PART_SIZE_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_PART_SIZE_BYTES: usize = 5 * 1024 * 1024 * 1024;

/// run.yaml `config:` of a `remote::s3` files provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3FilesConfig {
    /// The bucket holding the bytes (`${env.S3_BUCKET_NAME:=}` unset reads as missing).
    #[serde(deserialize_with = "null_as_empty")]
    pub bucket_name: String,
    /// The bucket's region.
    #[serde(default = "default_region", deserialize_with = "null_as_default_region")]
    pub region: String,
    /// With `aws_secret_access_key`, the credentials; without both, the usual AWS chain
    /// (`AWS_*` env, web identity, ECS, instance metadata).
    #[serde(default)]
    pub aws_access_key_id: Option<String>,
    #[serde(default)]
    pub aws_secret_access_key: Option<Secret>,
    /// An S3-compatible endpoint (MinIO, moto, LocalStack, ...), addressed path-style; unset: AWS.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Create the bucket at startup when it does not exist; otherwise startup fails.
    #[serde(default)]
    pub auto_create_bucket: bool,
    /// The table of file metadata, inside a `sql_*` storage backend.
    pub metadata_store: SqlStoreRef,
    /// Object keys are `<key_prefix>/<file id>` (just the file id when empty, as upstream).
    #[serde(default)]
    pub key_prefix: String,
    /// Lifetime of a file uploaded without `expires_after`, in seconds.
    #[serde(default = "default_ttl")]
    pub ttl_secs: i64,
    /// Uploads larger than this are refused with 413.
    #[serde(default = "default_max_size")]
    pub max_file_size_bytes: u64,
    /// Part size of multipart uploads (and the largest upload sent in one PUT).
    #[serde(default = "default_part_size")]
    pub multipart_part_size_bytes: usize,
}

fn default_region() -> String {
    DEFAULT_REGION.to_owned()
}

fn default_ttl() -> i64 {
    DEFAULT_TTL_SECS
}

fn default_max_size() -> u64 {
    DEFAULT_MAX_FILE_SIZE_BYTES
}

fn default_part_size() -> usize {
    DEFAULT_PART_SIZE_BYTES
}

/// `null` (an unset `${env.X:=}`) reads as "".
fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// `null` (an unset `${env.AWS_DEFAULT_REGION:=}`) reads as the default region.
fn null_as_default_region<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|r| !r.is_empty()).unwrap_or_else(default_region))
}

impl S3FilesConfig {
    /// A config for `bucket` with metadata in table `files_metadata` of backend `sql_backend`.
    pub fn new(bucket: impl Into<String>, sql_backend: impl Into<String>) -> Self {
        S3FilesConfig {
            bucket_name: bucket.into(),
            region: default_region(),
            aws_access_key_id: None,
            aws_secret_access_key: None,
            endpoint_url: None,
            auto_create_bucket: false,
            metadata_store: SqlStoreRef { backend: sql_backend.into(), table_name: "files_metadata".into() },
            key_prefix: String::new(),
            ttl_secs: DEFAULT_TTL_SECS,
            max_file_size_bytes: DEFAULT_MAX_FILE_SIZE_BYTES,
            multipart_part_size_bytes: DEFAULT_PART_SIZE_BYTES,
        }
    }

    /// The endpoint, if one is configured ("" counts as none).
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint_url.as_deref().map(str::trim).filter(|e| !e.is_empty())
    }

    /// The configured key pair, if both halves are there ("" counts as absent).
    pub fn credentials(&self) -> Option<(&str, &str)> {
        let id = self.aws_access_key_id.as_deref().filter(|k| !k.is_empty())?;
        let secret = self.aws_secret_access_key.as_ref().map(Secret::expose).filter(|s| !s.is_empty())?;
        Some((id, secret))
    }

    /// The prefix without surrounding slashes.
    pub fn prefix(&self) -> &str {
        self.key_prefix.trim_matches('/')
    }
}

/// S3's bucket naming rules (3 to 63 of `a-z 0-9 . -`, starting and ending with a letter or
/// digit, no `..`), so a typo is a config error rather than a failed request at startup.
fn check_bucket_name(name: &str) -> Result<()> {
    let chars_ok = name.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'));
    let ends_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if name.is_empty() {
        return Err(Error::invalid("config.bucket_name: required (the S3 bucket holding the files; S3_BUCKET_NAME in the starter)")
            .with_param("bucket_name"));
    }
    if !(3..=63).contains(&name.len()) || !chars_ok || !ends_ok(name.bytes().next()) || !ends_ok(name.bytes().last()) || name.contains("..") {
        return Err(Error::invalid(format!(
            "config.bucket_name: '{name}' is not an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)"
        ))
        .with_param("bucket_name"));
    }
    Ok(())
}

fn check_key_prefix(prefix: &str) -> Result<()> {
    let segments_ok = prefix.is_empty() || prefix.split('/').all(|s| !s.is_empty() && s != "." && s != "..");
    let chars_ok = prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"/!-_.*'()".contains(&b));
    if !segments_ok || !chars_ok || prefix.len() > 512 {
        return Err(Error::invalid(format!(
            "config.key_prefix: '{prefix}' is not a key prefix (segments of letters, digits and !-_.*'() separated by single '/')"
        ))
        .with_param("key_prefix"));
    }
    Ok(())
}

impl ProviderConfig for S3FilesConfig {
    fn validate(&self) -> Result<()> {
        check_bucket_name(&self.bucket_name)?;
        if self.region.trim().is_empty() {
            return Err(Error::invalid("config.region: must not be empty (e.g. us-east-1)").with_param("region"));
        }
        if let Some(endpoint) = self.endpoint() {
            let host = endpoint.strip_prefix("http://").or_else(|| endpoint.strip_prefix("https://"));
            if host.is_none_or(|h| h.is_empty() || h.starts_with('/')) {
                return Err(Error::invalid(format!(
                    "config.endpoint_url: '{endpoint}' is not an http:// or https:// URL (e.g. http://localhost:9000)"
                ))
                .with_param("endpoint_url"));
            }
        }
        let has_id = self.aws_access_key_id.as_deref().is_some_and(|k| !k.is_empty());
        let has_secret = self.aws_secret_access_key.as_ref().is_some_and(|s| !s.expose().is_empty());
        if has_id != has_secret {
            let (set, missing) = if has_id { ("aws_access_key_id", "aws_secret_access_key") } else { ("aws_secret_access_key", "aws_access_key_id") };
            return Err(Error::invalid(format!("config.{missing}: required with {set} (set both, or neither to use the AWS credential chain)"))
                .with_param(missing));
        }
        check_key_prefix(self.prefix())?;
        if !(MIN_PART_SIZE_BYTES..=MAX_PART_SIZE_BYTES).contains(&self.multipart_part_size_bytes) {
            return Err(Error::invalid(format!(
                "config.multipart_part_size_bytes: must be between {MIN_PART_SIZE_BYTES} (5 MiB) and {MAX_PART_SIZE_BYTES} (5 GiB), S3's part sizes (got {})",
                self.multipart_part_size_bytes
            ))
            .with_param("multipart_part_size_bytes"));
        }
        check_catalog_settings(&self.metadata_store, self.ttl_secs, self.max_file_size_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::parse_config;
    use serde_json::json;

    fn store() -> serde_json::Value {
        json!({"table_name": "files_metadata", "backend": "sql_default"})
    }

    #[test]
    fn defaults_match_upstream() {
        let c: S3FilesConfig = parse_config(&json!({"bucket_name": "my-files", "metadata_store": store()})).unwrap();
        assert_eq!((c.region.as_str(), c.auto_create_bucket, c.endpoint(), c.credentials()), ("us-east-1", false, None, None));
        assert_eq!((c.ttl_secs, c.max_file_size_bytes, c.multipart_part_size_bytes), (31_536_000, 536_870_912, 8_388_608));
        assert_eq!(c.prefix(), "");
    }

    #[test]
    fn unset_env_values_read_as_absent() {
        // What `${env.X:=}` gives for unset variables.
        let c: S3FilesConfig = parse_config(&json!({
            "bucket_name": "b-1", "region": null, "aws_access_key_id": null, "aws_secret_access_key": null,
            "endpoint_url": null, "auto_create_bucket": false, "metadata_store": store()
        }))
        .unwrap();
        assert_eq!((c.region.as_str(), c.endpoint(), c.credentials()), ("us-east-1", None, None));
        let err = parse_config::<S3FilesConfig>(&json!({"bucket_name": null, "metadata_store": store()})).unwrap_err();
        assert!(err.message().contains("config.bucket_name: required"), "{}", err.message());
    }

    #[test]
    fn credentials_are_a_pair_and_the_secret_is_redacted() {
        let c: S3FilesConfig = parse_config(&json!({
            "bucket_name": "b-1", "aws_access_key_id": "AKIA1", "aws_secret_access_key": "s3cr3t",
            "endpoint_url": "http://127.0.0.1:9000", "metadata_store": store()
        }))
        .unwrap();
        assert_eq!(c.credentials(), Some(("AKIA1", "s3cr3t")));
        assert_eq!(c.endpoint(), Some("http://127.0.0.1:9000"));
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(!serde_json::to_string(&c).unwrap().contains("s3cr3t"));
        for (half, missing) in [("aws_access_key_id", "aws_secret_access_key"), ("aws_secret_access_key", "aws_access_key_id")] {
            let err = parse_config::<S3FilesConfig>(&json!({"bucket_name": "b-1", half: "x", "metadata_store": store()})).unwrap_err();
            assert_eq!(err.param(), Some(missing), "{}", err.message());
        }
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for (bad, key) in [
            (json!({"bucket_name": "", "metadata_store": store()}), "bucket_name"),
            (json!({"bucket_name": "My_Bucket", "metadata_store": store()}), "bucket_name"),
            (json!({"bucket_name": "ab", "metadata_store": store()}), "bucket_name"),
            (json!({"bucket_name": "a..b", "metadata_store": store()}), "bucket_name"),
            (json!({"bucket_name": "-ab", "metadata_store": store()}), "bucket_name"),
            (json!({"bucket_name": "b-1", "region": " ", "metadata_store": store()}), "region"),
            (json!({"bucket_name": "b-1", "endpoint_url": "localhost:9000", "metadata_store": store()}), "endpoint_url"),
            (json!({"bucket_name": "b-1", "endpoint_url": "http://", "metadata_store": store()}), "endpoint_url"),
            (json!({"bucket_name": "b-1", "key_prefix": "a//b", "metadata_store": store()}), "key_prefix"),
            (json!({"bucket_name": "b-1", "key_prefix": "a/../b", "metadata_store": store()}), "key_prefix"),
            (json!({"bucket_name": "b-1", "key_prefix": "a b", "metadata_store": store()}), "key_prefix"),
            (json!({"bucket_name": "b-1", "multipart_part_size_bytes": 1024, "metadata_store": store()}), "multipart_part_size_bytes"),
            (json!({"bucket_name": "b-1", "ttl_secs": 0, "metadata_store": store()}), "ttl_secs"),
            (json!({"bucket_name": "b-1", "metadata_store": {"table_name": "x; drop", "backend": "sql_default"}}), "metadata_store.table_name"),
        ] {
            let err = parse_config::<S3FilesConfig>(&bad).unwrap_err();
            assert_eq!(err.param(), Some(key), "{bad}: {}", err.message());
        }
        for bad in [json!({"metadata_store": store()}), json!({"bucket_name": "b-1"}), json!({"bucket_name": "b-1", "metadata_store": store(), "bucket": "x"})] {
            assert!(parse_config::<S3FilesConfig>(&bad).is_err(), "{bad}");
        }
        let c: S3FilesConfig = parse_config(&json!({"bucket_name": "b-1", "key_prefix": "/llama/files/", "metadata_store": store()})).unwrap();
        assert_eq!(c.prefix(), "llama/files");
    }
}
