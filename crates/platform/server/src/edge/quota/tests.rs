//! The quota layer in-process: exact counts, windows on an injected clock, identities, the
//! exempt probes, a failing store, and two servers sharing one PostgreSQL table.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use http_body_util::BodyExt;
use lls_api_common::Result;
use lls_api_common::store::{KvStore, KvStoreRef, SqlStore, StoreResolver};
use lls_config::{QuotaConfig, QuotaPeriod};
use tower::ServiceExt;

use super::{ClientIdentity, Clock, Quota};
use crate::Shutdown;

const DAY: i64 = 86_400;
/// 1,000 s into tomorrow's window: the kv store expires counters on the real clock, so the
/// injected one must not run behind it.
fn start() -> i64 {
    (lls_api_common::unix_now() / DAY + 1) * DAY + 1_000
}

fn config(anonymous: u64, authenticated: u64) -> QuotaConfig {
    QuotaConfig {
        kvstore: KvStoreRef { backend: "kv_default".into(), namespace: "quota".into() },
        anonymous_max_requests: anonymous,
        authenticated_max_requests: authenticated,
        period: QuotaPeriod::Day,
    }
}

fn clock_at(now: &Arc<AtomicI64>) -> Clock {
    let now = now.clone();
    Arc::new(move || now.load(Ordering::SeqCst))
}

fn app(quota: Quota) -> Router {
    let router = Router::new()
        .route("/v1/models", get(|| async { "ok" }))
        .route("/v1/health", get(|| async { "ok" }))
        .route("/v1/version", get(|| async { "ok" }));
    super::super::wrap(router, super::super::Layers { quota: Some(Arc::new(quota)), ..Default::default() }, &Shutdown::new())
}

async fn call(app: &Router, path: &str, ip: [u8; 4], identity: Option<&str>) -> (StatusCode, Option<String>, String) {
    let mut req = Request::get(path).body(Body::empty()).unwrap();
    req.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 5000))));
    if let Some(id) = identity {
        req.extensions_mut().insert(ClientIdentity(id.to_owned()));
    }
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, retry, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn counts_exactly_per_client_and_window() {
    let start = start();
    let now = Arc::new(AtomicI64::new(start));
    let app = app(Quota::new(&config(3, 5), lls_testkit::stores::memory_stores()).with_clock(clock_at(&now)));
    for _ in 0..3 {
        assert_eq!(call(&app, "/v1/models", [10, 0, 0, 1], None).await.0, StatusCode::OK);
    }
    let (status, retry, body) = call(&app, "/v1/models", [10, 0, 0, 1], None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry.as_deref(), Some((DAY - 1_000).to_string().as_str()));
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["message"], "Quota exceeded");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    // Another address has its own count; the probes are never counted nor refused.
    assert_eq!(call(&app, "/v1/models", [10, 0, 0, 2], None).await.0, StatusCode::OK);
    assert_eq!(call(&app, "/v1/health", [10, 0, 0, 1], None).await.0, StatusCode::OK);
    assert_eq!(call(&app, "/v1/version", [10, 0, 0, 1], None).await.0, StatusCode::OK);
    // A second before the window ends: still refused, retry in one second.
    now.store(start - 1_000 + DAY - 1, Ordering::SeqCst);
    assert_eq!(call(&app, "/v1/models", [10, 0, 0, 1], None).await.1.as_deref(), Some("1"));
    // The next window starts from zero.
    now.store(start - 1_000 + DAY, Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(call(&app, "/v1/models", [10, 0, 0, 1], None).await.0, StatusCode::OK);
    }
    assert_eq!(call(&app, "/v1/models", [10, 0, 0, 1], None).await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn an_authenticated_client_is_counted_by_identity_with_its_own_limit() {
    let start = start();
    let now = Arc::new(AtomicI64::new(start));
    let app = app(Quota::new(&config(1, 4), lls_testkit::stores::memory_stores()).with_clock(clock_at(&now)));
    // One identity from several addresses: one count, the authenticated limit.
    for i in 0..4 {
        assert_eq!(call(&app, "/v1/models", [10, 0, 0, i], Some("alice")).await.0, StatusCode::OK);
    }
    assert_eq!(call(&app, "/v1/models", [10, 0, 0, 9], Some("alice")).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(call(&app, "/v1/models", [10, 0, 0, 9], Some("bob")).await.0, StatusCode::OK);
    // The anonymous caller at the same address is counted apart, with the anonymous limit.
    assert_eq!(call(&app, "/v1/models", [10, 0, 0, 9], None).await.0, StatusCode::OK);
    assert_eq!(call(&app, "/v1/models", [10, 0, 0, 9], None).await.0, StatusCode::TOO_MANY_REQUESTS);
}

/// A resolver whose store always fails, as a database that went away.
struct Broken;

#[async_trait]
impl StoreResolver for Broken {
    async fn kv(&self, _reference: &KvStoreRef) -> Result<Arc<dyn KvStore>> {
        Err(lls_api_common::Error::new(lls_api_common::ErrorKind::UpstreamUnavailable, "connection refused"))
    }
    async fn sql(&self, _backend: &str) -> Result<Arc<dyn SqlStore>> {
        Err(lls_api_common::Error::new(lls_api_common::ErrorKind::UpstreamUnavailable, "connection refused"))
    }
}

#[tokio::test]
async fn a_store_failure_is_a_503_not_a_500() {
    let app = app(Quota::new(&config(3, 5), Arc::new(Broken)));
    let (status, _, body) = call(&app, "/v1/models", [10, 0, 0, 1], None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("Quota service error"), "{body}");
    assert_eq!(call(&app, "/v1/health", [10, 0, 0, 1], None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn two_servers_on_one_postgres_share_the_limit() {
    let Ok(url) = std::env::var("LLS_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("LLS_TEST_NO_POSTGRES").is_ok_and(|v| v == "1"),
            "set LLS_TEST_POSTGRES_URL (or LLS_TEST_NO_POSTGRES=1 to skip)"
        );
        eprintln!("two_servers_on_one_postgres_share_the_limit: did not run (LLS_TEST_NO_POSTGRES=1)");
        return;
    };
    // One table for every run (runs are kept apart by their window below), so runs leave no tables behind.
    let table = "quota_test".to_owned();
    let stores = || -> Arc<dyn StoreResolver> {
        let spec = lls_storage::BackendSpec::PostgresKv { url: url.clone(), table: Some(table.clone()) };
        Arc::new(lls_storage::Stores::new([("kv_default".to_owned(), spec)]).unwrap())
    };
    // A fresh window per run, so counts left by an earlier run do not interfere.
    let micros = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros();
    let start = start() + (micros % 1_000_000) as i64 * DAY;
    let now = Arc::new(AtomicI64::new(start));
    let one = app(Quota::new(&config(10, 10), stores()).with_clock(clock_at(&now)));
    let two = app(Quota::new(&config(10, 10), stores()).with_clock(clock_at(&now)));
    // Twenty concurrent requests from one client, half through each server: exactly ten pass.
    let calls = (0..20).map(|i| {
        let app = if i % 2 == 0 { one.clone() } else { two.clone() };
        tokio::spawn(async move { call(&app, "/v1/models", [10, 1, 1, 1], None).await.0 })
    });
    let mut passed = 0;
    for handle in calls.collect::<Vec<_>>() {
        match handle.await.unwrap() {
            StatusCode::OK => passed += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(passed, 10);
    assert_eq!(call(&one, "/v1/models", [10, 1, 1, 1], None).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(call(&two, "/v1/models", [10, 1, 1, 1], None).await.0, StatusCode::TOO_MANY_REQUESTS);
}
