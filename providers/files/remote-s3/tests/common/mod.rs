//! An S3-compatible server for the tests: `LLS_TEST_S3_ENDPOINT` (moto, as `scripts/s3.sh`
//! starts it), a fresh bucket per test, the keys from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
//! (`testing` when unset: moto takes any).
#![allow(dead_code, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use lls_files_remote_s3::S3FilesConfig;
use lls_testkit::prerequisite::Prerequisite;

pub const S3: Prerequisite = Prerequisite {
    what: "an S3-compatible server (LLS_TEST_S3_ENDPOINT)",
    how: "export LLS_TEST_S3_ENDPOINT=$(scripts/s3.sh start)",
    opt_out: "LLS_TEST_NO_S3",
};

/// The endpoint, or `None` when S3 is opted out (the test then says it did not run).
pub fn endpoint(test: &str) -> Option<String> {
    let url = std::env::var("LLS_TEST_S3_ENDPOINT").ok().filter(|u| !u.trim().is_empty());
    S3.require(test, url, "remote::s3 keeps the bytes in an S3 bucket")
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

/// A bucket name no other test (or earlier run) uses.
pub fn fresh_bucket() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("a clock").as_nanos();
    format!("lls-test-{}-{}-{}", std::process::id(), nanos % 1_000_000_000_000, SEQ.fetch_add(1, Ordering::SeqCst))
}

/// A config for a fresh bucket on `endpoint` (created at open), metadata in `sql_default`.
pub fn config(endpoint: &str) -> S3FilesConfig {
    let mut config: S3FilesConfig = serde_json::from_value(serde_json::json!({
        "bucket_name": fresh_bucket(),
        "region": "us-east-1",
        "aws_access_key_id": env_or("AWS_ACCESS_KEY_ID", "testing"),
        "aws_secret_access_key": env_or("AWS_SECRET_ACCESS_KEY", "testing"),
        "endpoint_url": endpoint,
        "auto_create_bucket": true,
        "metadata_store": {"table_name": "files_metadata", "backend": "sql_default"},
    }))
    .expect("a config");
    config.max_file_size_bytes = 64 * 1024 * 1024;
    config
}

/// A plain object_store client on the same bucket, to look behind the provider's back.
pub fn raw_bucket(config: &S3FilesConfig) -> object_store::aws::AmazonS3 {
    let (id, secret) = config.credentials().expect("test configs have keys");
    object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&config.bucket_name)
        .with_region(&config.region)
        .with_endpoint(config.endpoint().expect("test configs have an endpoint"))
        .with_allow_http(true)
        .with_access_key_id(id)
        .with_secret_access_key(secret)
        .build()
        .expect("an S3 client")
}

/// Every key in the bucket.
pub async fn keys(config: &S3FilesConfig) -> Vec<String> {
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let metas: Vec<_> = raw_bucket(config).list(None).try_collect().await.expect("the bucket lists");
    let mut keys: Vec<String> = metas.into_iter().map(|m| m.location.to_string()).collect();
    keys.sort();
    keys
}
