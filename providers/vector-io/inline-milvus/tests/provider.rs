//! inline::milvus beyond the shared suite: the server it starts through the registry's build
//! goes away at shutdown, a stopped server is a 503-kind error (never a panic), and data
//! written before a stop is there after a restart.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use lls_api_common::{Api, BuildContext, ErrorKind, HealthState};
use lls_api_vector_io::{Chunk, EmbeddedChunk, IndexSpec, VectorIo};
use lls_vector_io_inline_milvus::{InlineMilvus, Metric};

fn spec(id: &str) -> IndexSpec {
    IndexSpec { vector_store_id: id.into(), embedding_model: "m".into(), embedding_dimension: 2 }
}

fn chunk(id: &str, x: f32) -> EmbeddedChunk {
    let mut c = Chunk::text(format!("llama number {id}"), Default::default());
    c.chunk_id = Some(id.into());
    EmbeddedChunk { chunk_id: id.into(), chunk: c, embedding: vec![x, 0.0] }
}

fn listening(uri: &str) -> bool {
    std::net::TcpStream::connect(uri.trim_start_matches("http://")).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_is_an_unavailable_backend_and_a_restart_finds_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let Some(config) = common::config("inline::milvus stop", dir.path(), Metric::L2) else { return };
    let p = common::start(&config).await;
    p.create_index(&spec("s")).await.unwrap();
    p.insert("s", vec![chunk("a", 0.0), chunk("b", 1.0)]).await.unwrap();
    assert_eq!(p.health().await.status, HealthState::Ok);
    let uri = p.uri().to_owned();
    p.stop();
    assert!(!listening(&uri), "Milvus Lite still answers on {uri}");
    let e = p.query_vector("s", &[0.0, 0.0], 2, 0.0).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::UpstreamUnavailable | ErrorKind::Timeout), "{e}");
    assert_eq!(p.health().await.status, HealthState::Error);
    drop(p);
    let p = common::start(&config).await;
    let r = p.query_vector("s", &[0.0, 0.0], 5, 0.0).await.unwrap();
    assert_eq!(r.iter().map(|c| c.id()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(p.query_keyword("s", "llama", 5, 0.0).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_build_stops_milvus_lite_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let Some(config) = common::config("inline::milvus shutdown", dir.path(), Metric::Cosine) else { return };
    let stores = lls_testkit::stores::memory_stores();
    let ctx = BuildContext::new(Api::VectorIo, "milvus", serde_json::to_value(&config).unwrap(), stores);
    let tasks = ctx.tasks.clone();
    let provider = InlineMilvus::build(ctx, config.clone()).await.unwrap();
    provider.create_index(&spec("t")).await.unwrap();
    // A second server on the same directory cannot start while the first holds it.
    let mut quick = config.clone();
    quick.startup_timeout = 3.0;
    assert!(InlineMilvus::start(&quick).await.is_err(), "two Milvus Lite servers on one directory");
    tasks.shutdown(Duration::from_secs(30)).await;
    let e = provider.query_vector("t", &[1.0, 0.0], 1, 0.0).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::UpstreamUnavailable | ErrorKind::Timeout), "{e}");
}
