//! remote::milvus beyond the shared suite: filters pushed down to Milvus, cosine scores, ids
//! Milvus's expression parser must not misread, what does not fit, replicas sharing stores, and
//! a server that is not there.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use lls_api_common::ErrorKind;
use lls_api_vector_io::{Chunk, EmbeddedChunk, Filter, IndexSpec, ScoredChunk, VectorIo};
use lls_vector_io_remote_milvus::{Metric, MilvusConfig};
use serde_json::{Value, json};

fn spec(id: &str, dim: usize) -> IndexSpec {
    IndexSpec { vector_store_id: id.into(), embedding_model: "m".into(), embedding_dimension: dim }
}

fn chunk(id: &str, text: &str, metadata: Value, embedding: Vec<f32>) -> EmbeddedChunk {
    let mut c = Chunk::text(text, metadata.as_object().unwrap().clone());
    c.chunk_id = Some(id.into());
    EmbeddedChunk { chunk_id: id.into(), chunk: c, embedding }
}

fn ids(r: &[ScoredChunk]) -> Vec<&str> {
    r.iter().map(ScoredChunk::id).collect()
}

#[tokio::test]
async fn filters_are_evaluated_by_milvus_and_the_rest_afterwards() {
    let Some(config) = common::fresh_database("remote::milvus filters", Metric::L2).await else { return };
    let p = lls_vector_io_remote_milvus::connect(&config).await.unwrap();
    p.create_index(&spec("vs-filters", 2)).await.unwrap();
    let docs = [
        ("near", json!({"topic": "ai", "year": 2020}), 0.0),
        ("mid", json!({"topic": "ml", "year": 2023, "draft": true}), 1.0),
        ("far", json!({"topic": "ai", "year": 2024.5}), 2.0),
        ("none", json!({}), 3.0),
    ];
    p.insert("vs-filters", docs.iter().map(|(id, m, x)| chunk(id, &format!("doc {id}"), m.clone(), vec![*x, 0.0])).collect()).await.unwrap();
    let q = [0.0, 0.0];
    let search = |f: Value, k: usize| {
        let f = Filter::parse(&f).unwrap();
        let p = &p;
        async move { p.query_vector_filtered("vs-filters", &q, k, 0.0, Some(&f)).await.unwrap() }
    };
    // k = 1 with the nearest chunk filtered out: only a pushed-down filter still finds one.
    assert_eq!(ids(&search(json!({"type": "eq", "key": "topic", "value": "ml"}), 1).await), ["mid"]);
    assert_eq!(ids(&search(json!({"type": "gt", "key": "year", "value": 2023}), 1).await), ["far"]);
    assert_eq!(ids(&search(json!({"type": "in", "key": "topic", "value": ["ml", "xx"]}), 1).await), ["mid"]);
    assert_eq!(ids(&search(json!({"type": "eq", "key": "draft", "value": true}), 1).await), ["mid"]);
    assert_eq!(
        ids(&search(json!({"type": "or", "filters": [
            {"type": "eq", "key": "topic", "value": "ml"}, {"type": "gte", "key": "year", "value": 2024.5}]}), 1).await),
        ["mid"]
    );
    // Not pushed down (a missing key never matches `ne`): checked on the results.
    assert_eq!(ids(&search(json!({"type": "ne", "key": "topic", "value": "ai"}), 10).await), ["mid"]);
    assert_eq!(
        ids(&search(json!({"type": "and", "filters": [
            {"type": "eq", "key": "topic", "value": "ai"}, {"type": "nin", "key": "year", "value": [2020]}]}), 10).await),
        ["far"]
    );
    assert!(search(json!({"type": "eq", "key": "topic", "value": "nothing"}), 10).await.is_empty());
    let kw = Filter::parse(&json!({"type": "eq", "key": "topic", "value": "ai"})).unwrap();
    let r = p.query_keyword_filtered("vs-filters", "doc", 10, 0.0, Some(&kw)).await.unwrap();
    let mut found = ids(&r);
    found.sort();
    assert_eq!(found, ["far", "near"]);

    // Through the trait, as the vector stores service searches: the filtered view of a
    // pushable filter finds the one match k = 1 allows; a filter Milvus cannot take has no view.
    let p: std::sync::Arc<dyn VectorIo> = std::sync::Arc::new(p);
    let ml = Filter::parse(&json!({"type": "eq", "key": "topic", "value": "ml"})).unwrap();
    let view = p.clone().filtered(&ml).expect("an eq filter is pushed down");
    assert_eq!(ids(&view.query_vector("vs-filters", &q, 1, 0.0).await.unwrap()), ["mid"]);
    assert_eq!(ids(&p.query_vector("vs-filters", &q, 1, 0.0).await.unwrap()), ["near"]);
    let ne = Filter::parse(&json!({"type": "ne", "key": "topic", "value": "ai"})).unwrap();
    assert!(p.clone().filtered(&ne).is_none());
}

