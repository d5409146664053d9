//! inline::faiss beyond the shared suite: the kv log (one entry per write, compaction), the move to an IVF
//! index and back from storage, damaged storage, and inputs faiss must never see.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use lls_api_common::ErrorKind;
use lls_api_common::store::{KvStore, KvStoreRef};
use lls_api_vector_io::{Chunk, EmbeddedChunk, IndexSpec, VectorIo};
use lls_vector_io_inline_faiss::{FaissConfig, FaissVectorIo, IndexKind};
use serde_json::Map;

async fn kv() -> Arc<dyn KvStore> {
    let stores = lls_testkit::stores::memory_stores();
    let reference = KvStoreRef { backend: "kv_default".into(), namespace: "vector_io::faiss".into() };
    stores.kv(&reference).await.unwrap()
}

fn spec(id: &str, dim: usize) -> IndexSpec {
    IndexSpec { vector_store_id: id.into(), embedding_model: "m".into(), embedding_dimension: dim }
}

fn chunk(id: &str, embedding: Vec<f32>) -> EmbeddedChunk {
    let mut chunk = Chunk::text(format!("text of {id}"), Map::new());
    chunk.chunk_id = Some(id.into());
    EmbeddedChunk { chunk_id: id.into(), chunk, embedding }
}

/// `n` points in `dim` dimensions around 20 centres, deterministic.
fn points(n: usize, dim: usize) -> Vec<Vec<f32>> {
    let mut s = 42_u64;
    let mut next = move || {
        s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let centres: Vec<Vec<f32>> = (0..20).map(|_| (0..dim).map(|_| next() * 5.0).collect()).collect();
    (0..n).map(|i| centres[i % 20].iter().map(|c| c + next()).collect()).collect()
}

fn ids(r: &[lls_api_vector_io::ScoredChunk]) -> Vec<&str> {
    r.iter().map(|c| c.id()).collect()
}

const ALL: (&str, &str) = ("faiss:v2:", "faiss:v2:\u{10FFFF}");

async fn faiss_keys(kv: &Arc<dyn KvStore>) -> Vec<String> {
    kv.keys_in_range(ALL.0, ALL.1).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_write_is_one_log_entry() {
    let kv = kv().await;
    let p = FaissVectorIo::open(kv.clone(), &FaissConfig::new("kv_default", "ns")).await.unwrap();
    p.create_index(&spec("vs_a:1", 3)).await.unwrap();
    p.insert("vs_a:1", vec![chunk("x", vec![1.0, 0.0, 0.0]), chunk("y", vec![0.0, 1.0, 0.0])]).await.unwrap();
    let first = "faiss:v2:log:vs_a%3A1:00000000000000000000";
    assert_eq!(faiss_keys(&kv).await, [first, "faiss:v2:spec:vs_a%3A1"]);
    let before = kv.get(first).await.unwrap();
    p.insert("vs_a:1", vec![chunk("z", vec![0.0, 0.0, 1.0])]).await.unwrap();
    p.delete_chunks("vs_a:1", &["y".into(), "unknown".into()]).await.unwrap();
    p.delete_chunks("vs_a:1", &["unknown".into()]).await.unwrap();
    assert_eq!(kv.get(first).await.unwrap(), before, "entries are never rewritten by later writes");
    assert_eq!(faiss_keys(&kv).await.len(), 4, "{:?}", faiss_keys(&kv).await);
    p.delete_index("vs_a:1").await.unwrap();
    assert!(faiss_keys(&kv).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_of_mostly_dead_chunks_is_compacted_to_the_live_ones() {
    let kv = kv().await;
    let config = FaissConfig::new("kv_default", "ns");
    let p = FaissVectorIo::open(kv.clone(), &config).await.unwrap();
    p.create_index(&spec("s", 2)).await.unwrap();
    let version = |v: f32| (0..1500).map(|i| chunk(&format!("c{i}"), vec![i as f32, v])).collect::<Vec<_>>();
    p.insert("s", version(0.0)).await.unwrap();
    p.insert("s", version(1.0)).await.unwrap();
    assert_eq!(faiss_keys(&kv).await.len(), 5, "two inserts of 1500 are four entries, plus the spec");
    p.insert("s", version(2.0)).await.unwrap();
    let keys = faiss_keys(&kv).await;
    assert_eq!(keys.len(), 3, "4500 records with 1500 live are compacted to two entries: {keys:?}");
    assert!(keys[0].ends_with(":00000000000000000006"), "compacted entries follow the old ones: {keys:?}");
    p.delete_chunks("s", &["c0".into()]).await.unwrap();
    drop(p);
    let p = FaissVectorIo::open(kv, &config).await.unwrap();
    assert_eq!(p.index_info("s").await.unwrap(), ("flat", 1499));
    let r = p.query_vector("s", &[7.0, 2.0], 1, 0.0).await.unwrap();
    assert_eq!((r[0].id(), r[0].score), ("c7", f32::MAX));
    assert!(p.query_vector("s", &[0.0, 2.0], 1, 0.0).await.unwrap()[0].id() != "c0");
    p.insert("s", vec![chunk("new", vec![-5.0, 0.0])]).await.unwrap();
    assert_eq!(p.index_info("s").await.unwrap(), ("flat", 1500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_store_moves_to_ivf_and_reloads_as_ivf() {
    let kv = kv().await;
    let mut config = FaissConfig::new("kv_default", "ns");
    config.ivf_min_chunks = 1000;
    let (dim, n) = (16, 1500);
    let vectors = points(n, dim);
    let p = FaissVectorIo::open(kv.clone(), &config).await.unwrap();
    p.create_index(&spec("big", dim)).await.unwrap();
    let first: Vec<EmbeddedChunk> = (0..900).map(|i| chunk(&format!("c{i}"), vectors[i].clone())).collect();
    p.insert("big", first).await.unwrap();
    assert_eq!(p.index_info("big").await.unwrap(), ("flat", 900));
    let rest: Vec<EmbeddedChunk> = (900..n).map(|i| chunk(&format!("c{i}"), vectors[i].clone())).collect();
    p.insert("big", rest).await.unwrap();
    assert_eq!(p.index_info("big").await.unwrap(), ("ivf", n));
    let centroids = kv.get("faiss:v2:centroids:big").await.unwrap().expect("trained centroids are kept");
    assert!(centroids.contains("\"trained_on\":1500"), "{}", &centroids[..80]);
    for i in [0, 777, 1499] {
        let r = p.query_vector("big", &vectors[i], 5, 0.0).await.unwrap();
        assert_eq!(r[0].id(), format!("c{i}"));
        assert_eq!(r[0].score, f32::MAX);
    }
    // Replacing and deleting work on the IVF index too.
    p.insert("big", vec![chunk("c5", vec![100.0; dim])]).await.unwrap();
    p.delete_chunks("big", &["c6".into()]).await.unwrap();
    let r = p.query_vector("big", &vectors[5], 3, 0.0).await.unwrap();
    assert!(!ids(&r).contains(&"c5"), "the old vector of c5 is still found: {:?}", ids(&r));
    let r = p.query_vector("big", &vectors[6], 3, 0.0).await.unwrap();
    assert!(!ids(&r).contains(&"c6"));
    assert_eq!(p.query_vector("big", &vectors[0], 10_000, 0.0).await.unwrap().len(), n - 1, "a large k returns everything");
    drop(p);

    let reopened = FaissVectorIo::open(kv.clone(), &config).await.unwrap();
    assert_eq!(reopened.index_info("big").await.unwrap(), ("ivf", n - 1));
    assert_eq!(reopened.query_vector("big", &[100.0; 16], 1, 0.0).await.unwrap()[0].id(), "c5");
    assert_eq!(kv.get("faiss:v2:centroids:big").await.unwrap().as_ref(), Some(&centroids), "a reload reuses the centroids");
    // Growing to four times the training size retrains (from the log: IVF keeps no vectors).
    let more = points(6001, dim);
    let grow: Vec<EmbeddedChunk> = (n..6001).map(|i| chunk(&format!("c{i}"), more[i].clone())).collect();
    reopened.insert("big", grow).await.unwrap();
    let retrained = kv.get("faiss:v2:centroids:big").await.unwrap().unwrap();
    assert!(retrained.contains("\"trained_on\":6000"), "{}", &retrained[..80]);
    assert_eq!(reopened.query_vector("big", &more[5000], 1, 0.0).await.unwrap()[0].id(), "c5000");
    assert_eq!(reopened.query_vector("big", &[100.0; 16], 1, 0.0).await.unwrap()[0].id(), "c5");
    drop(reopened);
    let mut exact = config.clone();
    exact.index = IndexKind::Flat;
    let flat = FaissVectorIo::open(kv.clone(), &exact).await.unwrap();
    assert_eq!(flat.index_info("big").await.unwrap(), ("flat", 6000));
    flat.delete_index("big").await.unwrap();
    assert!(faiss_keys(&kv).await.is_empty(), "{:?}", faiss_keys(&kv).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_entries_are_skipped_and_leftovers_never_join_a_new_store() {
    let kv = kv().await;
    let config = FaissConfig::new("kv_default", "ns");
    let p = FaissVectorIo::open(kv.clone(), &config).await.unwrap();
    p.create_index(&spec("s", 2)).await.unwrap();
    p.insert("s", vec![chunk("good", vec![1.0, 2.0])]).await.unwrap();
    kv.set("faiss:v2:log:s:00000000000000000099", "{not json", None).await.unwrap();
    kv.set("faiss:v2:spec:junk", "[]", None).await.unwrap();
    drop(p);
    let p = FaissVectorIo::open(kv.clone(), &config).await.unwrap();
    assert_eq!(ids(&p.query_vector("s", &[1.0, 2.0], 10, 0.0).await.unwrap()), ["good"]);
    p.insert("s", vec![chunk("later", vec![5.0, 5.0])]).await.unwrap();
    assert_eq!(p.query_vector("junk", &[1.0, 2.0], 1, 0.0).await.unwrap_err().kind(), ErrorKind::NotFound);
    drop(p);
    let p = FaissVectorIo::open(kv.clone(), &config).await.unwrap();
    assert_eq!(ids(&p.query_vector("s", &[1.0, 2.0], 10, 0.0).await.unwrap()), ["good", "later"]);

    // A delete that died halfway left a log entry: re-creating the store must not resurrect it.
    let entry = kv.get("faiss:v2:log:s:00000000000000000000").await.unwrap().unwrap();
    kv.set("faiss:v2:log:t:00000000000000000000", &entry, None).await.unwrap();
    p.create_index(&spec("t", 2)).await.unwrap();
    assert!(p.query_vector("t", &[1.0, 2.0], 10, 0.0).await.unwrap().is_empty());
    assert!(kv.get("faiss:v2:log:t:00000000000000000000").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_invalid_requests() {
    let p = FaissVectorIo::open(kv().await, &FaissConfig::new("kv_default", "ns")).await.unwrap();
    assert_eq!(p.create_index(&spec("s", 0)).await.unwrap_err().kind(), ErrorKind::InvalidRequest);
    p.create_index(&spec("s", 2)).await.unwrap();
    assert_eq!(p.create_index(&spec("s", 3)).await.unwrap_err().kind(), ErrorKind::Conflict);
    for bad in [vec![f32::NAN, 0.0], vec![f32::INFINITY, 0.0]] {
        let e = p.insert("s", vec![chunk("a", bad.clone())]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
        assert_eq!(p.query_vector("s", &bad, 1, 0.0).await.unwrap_err().kind(), ErrorKind::InvalidRequest);
    }
    let e = p.insert("s", vec![chunk("", vec![0.0, 0.0])]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    p.insert("s", vec![chunk("a", vec![0.0, 0.0])]).await.unwrap();
    assert!(p.query_vector("s", &[0.0, 0.0], 0, 0.0).await.unwrap().is_empty());
    let e = p.query_keyword("s", "text", 3, 0.0).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_given_with_its_embedding_keeps_it() {
    let kv = kv().await;
    let config = FaissConfig::new("kv_default", "ns");
    let p = FaissVectorIo::open(kv.clone(), &config).await.unwrap();
    p.create_index(&spec("s", 2)).await.unwrap();
    let mut with = chunk("with", vec![0.5, 0.5]);
    with.chunk.embedding = Some(vec![0.5, 0.5]);
    p.insert("s", vec![with, chunk("without", vec![1.0, 1.0])]).await.unwrap();
    drop(p);
    let p = FaissVectorIo::open(kv, &config).await.unwrap();
    let r = p.query_vector("s", &[0.5, 0.5], 2, 0.0).await.unwrap();
    assert_eq!(ids(&r), ["with", "without"]);
    assert_eq!(r[0].chunk.embedding.as_deref(), Some(&[0.5, 0.5][..]));
    assert_eq!(r[1].chunk.embedding, None);
    assert!((r[1].score - 2.0).abs() < 1e-6, "score is 1 / squared L2 distance: {}", r[1].score);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_warm_up_under_the_supervisor() {
    let kv = kv().await;
    let config = FaissConfig::new("kv_default", "ns");
    let p = FaissVectorIo::open(kv.clone(), &config).await.unwrap();
    p.create_index(&spec("warm", 3)).await.unwrap();
    p.insert("warm", vec![chunk("x", vec![1.0, 0.0, 0.0])]).await.unwrap();
    drop(p);
    let reopened = FaissVectorIo::open(kv, &config).await.unwrap();
    let tasks = lls_api_common::Tasks::new();
    reopened.warm_up(&tasks);
    tasks.shutdown(std::time::Duration::from_secs(10)).await;
    assert_eq!(tasks.running(), 0, "shutdown saw the warm-up task through");
    assert_eq!(reopened.index_info("warm").await.unwrap(), ("flat", 1));
}
