//! remote::pgvector beyond the shared suite: the metrics other than L2, two servers sharing the
//! database, the indexes it creates, and a database without the extension's rights.
#![allow(clippy::unwrap_used)]

mod common;

use lls_api_common::ErrorKind;
use lls_api_vector_io::{Chunk, EmbeddedChunk, IndexSpec, VectorIo};
use lls_vector_io_remote_pgvector::PgVectorProvider;
use serde_json::Map;

fn spec(id: &str, dim: usize) -> IndexSpec {
    IndexSpec { vector_store_id: id.into(), embedding_model: "m".into(), embedding_dimension: dim }
}

fn chunk(id: &str, text: &str, embedding: Vec<f32>) -> EmbeddedChunk {
    let mut chunk = Chunk::text(text, Map::new());
    chunk.chunk_id = Some(id.into());
    EmbeddedChunk { chunk_id: id.into(), chunk, embedding }
}

#[tokio::test]
async fn cosine_ignores_length_and_inner_product_prefers_it() {
    let Some(url) = common::schema_url("pgvector metrics").await else { return };
    let chunks = || vec![chunk("short", "a", vec![1.0, 0.0]), chunk("long", "b", vec![10.0, 1.0]), chunk("side", "c", vec![0.0, 1.0])];
    let cosine = PgVectorProvider::connect(&url, &common::config("cosine")).await.unwrap();
    cosine.create_index(&spec("cos", 2)).await.unwrap();
    cosine.insert("cos", chunks()).await.unwrap();
    let r = cosine.query_vector("cos", &[3.0, 0.0], 3, 0.0).await.unwrap();
    assert_eq!(r.iter().map(|c| c.id()).collect::<Vec<_>>(), ["short", "long", "side"]);
    assert_eq!(r[0].score, f32::MAX, "same direction: distance 0");
    let ip = PgVectorProvider::connect(&url, &common::config("inner_product")).await.unwrap();
    ip.create_index(&spec("ip", 2)).await.unwrap();
    ip.insert("ip", chunks()).await.unwrap();
    let r = ip.query_vector("ip", &[1.0, 0.0], 3, 0.0).await.unwrap();
    assert_eq!(r.iter().map(|c| c.id()).collect::<Vec<_>>(), ["long", "short", "side"]);
    assert!((r[0].score - 10.0).abs() < 1e-5, "the inner product itself: {}", r[0].score);
}

