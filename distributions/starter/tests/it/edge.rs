//! The HTTP edge: JSON-only bodies, errors in our JSON shape whoever produced them, request ids,
//! CORS, streams that fail early or midway, and (over real sockets) timeouts, connection limits,
//! oversized bodies, mutual TLS and the graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tower::ServiceExt;

struct Env {
    stack: Arc<lls_registry::Stack>,
    _dir: tempfile::TempDir,
}

async fn env(server: &str) -> Env {
    let backend = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let stack = stack_from_yaml(&run_yaml(dir.path(), backend, server))
        .await
        .unwrap();
    Env {
        stack: Arc::new(stack),
        _dir: dir,
    }
}

async fn send(router: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let res = router.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn post(path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut req = Request::post(path);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.body(body.into()).unwrap()
}

fn chat(model: &str, stream: bool) -> String {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream})
        .to_string()
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text:?}"))
}

#[tokio::test]
async fn json_routes_take_only_json_bodies() {
    let env = env("").await;
    let app = lls_server::app(env.stack.clone()).unwrap();
    let body = chat("fake/fake-llm", false);
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let (s, h, text) = send(&app, post("/v1/chat/completions", ct, body.clone())).await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}: {text}");
        assert_eq!(h["content-type"], "application/json");
        let v = json_of(&text);
        assert!(
            is_openai_error(&v) && v["error"]["type"] == "invalid_request_error",
            "{v}"
        );
    }
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.api+json",
    ] {
        let (s, _, text) = send(&app, post("/v1/chat/completions", Some(ct), body.clone())).await;
        assert_eq!(s, StatusCode::OK, "{ct}: {text}");
    }
    // No body at all: nothing to forge, so the usual 400 (and body-less routes just work).
    let (s, _, text) = send(&app, post("/v1/chat/completions", None, Body::empty())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(
        json_of(&text)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("empty")
    );
    let (s, _, text) = send(
        &app,
        Request::delete("/v1/models/fake/fake-llm")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{text}");
    // Trailing garbage after the JSON value.
    let garbage = format!("{body} xyz");
    let (s, _, text) = send(
        &app,
        post("/v1/chat/completions", Some("application/json"), garbage),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(
        json_of(&text)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("trailing characters"),
        "{text}"
    );
    let (s, _, text) = send(
        &app,
        post(
            "/v1/chat/completions",
            Some("application/json"),
            format!("{body}\n\n"),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "trailing whitespace is fine: {text}");
}

#[tokio::test]
async fn every_error_is_openai_json_with_a_request_id() {
    let env = env("").await;
    let app = lls_server::app(env.stack.clone()).unwrap();
    let long = format!("/v1/models?x={}", "a".repeat(20_000));
    let cases: Vec<(Request<Body>, StatusCode)> = vec![
        // axum's own Path rejection (bad UTF-8 in a path id) used to be text/plain.
        (
            Request::get("/v1/chat/completions/%FF%FE")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Request::get("/v1/providers/%C3%28")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Request::get(long.as_str()).body(Body::empty()).unwrap(),
            StatusCode::URI_TOO_LONG,
        ),
        (
            Request::get("/v1/health")
                .header("x-big", "b".repeat(70_000))
                .body(Body::empty())
                .unwrap(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ),
        (
            Request::get("/v1/health")
                .header("x-llamastack-client-version", "0.2.9")
                .body(Body::empty())
                .unwrap(),
            StatusCode::UPGRADE_REQUIRED,
        ),
        (
            Request::get("/v1/nope").body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            Request::delete("/v1/health").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (req, expected) in cases {
        let what = format!(
            "{} {}",
            req.method(),
            &req.uri().to_string()[..req.uri().to_string().len().min(40)]
        );
        let (s, h, text) = send(&app, req).await;
        assert_eq!(s, expected, "{what}: {text}");
        assert_eq!(h["content-type"], "application/json", "{what}");
        assert!(is_openai_error(&json_of(&text)), "{what}: {text}");
        assert!(h.contains_key("x-request-id"), "{what}");
    }
    let (_, h, text) = send(
        &app,
        Request::get("/v1/chat/completions/%FF%FE")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        json_of(&text)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("UTF-8"),
        "axum's message is kept: {text}"
    );
    let generated = h["x-request-id"].to_str().unwrap().to_owned();
    let (_, h2, _) = send(
        &app,
        Request::get("/v1/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_ne!(
        h2["x-request-id"].to_str().unwrap(),
        generated,
        "ids are unique"
    );
    let (_, h, _) = send(
        &app,
        Request::get("/v1/health")
            .header("x-request-id", "abc-123")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(h["x-request-id"], "abc-123", "the client's id is echoed");
    let (_, h, _) = send(
        &app,
        Request::get("/v1/health")
            .header("x-request-id", "bad id")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_ne!(h["x-request-id"], "bad id", "an unusable id is replaced");
    // A client of the same major.minor passes the version check.
    let (s, _, _) = send(
        &app,
        Request::get("/v1/health")
            .header("x-llamastack-client-version", "0.3.9")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/v1/chat/completions")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn cors_true_is_the_localhost_dev_policy() {
    let env = env("  cors: true").await;
    let app = lls_server::app(env.stack.clone()).unwrap();
    let (s, h, _) = send(&app, preflight("http://localhost:3000")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["access-control-allow-origin"], "http://localhost:3000");
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_eq!(h["access-control-max-age"], "600");
    assert!(h.contains_key("x-request-id"));
    for origin in [
        "http://evil.example",
        "http://localhost.evil.example:80",
        "http://localhost",
    ] {
        let (_, h, _) = send(&app, preflight(origin)).await;
        assert!(!h.contains_key("access-control-allow-origin"), "{origin}");
    }
    let req = Request::get("/v1/health")
        .header("origin", "https://localhost:8080")
        .body(Body::empty())
        .unwrap();
    let (_, h, _) = send(&app, req).await;
    assert_eq!(h["access-control-allow-origin"], "https://localhost:8080");
    // Without `cors`, no CORS headers at all.
    let plain = env_without_cors().await;
    let (_, h, _) = send(
        &lls_server::app(plain.stack.clone()).unwrap(),
        preflight("http://localhost:3000"),
    )
    .await;
    assert!(!h.contains_key("access-control-allow-origin"));
}

async fn env_without_cors() -> Env {
    env("").await
}

#[tokio::test]
async fn cors_object_follows_its_lists() {
    let server = "  cors:\n    allow_origins: [https://app.example]\n    allow_methods: [GET, POST]\n    allow_headers: [X-Custom]\n    allow_credentials: true\n    expose_headers: [x-request-id]\n    max_age: 60";
    let env = env(server).await;
    let app = lls_server::app(env.stack.clone()).unwrap();
    let (_, h, _) = send(&app, preflight("https://app.example")).await;
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-max-age"], "60");
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("x-custom") && allowed.contains("content-type"),
        "{allowed}"
    );
    let (_, h, _) = send(&app, preflight("https://other.example")).await;
    assert!(!h.contains_key("access-control-allow-origin"));
    let req = Request::get("/v1/health")
        .header("origin", "https://app.example")
        .body(Body::empty())
        .unwrap();
    let (_, h, _) = send(&app, req).await;
    assert_eq!(h["access-control-expose-headers"], "x-request-id");
}

#[tokio::test]
async fn streams_that_send_nothing_valid_are_502_before_any_200() {
    let env = env("").await;
    let app = lls_server::app(env.stack.clone()).unwrap();
    for model in ["bad-empty", "bad-html", "bad-text"] {
        for path in ["/v1/chat/completions", "/v1/completions"] {
            let body = if path == "/v1/completions" {
                json!({"model": format!("bad/{model}"), "prompt": "hi", "stream": true}).to_string()
            } else {
                chat(&format!("bad/{model}"), true)
            };
            let (s, h, text) = send(&app, post(path, Some("application/json"), body)).await;
            assert_eq!(s, StatusCode::BAD_GATEWAY, "{model} {path}: {text}");
            assert_eq!(h["content-type"], "application/json");
            let v = json_of(&text);
            assert!(is_openai_error(&v), "{v}");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("provider bad"),
                "{v}"
            );
        }
    }
    // The fake provider's empty stream too: never an empty 200.
    let (s, _, text) = send(
        &app,
        post(
            "/v1/chat/completions",
            Some("application/json"),
            chat("fake/empty-stream", true),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{text}");
}

#[tokio::test]
async fn streams_failing_midway_end_with_exactly_one_error_event() {
    let env = env("").await;
    let app = lls_server::app(env.stack.clone()).unwrap();
    for model in ["bad-half", "bad-cut"] {
        for path in ["/v1/chat/completions", "/v1/completions"] {
            let body = if path == "/v1/completions" {
                json!({"model": format!("bad/{model}"), "prompt": "hi", "stream": true}).to_string()
            } else {
                chat(&format!("bad/{model}"), true)
            };
            let (s, _, text) = send(&app, post(path, Some("application/json"), body)).await;
            assert_eq!(s, StatusCode::OK, "{model} {path}: {text}");
            let events = events(&text);
            assert_eq!(events.len(), 2, "{model} {path}: {text}");
            assert!(events[0]["choices"].is_array());
            assert!(is_openai_error(&events[1]), "{}", events[1]);
        }
    }
    let (s, _, text) = send(
        &app,
        post(
            "/v1/completions",
            Some("application/json"),
            json!({"model": "bad/ok", "prompt": "hi", "stream": true}).to_string(),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        events(&text).len(),
        2,
        "a healthy stream is untouched: {text}"
    );
}

/// Serves `env` on a real socket; the server stops when the returned handle's shutdown begins.
async fn start(
    env: &Env,
    tls: Option<lls_server::TlsFiles>,
) -> (
    SocketAddr,
    lls_server::Shutdown,
    tokio::task::JoinHandle<()>,
) {
    let mut options = lls_server::ServeOptions::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    options.limits = env.stack.config.server.limits();
    options.tls = tls;
    let server = lls_server::Server::bind(options).await.unwrap();
    let addr = server.local_addr();
    let shutdown = server.shutdown();
    let app = lls_server::app_with(env.stack.clone(), &shutdown).unwrap();
    let task = tokio::spawn(async move { server.run(app).await.unwrap() });
    (addr, shutdown, task)
}

const SHORT_TIMEOUTS: &str =
    "  header_read_timeout_s: 1\n  keepalive_timeout_s: 1\n  request_body_timeout_s: 1";

#[tokio::test]
async fn hyper_level_errors_are_json_too() {
    let env = env("").await;
    let (addr, _shutdown, _task) = start(&env, None).await;
    let wait = Duration::from_secs(5);
    let many_headers: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases = [
        (
            b"GET /v1/health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n".to_vec(),
            400,
        ),
        (b"\x16\x03\x01 garbage\r\n\r\n".to_vec(), 400),
        (
            format!("GET /v1/health HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(),
            431,
        ),
        (
            format!(
                "GET /v1/models?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
                "a".repeat(70_000)
            )
            .into_bytes(),
            414,
        ),
        (
            format!(
                "GET /v1/models?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
                "a".repeat(20_000)
            )
            .into_bytes(),
            414,
        ),
        (
            format!(
                "GET /v1/health HTTP/1.1\r\nHost: x\r\nx-big: {}\r\n\r\n",
                "b".repeat(80_000)
            )
            .into_bytes(),
            431,
        ),
    ];
    for (request, expected) in cases {
        let answer = raw(addr, &request, wait).await;
        let (status, body) = parse_answer(&answer);
        assert_eq!(status, expected, "{}", &answer[..answer.len().min(300)]);
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{answer}"
        );
        assert!(is_openai_error(&body), "{answer}");
    }
    // A normal request after all that.
    let answer = raw(
        addr,
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        wait,
    )
    .await;
    assert_eq!(parse_answer(&answer).0, 200, "{answer}");
    // Our own error answers pass untouched, and keep the connection alive.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let two = b"GET /v1/providers/zzz-nope HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    tcp.write_all(two).await.unwrap();
    let answers = read_to_close(&mut tcp, wait).await;
    let (status, body) = parse_answer(&answers);
    assert_eq!(status, 404, "{answers}");
    let first_body = answers.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert!(first_body.contains("zzz-nope"), "{answers}");
    assert!(
        answers.matches("HTTP/1.1 ").count() == 2 && answers.contains("HTTP/1.1 200"),
        "{answers}"
    );
    let _ = body;
}

#[tokio::test]
async fn slow_heads_slow_bodies_and_idle_connections_are_closed() {
    let env = env(SHORT_TIMEOUTS).await;
    let (addr, _shutdown, _task) = start(&env, None).await;
    // A head that never finishes: closed without an answer after header_read_timeout_s.
    let started = Instant::now();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(closed_within(&mut tcp, Duration::from_secs(5)).await);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    // A connection that never sends anything.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
    // A body that stops arriving: 408 in our JSON shape.
    let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\"";
    let answer = raw(addr, head.as_bytes(), Duration::from_secs(6)).await;
    let (status, body) = parse_answer(&answer);
    assert_eq!(status, 408, "{answer}");
    assert!(is_openai_error(&body), "{answer}");
    // Keep-alive: a served connection is closed after keepalive_timeout_s of idleness.
    let started = Instant::now();
    let answer = raw(
        addr,
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(parse_answer(&answer).0, 200, "{answer}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[tokio::test]
async fn past_max_connections_the_longest_idle_one_makes_room() {
    let env = env("  max_connections: 4\n  header_read_timeout_s: 30").await;
    let (addr, _shutdown, _task) = start(&env, None).await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(addr).await.unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answer = raw(
        addr,
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(parse_answer(&answer).0, 200, "{answer}");
    assert!(
        closed_within(&mut idle[0], Duration::from_secs(2)).await,
        "the oldest idle connection was closed"
    );
}

#[tokio::test]
async fn oversized_chunked_body_gets_a_readable_413() {
    let env = env("").await;
    let (addr, _shutdown, _task) = start(&env, None).await;
    let chunk = bytes::Bytes::from(vec![b' '; 1024 * 1024]);
    let chunks =
        futures::stream::iter((0..70).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("the client reads the answer instead of a reset");
    assert_eq!(response.status(), 413);
    let v: Value = response.json().await.unwrap();
    assert!(is_openai_error(&v), "{v}");
    // A client that sends its whole body before reading (as Python's http.client does) must
    // still read the 413: the server keeps reading what follows instead of resetting.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut frame = format!("{:x}\r\n", 1024 * 1024).into_bytes();
    frame.extend(std::iter::repeat_n(b' ', 1024 * 1024));
    frame.extend_from_slice(b"\r\n");
    for _ in 0..70 {
        tcp.write_all(&frame)
            .await
            .expect("the server keeps reading");
    }
    tcp.write_all(b"0\r\n\r\n").await.unwrap();
    let answer = read_to_close(&mut tcp, Duration::from_secs(10)).await;
    let (status, body) = parse_answer(&answer);
    assert_eq!(status, 413, "{}", &answer[..answer.len().min(300)]);
    assert!(is_openai_error(&body), "{answer}");
}

#[tokio::test]
async fn shutdown_lets_streams_run_then_ends_them_with_one_error_event() {
    let env = env("  shutdown_grace_period_s: 1").await;
    let (addr, shutdown, task) = start(&env, None).await;
    let client = reqwest::Client::new();
    let mut response = client
        .post(format!("http://{addr}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(chat("bad/forever", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let first = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("tick"));
    let begun = Instant::now();
    shutdown.begin();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no new connections once shutdown began"
    );
    let mut rest = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        rest.extend_from_slice(&chunk);
    }
    let took = begun.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "the stream ran through the grace period: {took:?}"
    );
    let events = events(&String::from_utf8_lossy(&rest));
    assert!(events.len() > 3, "{events:?}");
    let last = events.last().unwrap();
    assert!(is_openai_error(last), "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shutting down"),
        "{last}"
    );
    assert_eq!(
        events.iter().filter(|e| e.get("error").is_some()).count(),
        1
    );
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let env = env("").await;
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    server_params.subject_alt_names = vec![SanType::IpAddress([127, 0, 0, 1].into())];
    let server_cert = server_params.signed_by(&server_key, &ca, &ca_key).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["client".to_owned()])
        .unwrap()
        .signed_by(&client_key, &ca, &ca_key)
        .unwrap();
    let other_ca_key = KeyPair::generate().unwrap();
    let mut other_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    other_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let other_ca = other_params.self_signed(&other_ca_key).unwrap();
    let stranger_key = KeyPair::generate().unwrap();
    let stranger = CertificateParams::new(vec!["stranger".to_owned()])
        .unwrap()
        .signed_by(&stranger_key, &other_ca, &other_ca_key)
        .unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let files = lls_server::TlsFiles {
        certfile: write("server.pem", server_cert.pem()),
        keyfile: write("server.key", server_key.serialize_pem()),
        cafile: Some(write("ca.pem", ca.pem())),
    };
    let (addr, _shutdown, _task) = start(&env, Some(files)).await;
    let url = format!("https://{addr}/v1/health");
    let client = |identity: Option<String>| {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap());
        if let Some(pem) = identity {
            b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
        }
        b.build().unwrap()
    };
    assert!(
        client(None).get(&url).send().await.is_err(),
        "no client certificate: refused"
    );
    let foreign = format!("{}{}", stranger.pem(), stranger_key.serialize_pem());
    assert!(
        client(Some(foreign)).get(&url).send().await.is_err(),
        "a certificate from another CA: refused"
    );
    let ours = format!("{}{}", client_cert.pem(), client_key.serialize_pem());
    let response = client(Some(ours)).get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
}
