//! PostgreSQL for the tests: `LLS_TEST_POSTGRES_URL` (with pgvector, as `scripts/postgres.sh`
//! installs it), a schema of its own per test, the extension in `public`.
#![allow(dead_code, clippy::expect_used, clippy::panic)]

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

/// [`config`] with the HNSW index created with the store (`hnsw_min_chunks: 0`), as tests of
/// the index itself want it.
pub fn eager_config(metric: &str) -> PgVectorConfig {
    PgVectorConfig { hnsw_min_chunks: 0, ..config(metric) }
}

/// The valid HNSW indexes in the pool's current schema (a concurrent build's is invalid until
/// it is done).
pub async fn hnsw_indexes(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT x.indexdef FROM pg_indexes x JOIN pg_index i ON i.indexrelid = format('%I.%I', x.schemaname, x.indexname)::regclass \
         WHERE x.schemaname = current_schema() AND x.indexdef LIKE '%USING hnsw%' AND i.indisvalid ORDER BY x.indexname",
    )
        .fetch_all(pool)
        .await
        .expect("listing indexes")
}

/// The table of store `id`, as the provider's registry names it.
pub async fn store_table(pool: &sqlx::PgPool, id: &str) -> String {
    sqlx::query_scalar("SELECT 'lls_pgv_' || key FROM lls_pgvector_stores WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("the store's table")
}

/// Waits (up to 60 s) until the schema's valid HNSW indexes are as `wanted` says (`what` names
/// that in the panic): builds run in the background.
async fn wait_for_indexes(pool: &sqlx::PgPool, what: &str, wanted: impl Fn(&[String]) -> bool) -> Vec<String> {
    for _ in 0..600 {
        let found = hnsw_indexes(pool).await;
        if wanted(&found) {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {what} after 60 s: {:?}", hnsw_indexes(pool).await);
}

/// Waits (up to 60 s) until the schema holds `n` HNSW indexes: a deferred build runs in the
/// background after the insert that made the store large enough.
pub async fn wait_for_hnsw(pool: &sqlx::PgPool, n: usize) -> Vec<String> {
    wait_for_indexes(pool, &format!("{n} HNSW indexes"), |found| found.len() >= n).await
}

/// Waits (up to 60 s) for the schema's one HNSW index to be `name`.
pub async fn wait_for_index_named(pool: &sqlx::PgPool, name: &str) -> String {
    let definition = format!("INDEX {name} ");
    let found = wait_for_indexes(pool, &format!("one index {name}"), |found| matches!(found, [one] if one.contains(&definition))).await;
    found.into_iter().next().unwrap_or_default()
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
