//! Milvus for the tests: `LLS_TEST_MILVUS_URI` (Milvus Lite from `scripts/milvus.sh start`, or
//! any Milvus), a database of its own per test (the suite's stores are many and short-lived).
#![allow(dead_code, clippy::expect_used)]

use lls_testkit::prerequisite::Prerequisite;
use lls_vector_io_remote_milvus::{Metric, MilvusConfig};
use milvus::v2::prelude::{ClientV2, ConnectConfig, CreateDatabaseRequest};

pub const MILVUS: Prerequisite = Prerequisite {
    what: "a Milvus server (LLS_TEST_MILVUS_URI)",
    how: "export LLS_TEST_MILVUS_URI=$(scripts/milvus.sh start)",
    opt_out: "LLS_TEST_NO_MILVUS",
};

/// A config for a fresh database on the test server, with `metric`; `None` when Milvus is opted
/// out (the test then says it did not run).
pub async fn fresh_database(test: &str, metric: Metric) -> Option<MilvusConfig> {
    let uri = std::env::var("LLS_TEST_MILVUS_URI").ok().filter(|u| !u.trim().is_empty());
    let uri = MILVUS.require(test, uri, "remote::milvus keeps its stores in Milvus")?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("a clock").as_nanos();
    let db = format!("lls_test_{}_{}", std::process::id(), nanos % 1_000_000_000_000);
    let admin = ClientV2::new(&ConnectConfig::new().uri(uri.clone())).await.expect("Milvus connects");
    admin
        .create_database(CreateDatabaseRequest::builder().database_name(db.clone()).build().expect("a request"))
        .await
        .expect("a test database");
    let mut config = MilvusConfig::new(uri);
    config.db_name = Some(db);
    config.metric_type = metric;
    Some(config)
}
