//! PostgreSQL for the tests: `LLS_TEST_POSTGRES_URL` (with pgvector, as `scripts/postgres.sh`
//! installs it), a schema of its own per test, the extension in `public`.
#![allow(dead_code, clippy::expect_used)]

use lls_testkit::prerequisite::Prerequisite;
use lls_vector_io_remote_pgvector::{PgVectorConfig, PgVectorProvider};

pub const POSTGRES: Prerequisite = Prerequisite {
    what: "PostgreSQL with pgvector (LLS_TEST_POSTGRES_URL)",
    how: "export LLS_TEST_POSTGRES_URL=$(scripts/postgres.sh start)",
    opt_out: "LLS_TEST_NO_POSTGRES",
};

pub fn config(metric: &str) -> PgVectorConfig {
    serde_json::from_value(serde_json::json!({"distance_metric": metric})).expect("a config")
}

/// A URL whose connections use a fresh schema (then `public`); `None` when PostgreSQL is opted
/// out (the test then says it did not run).
pub async fn schema_url(test: &str) -> Option<String> {
    let url = std::env::var("LLS_TEST_POSTGRES_URL").ok().filter(|u| !u.trim().is_empty());
    let url = POSTGRES.require(test, url, "pgvector keeps its stores in PostgreSQL")?;
    // The extension goes to `public` (a provider on the plain URL creates it under its lock).
    drop(PgVectorProvider::connect(&url, &config("l2")).await.expect("pgvector connects"));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("a clock").as_nanos();
    let schema = format!("pgv_test_{}_{}", std::process::id(), nanos % 1_000_000_000_000);
    let admin = sqlx::PgPool::connect(&url).await.expect("PostgreSQL connects");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.expect("a test schema");
    admin.close().await;
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}options=-c%20search_path%3D{schema}%2Cpublic"))
}