#[tokio::test]
async fn two_servers_on_one_database_see_each_others_stores_at_once() {
    let Some(url) = common::schema_url("pgvector replicas").await else { return };
    let a = PgVectorProvider::connect(&url, &common::config("cosine")).await.unwrap();
    let b = PgVectorProvider::connect(&url, &common::config("cosine")).await.unwrap();
    a.create_index(&spec("shared", 2)).await.unwrap();
    b.create_index(&spec("shared", 2)).await.unwrap();
    assert_eq!(b.create_index(&spec("shared", 3)).await.unwrap_err().kind(), ErrorKind::Conflict);
    a.insert("shared", vec![chunk("x", "lava flows from volcanoes", vec![1.0, 0.0])]).await.unwrap();
    assert_eq!(b.query_vector("shared", &[1.0, 0.0], 1, 0.0).await.unwrap()[0].id(), "x");
    assert_eq!(b.query_keyword("shared", "volcano", 1, 0.0).await.unwrap()[0].id(), "x");
    b.delete_index("shared").await.unwrap();
    let e = a.query_vector("shared", &[1.0, 0.0], 1, 0.0).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(a.insert("shared", vec![chunk("y", "y", vec![0.0, 1.0])]).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn stores_get_an_hnsw_index_up_to_its_dimension_limit_and_are_dropped_with_their_table() {
    let Some(url) = common::schema_url("pgvector indexes").await else { return };
    // hnsw_min_chunks 0: the index comes with the store (the deferred build: below).
    let p = PgVectorProvider::connect(&url, &common::eager_config("cosine")).await.unwrap();
    p.create_index(&spec("small", 8)).await.unwrap();
    p.create_index(&spec("wide", lls_vector_io_remote_pgvector::HNSW_MAX_DIMENSION + 1)).await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let indexes: Vec<String> = sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexdef LIKE '%hnsw%'")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    // Over the vectors at unit length in half precision.
    assert!(
        indexes[0].contains("_hnsw_half") && indexes[0].contains("l2_normalize(embedding)")
            && indexes[0].contains("halfvec(8)") && indexes[0].contains("halfvec_cosine_ops") && indexes[0].contains("m='16'"),
        "{indexes:?}"
    );
    // The wide store is searched exactly.
    let wide = vec![0.5; lls_vector_io_remote_pgvector::HNSW_MAX_DIMENSION + 1];
    p.insert("wide", vec![chunk("w", "w", wide.clone())]).await.unwrap();
    assert_eq!(p.query_vector("wide", &wide, 1, 0.0).await.unwrap()[0].id(), "w");
    let tables = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename ~ '^lls_pgv_[0-9]+$'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(tables(pool.clone()).await, 2);
    p.delete_index("small").await.unwrap();
    p.delete_index("wide").await.unwrap();
    p.delete_index("never").await.unwrap();
    assert_eq!(tables(pool).await, 0);
}

#[tokio::test]
async fn a_database_it_cannot_reach_is_unavailable_not_a_crash() {
    let e = PgVectorProvider::connect("postgres://postgres@127.0.0.1:1/none", &common::config("cosine")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "{e}");
    assert!(e.to_string().contains("pgvector"), "{e}");
}

#[tokio::test]
async fn hnsw_searches_as_wide_as_configured_or_as_k() {
    let Some(url) = common::schema_url("pgvector ef_search").await else { return };
    // 100 holds on every connection: pgvector's own default, 40, would cut k = 60.
    let mut config = common::eager_config("l2");
    config.hnsw_ef_search = 100;
    let p = PgVectorProvider::connect(&url, &config).await.unwrap();
    p.create_index(&spec("wide", 3)).await.unwrap();
    p.insert("wide", spread_chunks(0..80)).await.unwrap();
    assert_eq!(p.query_vector("wide", &[40.0, 1.0, 3.0], 60, 0.0).await.unwrap().len(), 60);
    // A narrow setting, and a k beyond it: widened for that query.
    let mut narrow = common::eager_config("l2");
    narrow.hnsw_ef_search = 10;
    let p = PgVectorProvider::connect(&url, &narrow).await.unwrap();
    assert_eq!(p.query_vector("wide", &[40.0, 1.0, 3.0], 8, 0.0).await.unwrap().len(), 8);
    let r = p.query_vector("wide", &[40.0, 1.0, 3.0], 25, 0.0).await.unwrap();
    assert_eq!(r.len(), 25);
    assert_eq!(r[0].id(), "c39", "the nearest: [39, 1, 4]");
}

#[tokio::test]
async fn searches_walk_the_hnsw_index() {
    let Some(url) = common::schema_url("pgvector index scans").await else { return };
    // The defaults (an index at 10,000 chunks, ef_search 500), just past the threshold: at a
    // few thousand rows PostgreSQL rightly finds an exact scan cheaper than a walk that wide.
    let p = PgVectorProvider::connect(&url, &common::config("cosine")).await.unwrap();
    p.create_index(&spec("big", 8)).await.unwrap();
    let v = |i: usize| (0..8).map(|d| ((i * 31 + d * 17) % 101) as f32 + 1.0).collect::<Vec<f32>>();
    p.insert("big", (0..12_000).map(|i| chunk(&format!("c{i}"), "x", v(i))).collect()).await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    common::wait_for_hnsw(&pool, 1).await;
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    assert_eq!(p.query_vector("big", &v(7), 10, -1.0).await.unwrap().len(), 10);
    // An idle session reports its statistics within 10 s (PostgreSQL's idle flush interval).
    let mut scans = 0;
    for _ in 0..150 {
        sqlx::query("SELECT pg_stat_clear_snapshot()").execute(&pool).await.unwrap();
        scans = sqlx::query_scalar::<_, i64>(
            "SELECT coalesce(sum(idx_scan), 0)::int8 FROM pg_stat_user_indexes WHERE schemaname = current_schema() AND indexrelname LIKE '%\\_hnsw\\_half\\_g%'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if scans > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(scans > 0, "a k-nearest search over 12,000 rows must use the HNSW index, not sort every row");
}

#[tokio::test]
async fn the_hnsw_index_is_built_once_a_store_reaches_hnsw_min_chunks_and_searches_are_exact_before() {
    let Some(url) = common::schema_url("pgvector deferred index").await else { return };
    let (p, pool, _) = l2_store_indexed_at_50(&url, "grows").await;
    p.insert("grows", spread_chunks(0..40)).await.unwrap();
    // The same ids again: still 40 chunks, below the threshold.
    p.insert("grows", spread_chunks(0..40)).await.unwrap();
    assert!(common::hnsw_indexes(&pool).await.is_empty(), "40 chunks: no index yet");
    // No index: an exact scan, every row ranked.
    let r = p.query_vector("grows", &[20.0, 1.0, 6.0], 40, f32::NEG_INFINITY).await.unwrap();
    assert_eq!((r.len(), r[0].id()), (40, "c20"));
    p.insert("grows", spread_chunks(40..60)).await.unwrap();
    let indexes = common::wait_for_hnsw(&pool, 1).await;
    assert!(
        indexes[0].contains("(embedding)::halfvec(3)") && indexes[0].contains("halfvec_l2_ops")
            && indexes[0].contains("m='16'") && indexes[0].contains("ef_construction='64'"),
        "{indexes:?}"
    );
    // Later small inserts go into the index; searches find old and new rows.
    p.insert("grows", spread_chunks(60..80)).await.unwrap();
    assert_eq!(p.query_vector("grows", &[70.0, 1.0, 0.0], 1, f32::NEG_INFINITY).await.unwrap()[0].id(), "c70");
    assert_eq!(p.query_vector("grows", &[5.0, 1.0, 5.0], 1, f32::NEG_INFINITY).await.unwrap()[0].id(), "c5");
    assert_eq!(common::hnsw_indexes(&pool).await.len(), 1);
}

#[tokio::test]
async fn servers_crossing_the_threshold_together_build_one_index_and_lose_no_rows() {
    let Some(url) = common::schema_url("pgvector deferred index, replicas").await else { return };
    let mut config = common::config("cosine");
    config.hnsw_min_chunks = 100;
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(std::sync::Arc::new(PgVectorProvider::connect(&url, &config).await.unwrap()));
    }
    servers[0].create_index(&spec("shared", 4)).await.unwrap();
    let v = |i: usize| vec![1.0 + i as f32, (i % 5) as f32, (i % 3) as f32, 1.0];
    // Each server inserts its own rows in several calls at once; together they cross 100 many
    // times over, each server racing to build.
    let mut writes = tokio::task::JoinSet::new();
    for (s, p) in servers.iter().enumerate() {
        for b in 0..4 {
            let rows: Vec<_> = (0..30).map(|i| s * 1000 + b * 100 + i).map(|i| chunk(&format!("c{i}"), "x", v(i))).collect();
            let p = p.clone();
            writes.spawn(async move { p.insert("shared", rows).await });
        }
    }
    while let Some(result) = writes.join_next().await {
        result.unwrap().unwrap();
    }
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let indexes = common::wait_for_hnsw(&pool, 1).await;
    // Let any other builder finish, then look again: still one.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(common::hnsw_indexes(&pool).await, indexes);
    let table = common::store_table(&pool, "shared").await;
    let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}"))).fetch_one(&pool).await.unwrap();
    assert_eq!(rows, 3 * 4 * 30);
    assert!(indexes[0].contains(&format!("{table}_hnsw_half_g1 ")) && indexes[0].contains("WHERE (gen <= 1)"), "{indexes:?}");
    let invalid: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_index WHERE indrelid = to_regclass($1) AND NOT indisvalid")
        .bind(&table)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(invalid, 0);
    assert_eq!(rows_above(&pool, &table, 1).await, 0, "every row is in the index");
}

#[tokio::test]
async fn odd_text_and_metadata_come_back_as_written() {
    let Some(url) = common::schema_url("pgvector odd text").await else { return };
    let p = PgVectorProvider::connect(&url, &common::config("cosine")).await.unwrap();
    p.create_index(&spec("odd", 2)).await.unwrap();
    let text = "nul\0byte back\\slash \\N tab\there new\nline cr\rret 'single' \"double\" ünïcödé 日本語 🎉 \\x00 end";
    let mut metadata = Map::new();
    metadata.insert("k\0ey".into(), serde_json::json!("v\\al\tue\n\0 ✓"));
    let mut c = Chunk::text(text, metadata.clone());
    c.chunk_id = Some("odd\t\\id\u{e9}".into());
    let written = EmbeddedChunk { chunk_id: "odd\t\\id\u{e9}".into(), chunk: c.clone(), embedding: vec![0.6, 0.8] };
    p.insert("odd", vec![written, chunk("plain", "plain words", vec![1.0, 0.0])]).await.unwrap();
    let r = p.query_vector("odd", &[0.6, 0.8], 1, 0.0).await.unwrap();
    assert_eq!(r[0].id(), "odd\t\\id\u{e9}");
    assert_eq!(r[0].chunk.content_text(), text);
    assert_eq!(r[0].chunk.metadata, metadata);
    assert_eq!(r[0].score, f32::MAX, "the binary vector arrives exactly");
    // Full text over the stored text (its NUL dropped).
    let k = p.query_keyword("odd", "ünïcödé", 5, 0.0).await.unwrap();
    assert_eq!(k.iter().map(|c| c.id()).collect::<Vec<_>>(), ["odd\t\\id\u{e9}"]);
    assert_eq!(p.query_keyword("odd", "line", 5, 0.0).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_half_precision_index_finds_candidates_and_the_vectors_score_them_exactly() {
    let Some(url) = common::schema_url("pgvector halfvec scores").await else { return };
    let p = PgVectorProvider::connect(&url, &common::eager_config("cosine")).await.unwrap();
    p.create_index(&spec("exact", 2)).await.unwrap();
    // Values half precision rounds (0.1 is not a halfvec), and one far beyond its range: cosine
    // scales them to unit length first.
    p.insert(
        "exact",
        vec![chunk("a", "a", vec![0.1, 0.7]), chunk("b", "b", vec![1e6, 1.0]), chunk("c", "c", vec![0.3, 0.3])],
    )
    .await
    .unwrap();
    let r = p.query_vector("exact", &[0.1, 0.7], 3, f32::NEG_INFINITY).await.unwrap();
    assert_eq!(r.iter().map(|c| c.id()).collect::<Vec<_>>(), ["a", "c", "b"]);
    assert_eq!(r[0].score, f32::MAX, "the same vector: distance exactly 0, from the full-precision vectors");
    // The scores are the full-precision cosine distances', not half precision's.
    let cos = |a: [f32; 2], b: [f32; 2]| {
        let dot = f64::from(a[0]) * f64::from(b[0]) + f64::from(a[1]) * f64::from(b[1]);
        let norm = |v: [f32; 2]| (f64::from(v[0]).powi(2) + f64::from(v[1]).powi(2)).sqrt();
        1.0 - dot / (norm(a) * norm(b))
    };
    let expected = (1.0 / cos([0.1, 0.7], [0.3, 0.3])) as f32;
    assert!((r[1].score - expected).abs() / expected < 1e-5, "{} vs {expected}", r[1].score);
}

#[tokio::test]
async fn l2_stores_refuse_values_half_precision_cannot_hold_and_keep_what_they_had() {
    let Some(url) = common::schema_url("pgvector halfvec range").await else { return };
    let p = PgVectorProvider::connect(&url, &common::config("l2")).await.unwrap();
    p.create_index(&spec("range", 2)).await.unwrap();
    p.insert("range", vec![chunk("ok", "ok", vec![65_504.0, -65_504.0])]).await.unwrap();
    let e = p.insert("range", vec![chunk("new", "new", vec![1.0, 0.0]), chunk("big", "big", vec![70_000.0, 0.0])]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    assert!(e.to_string().contains("'big'") && e.to_string().contains("halfvec"), "{e}");
    let r = p.query_vector("range", &[0.0, 0.0], 5, f32::NEG_INFINITY).await.unwrap();
    assert_eq!(r.iter().map(|c| c.id()).collect::<Vec<_>>(), ["ok"], "nothing of the refused call is stored");
}

/// An L2 store `id` of 3 dimensions whose index is due at 50 chunks, with a pool of its own on
/// the same schema and the store's table, for tests that write to the table directly.
async fn l2_store_indexed_at_50(url: &str, id: &str) -> (PgVectorProvider, sqlx::PgPool, String) {
    let mut config = common::config("l2");
    config.hnsw_min_chunks = 50;
    let p = PgVectorProvider::connect(url, &config).await.unwrap();
    p.create_index(&spec(id, 3)).await.unwrap();
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let table = common::store_table(&pool, id).await;
    (p, pool, table)
}

/// Distinct 3-d vectors, nearest to themselves under L2.
fn spread_3d(i: usize) -> Vec<f32> {
    vec![i as f32, 1.0, (i % 7) as f32]
}

/// Chunks `c{i}` over `range`, each with its [`spread_3d`] vector.
fn spread_chunks(range: std::ops::Range<usize>) -> Vec<EmbeddedChunk> {
    range.map(|i| chunk(&format!("c{i}"), "x", spread_3d(i))).collect()
}

#[tokio::test]
async fn a_store_indexed_at_full_precision_before_keeps_its_index() {
    let Some(url) = common::schema_url("pgvector full-precision index").await else { return };
    let (p, pool, table) = l2_store_indexed_at_50(&url, "old").await;
    // The index an earlier version of the provider built.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE INDEX {table}_hnsw ON {table} USING hnsw (embedding vector_l2_ops)")))
        .execute(&pool)
        .await
        .unwrap();
    p.insert("old", spread_chunks(0..80)).await.unwrap();
    assert_eq!(p.query_vector("old", &[70.0, 1.0, 0.0], 1, f32::NEG_INFINITY).await.unwrap()[0].id(), "c70");
    // Past the threshold, no second index is built beside it.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let indexes = common::hnsw_indexes(&pool).await;
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    assert!(indexes[0].contains("vector_l2_ops"), "{indexes:?}");
    // Its values are not limited to half precision's range.
    p.insert("old", vec![chunk("big", "big", vec![1e6, 0.0, 0.0])]).await.unwrap();
    assert_eq!(p.query_vector("old", &[1e6, 0.0, 0.0], 1, f32::NEG_INFINITY).await.unwrap()[0].id(), "big");
}

#[tokio::test]
async fn an_l2_store_holding_values_half_precision_cannot_gets_a_full_precision_index() {
    let Some(url) = common::schema_url("pgvector halfvec fallback").await else { return };
    let (p, pool, table) = l2_store_indexed_at_50(&url, "older").await;
    // A row written before the provider checked values against halfvec's range.
    sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {table} (id, chunk, content, embedding) VALUES ('big', $1, 'big', '[1e6,0,0]')")))
        .bind(serde_json::to_string(&Chunk::text("big", Map::new())).unwrap())
        .execute(&pool)
        .await
        .unwrap();
    p.insert("older", spread_chunks(0..60)).await.unwrap();
    let indexes = common::wait_for_hnsw(&pool, 1).await;
    assert!(indexes[0].contains("_hnsw_g1 ") && indexes[0].contains("vector_l2_ops"), "{indexes:?}");
    assert_eq!(p.query_vector("older", &[1e6, 0.0, 0.0], 1, f32::NEG_INFINITY).await.unwrap()[0].id(), "big");
    assert_eq!(p.query_vector("older", &[30.0, 1.0, 2.0], 1, f32::NEG_INFINITY).await.unwrap()[0].id(), "c30");
}

/// Rows of generation above `g` in `table`: written outside an index covering up to `g`.
async fn rows_above(pool: &sqlx::PgPool, table: &str, g: i32) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table} WHERE gen > {g}"))).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn bulk_writes_stay_outside_the_index_yet_are_found_until_a_build_in_one_pass_takes_them_in() {
    let Some(url) = common::schema_url("pgvector generations").await else { return };
    let (p, pool, table) = l2_store_indexed_at_50(&url, "bulk").await;
    p.insert("bulk", spread_chunks(0..60)).await.unwrap();
    common::wait_for_index_named(&pool, &format!("{table}_hnsw_half_g1")).await;
    // A bulk write (more rows than go into an index at once): outside the index, searched
    // exactly beside it at once.
    p.insert("bulk", spread_chunks(60..400)).await.unwrap();
    assert_eq!(rows_above(&pool, &table, 1).await, 340);
    assert_eq!(p.query_vector("bulk", &[300.0, 1.0, 6.0], 1, f32::NEG_INFINITY).await.unwrap()[0].id(), "c300");
    assert_eq!(p.query_vector("bulk", &[20.0, 1.0, 6.0], 1, f32::NEG_INFINITY).await.unwrap()[0].id(), "c20");
    let near_59 = p.query_vector("bulk", &[59.5, 1.0, 3.5], 2, f32::NEG_INFINITY).await.unwrap();
    assert_eq!(near_59.iter().map(|c| c.id()).collect::<Vec<_>>(), ["c59", "c60"], "one from the index, one pending");
    // Once the store is quiet, 340 pending rows beside 60 indexed ones get a new index over all
    // 400 (the next generation), and the old one is dropped.
    let index = common::wait_for_index_named(&pool, &format!("{table}_hnsw_half_g2")).await;
    assert!(index.contains("WHERE (gen <= 2)"), "{index}");
    assert_eq!(rows_above(&pool, &table, 2).await, 0);
    assert_eq!(p.query_vector("bulk", &[300.0, 1.0, 6.0], 1, f32::NEG_INFINITY).await.unwrap()[0].id(), "c300");
    // A rewritten chunk is a new row version: a bulk rewrite waits outside the index too, and
    // searches find it where it now is.
    let mut moved = spread_chunks(0..300);
    moved[5].embedding = vec![5000.0, 1.0, 0.0];
    p.insert("bulk", moved).await.unwrap();
    assert_eq!(p.query_vector("bulk", &[5000.0, 1.0, 0.0], 1, f32::NEG_INFINITY).await.unwrap()[0].id(), "c5");
    let all = p.query_vector("bulk", &[200.0, 1.0, 0.0], 1000, f32::NEG_INFINITY).await.unwrap();
    assert_eq!(all.len(), 400, "no row lost or found twice");
}

#[tokio::test]
async fn a_few_pending_rows_beside_a_large_index_are_folded_into_it() {
    let Some(url) = common::schema_url("pgvector fold").await else { return };
    let (p, pool, table) = l2_store_indexed_at_50(&url, "fold").await;
    p.insert("fold", spread_chunks(0..2800)).await.unwrap();
    let name = format!("{table}_hnsw_half_g1");
    common::wait_for_index_named(&pool, &name).await;
    // 300 pending beside 2,800 indexed: written into the index row by row, no rebuild.
    p.insert("fold", spread_chunks(2800..3100)).await.unwrap();
    assert_eq!(rows_above(&pool, &table, 1).await, 300);
    for _ in 0..600 {
        if rows_above(&pool, &table, 1).await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(rows_above(&pool, &table, 1).await, 0, "the pending rows are folded in");
    common::wait_for_index_named(&pool, &name).await;
    assert_eq!(p.query_vector("fold", &[2950.0, 1.0, 3.0], 1, f32::NEG_INFINITY).await.unwrap()[0].id(), "c2950");
}

#[tokio::test]
async fn a_store_made_before_generations_gets_its_column_and_keeps_its_rows() {
    let Some(url) = common::schema_url("pgvector generation migration").await else { return };
    let (p, pool, table) = l2_store_indexed_at_50(&url, "before").await;
    p.insert("before", spread_chunks(0..10)).await.unwrap();
    // The table as an earlier version of the provider made it.
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER TABLE {table} DROP COLUMN gen"))).execute(&pool).await.unwrap();
    drop(p);
    let p = PgVectorProvider::connect(&url, &common::config("l2")).await.unwrap();
    let gens: Vec<i32> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT DISTINCT gen FROM {table}"))).fetch_all(&pool).await.unwrap();
    assert_eq!(gens, [0]);
    let has_btree: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(format!("{table}_gen")).fetch_one(&pool).await.unwrap();
    assert!(has_btree);
    p.insert("before", spread_chunks(10..20)).await.unwrap();
    assert_eq!(p.query_vector("before", &[3.0, 1.0, 3.0], 50, f32::NEG_INFINITY).await.unwrap().len(), 20);
}