#[tokio::test]
async fn cosine_scores_are_similarities() {
    let Some(config) = common::fresh_database("remote::milvus cosine", Metric::Cosine).await else { return };
    let p = lls_vector_io_remote_milvus::connect(&config).await.unwrap();
    p.create_index(&spec("vs-cos", 2)).await.unwrap();
    p.insert("vs-cos", vec![chunk("x", "x", json!({}), vec![1.0, 0.0]), chunk("d", "d", json!({}), vec![1.0, 1.0])]).await.unwrap();
    let r = p.query_vector("vs-cos", &[2.0, 0.0], 5, -1.0).await.unwrap();
    assert_eq!(ids(&r), ["x", "d"]);
    assert!((r[0].score - 1.0).abs() < 1e-5 && (r[1].score - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-4, "{r:?}");
}

#[tokio::test]
async fn odd_ids_round_trip_and_oversized_chunks_are_refused() {
    let Some(config) = common::fresh_database("remote::milvus odd ids", Metric::L2).await else { return };
    let p = lls_vector_io_remote_milvus::connect(&config).await.unwrap();
    let store = "store with spaces/and \"quotes\"";
    p.create_index(&spec(store, 2)).await.unwrap();
    let odd = ["quote\"d", "back\\slash", "new\nline", "ünï", "in [x]"];
    p.insert(store, odd.iter().enumerate().map(|(i, id)| chunk(id, id, json!({}), vec![i as f32, 0.0])).collect()).await.unwrap();
    let r = p.query_vector(store, &[0.0, 0.0], 10, 0.0).await.unwrap();
    assert_eq!(ids(&r), odd);
    p.delete_chunks(store, &["quote\"d".into(), "new\nline".into(), "never".into()]).await.unwrap();
    let r = p.query_vector(store, &[0.0, 0.0], 10, 0.0).await.unwrap();
    assert_eq!(ids(&r), ["back\\slash", "ünï", "in [x]"]);
    let big = chunk("big", &"word ".repeat(20_000), json!({}), vec![0.0, 0.0]);
    let e = p.insert(store, vec![big]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    let e = p.create_index(&spec(store, 3)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert_eq!(p.create_index(&spec("one-dim", 1)).await.unwrap_err().kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn replicas_on_one_milvus_share_stores_at_once() {
    let Some(config) = common::fresh_database("remote::milvus replicas", Metric::L2).await else { return };
    let a = lls_vector_io_remote_milvus::connect(&config).await.unwrap();
    let b = lls_vector_io_remote_milvus::connect(&config).await.unwrap();
    a.create_index(&spec("shared", 2)).await.unwrap();
    a.insert("shared", vec![chunk("c", "shared chunk", json!({}), vec![0.0, 1.0])]).await.unwrap();
    assert_eq!(ids(&b.query_vector("shared", &[0.0, 1.0], 3, 0.0).await.unwrap()), ["c"]);
    assert_eq!(ids(&b.query_keyword("shared", "shared", 3, 0.0).await.unwrap()), ["c"]);
    // b learnt the store's dimension; a drops it; b now answers 404, not a stale result.
    b.delete_index("shared").await.unwrap();
    assert_eq!(a.query_vector("shared", &[0.0, 1.0], 3, 0.0).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(b.insert("shared", vec![chunk("d", "d", json!({}), vec![0.0, 1.0])]).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_503_kind_error_within_seconds() {
    // Port 9 (discard) on loopback: nothing listens there.
    let mut config = MilvusConfig::new("http://127.0.0.1:9");
    config.timeout = 2.0;
    let started = std::time::Instant::now();
    let e = lls_vector_io_remote_milvus::connect(&config).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "{e}");
    assert!(e.message().contains("127.0.0.1:9"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "took {:?}", started.elapsed());
}
