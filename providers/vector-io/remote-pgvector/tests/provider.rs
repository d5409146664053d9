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
    let p = PgVectorProvider::connect(&url, &common::config("cosine")).await.unwrap();
    p.create_index(&spec("small", 8)).await.unwrap();
    p.create_index(&spec("wide", lls_vector_io_remote_pgvector::HNSW_MAX_DIMENSION + 1)).await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let indexes: Vec<String> = sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexdef LIKE '%hnsw%'")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    assert!(indexes[0].contains("vector_cosine_ops") && indexes[0].contains("m='16'"), "{indexes:?}");
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
    let chunks = || (0..80).map(|i| chunk(&format!("c{i}"), "x", vec![i as f32, 1.0, (i % 7) as f32])).collect::<Vec<_>>();
    // The default (100) holds on every connection: pgvector's own default, 40, would cut k = 60.
    let p = PgVectorProvider::connect(&url, &common::config("l2")).await.unwrap();
    p.create_index(&spec("wide", 3)).await.unwrap();
    p.insert("wide", chunks()).await.unwrap();
    assert_eq!(p.query_vector("wide", &[40.0, 1.0, 3.0], 60, 0.0).await.unwrap().len(), 60);
    // A narrow setting, and a k beyond it: widened for that query.
    let mut narrow = common::config("l2");
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
    let p = PgVectorProvider::connect(&url, &common::config("cosine")).await.unwrap();
    p.create_index(&spec("big", 8)).await.unwrap();
    let v = |i: usize| (0..8).map(|d| ((i * 31 + d * 17) % 101) as f32 + 1.0).collect::<Vec<f32>>();
    p.insert("big", (0..3000).map(|i| chunk(&format!("c{i}"), "x", v(i))).collect()).await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    assert_eq!(p.query_vector("big", &v(7), 10, -1.0).await.unwrap().len(), 10);
    // An idle session reports its statistics within 10 s (PostgreSQL's idle flush interval).
    let mut scans = 0;
    for _ in 0..150 {
        sqlx::query("SELECT pg_stat_clear_snapshot()").execute(&pool).await.unwrap();
        scans = sqlx::query_scalar::<_, i64>(
            "SELECT coalesce(sum(idx_scan), 0)::int8 FROM pg_stat_user_indexes WHERE schemaname = current_schema() AND indexrelname LIKE '%_hnsw'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if scans > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(scans > 0, "a k-nearest search over 3000 rows must use the HNSW index, not sort every row");
}
