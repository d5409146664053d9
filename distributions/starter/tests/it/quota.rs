//! `server.quota` over real sockets: requests counted per client address, 429 with
//! `Retry-After` past the limit, the probes never counted, CORS headers on the refusal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use crate::support::*;

const QUOTA: &str = "  cors: true\n  quota:\n    kvstore: {backend: kv_default, namespace: quota}\n    anonymous_max_requests: 3";

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:3000\r\nConnection: close\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn past_the_limit_a_client_gets_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let stack = stack_from_yaml(&run_yaml(dir.path(), backend().await, QUOTA))
        .await
        .unwrap();
    let (addr, _shutdown, _task) = serve_stack(Arc::new(stack)).await;
    let wait = Duration::from_secs(10);
    // The browser pages' files are not counted: loading them leaves the whole allowance.
    for path in ["/playground", "/playground/api.js", "/docs", "/docs/docs.js"] {
        assert_eq!(parse_answer(&raw(addr, &get(path), wait).await).0, 200, "{path}");
    }
    for i in 0..3 {
        let answer = raw(addr, &get("/v1/models"), wait).await;
        assert_eq!(parse_answer(&answer).0, 200, "request {i}: {answer}");
    }
    let answer = raw(addr, &get("/v1/models"), wait).await;
    let (status, body) = parse_answer(&answer);
    assert_eq!(status, 429, "{answer}");
    assert_eq!(body["error"]["message"], "Quota exceeded", "{answer}");
    assert!(is_openai_error(&body), "{answer}");
    let lower = answer.to_ascii_lowercase();
    let retry_after: u64 = lower
        .lines()
        .find_map(|l| l.strip_prefix("retry-after: "))
        .unwrap_or_else(|| panic!("no retry-after: {answer}"))
        .trim()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
    // The browser can read the refusal, and it carries a request id like every answer.
    assert!(
        lower.contains("access-control-allow-origin: http://localhost:3000"),
        "{answer}"
    );
    assert!(lower.contains("x-request-id: "), "{answer}");
    // Probes and pages are not counted.
    for path in ["/v1/health", "/v1/version", "/playground", "/docs"] {
        assert_eq!(
            parse_answer(&raw(addr, &get(path), wait).await).0,
            200,
            "{path}"
        );
    }
}
