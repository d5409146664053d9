//! A mock of the two web search APIs 0.3.5's search tools call, in one axum server on
//! 127.0.0.1: Tavily (`POST /search`, the key in the JSON body's `api_key` or as a bearer
//! token) and Brave (`GET /res/v1/web/search?q=…`, the key in `X-Subscription-Token`).
//!
//! Both accept one key and answer every other with their vendor's 401 body; results are
//! derived from the query alone ([`result_title`]), so tests can predict them. Tavily honours
//! `max_results` (default 5, as Tavily's), Brave `count` (default 20). Tests can slow every
//! answer down, make the next answers fail with a status, and read what was sent.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use parking_lot::Mutex;
use serde_json::{Value, json};

/// Tavily's `max_results` when a request gives none.
pub const TAVILY_DEFAULT_MAX_RESULTS: usize = 5;
/// Brave's `count` when a request gives none.
pub const BRAVE_DEFAULT_COUNT: usize = 20;
/// The most results either vendor returns for one request.
pub const MAX_RESULTS: usize = 20;

/// Tavily's answer to a missing or wrong key, word for word.
pub const TAVILY_UNAUTHORIZED: &str = "Unauthorized: missing or invalid API key.";
/// Brave's `detail` for a wrong subscription token.
pub const BRAVE_TOKEN_INVALID: &str = "The provided subscription token is invalid.";

/// Which vendor API a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Tavily,
    Brave,
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub vendor: Vendor,
    /// The key as sent (Tavily: body `api_key` or bearer token; Brave: `X-Subscription-Token`).
    pub api_key: Option<String>,
    /// The query string (`q` for Brave, `query` for Tavily).
    pub query: Option<String>,
    /// Tavily's JSON body, or Brave's query parameters as an object.
    pub body: Value,
}

struct MockState {
    api_key: String,
    delay: Mutex<Duration>,
    /// Statuses the next requests answer with, in order.
    failures: Mutex<Vec<u16>>,
    requests: Mutex<Vec<SearchRequest>>,
}

/// The running mock; stops when dropped.
pub struct WebSearchMock {
    server: crate::local_server::LocalServer,
    state: Arc<MockState>,
}

impl std::fmt::Debug for WebSearchMock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSearchMock")
            .field("addr", &self.server.addr)
            .finish_non_exhaustive()
    }
}

impl WebSearchMock {
    /// Serves both APIs on a free port, accepting only `api_key`.
    pub async fn start(api_key: &str) -> std::io::Result<WebSearchMock> {
        Self::start_on(api_key, 0).await
    }

    /// Serves both APIs on 127.0.0.1:`port` (0: any free port).
    pub async fn start_on(api_key: &str, port: u16) -> std::io::Result<WebSearchMock> {
        let state = Arc::new(MockState {
            api_key: api_key.to_owned(),
            delay: Mutex::new(Duration::ZERO),
            failures: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/search", post(tavily_search))
            .route("/res/v1/web/search", get(brave_search))
            .route("/health", get(|| async { "OK" }))
            .with_state(state.clone());
        Ok(WebSearchMock {
            server: crate::local_server::serve_on(router, port).await?,
            state,
        })
    }

    /// `http://127.0.0.1:PORT`: both providers' `base_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Every answer waits this long first.
    pub fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock() = delay;
    }

    /// The next requests (with a valid key) answer these statuses, one each.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.state.failures.lock().extend_from_slice(statuses);
    }

    /// The requests received so far, bad ones included.
    pub fn requests(&self) -> Vec<SearchRequest> {
        self.state.requests.lock().clone()
    }
}

/// The title of result `rank` (from 1) for `query`; URLs and texts are derived the same way.
pub fn result_title(query: &str, rank: usize) -> String {
    format!("{query}: result {rank}")
}

fn result_url(query: &str, rank: usize) -> String {
    let slug: String = query
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("https://example.com/{slug}/{rank}")
}

fn result_text(query: &str, rank: usize) -> String {
    format!("Result {rank} of the web search for \"{query}\".")
}

/// Scores fall with rank and are exact decimals, so every client prints them alike.
fn score(rank: usize) -> f64 {
    let hundredths = 99usize.saturating_sub(4 * rank.saturating_sub(1)).max(1);
    hundredths as f64 / 100.0
}

/// Every answer waits the configured delay first.
async fn delay(s: &MockState) {
    let delay = *s.delay.lock();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

/// The next injected failure, if one is queued.
fn take_failure(s: &MockState) -> Option<u16> {
    let mut failures = s.failures.lock();
    (!failures.is_empty()).then(|| failures.remove(0))
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Tavily's error body: `{"detail": {"error": message}}`.
fn tavily_error(status: StatusCode, message: &str) -> Response {
    json_response(status, json!({ "detail": { "error": message } }))
}

async fn tavily_search(
    State(s): State<Arc<MockState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let value = parsed.clone().unwrap_or(Value::Null);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let api_key = value
        .get("api_key")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or(bearer);
    let query = value
        .get("query")
        .and_then(Value::as_str)
        .map(str::to_owned);
    s.requests.lock().push(SearchRequest {
        vendor: Vendor::Tavily,
        api_key: api_key.clone(),
        query: query.clone(),
        body: value.clone(),
    });
    delay(&s).await;
    if api_key.as_deref() != Some(s.api_key.as_str()) {
        return tavily_error(StatusCode::UNAUTHORIZED, TAVILY_UNAUTHORIZED);
    }
    if let Some(status) = take_failure(&s) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return tavily_error(status, "Injected failure.");
    }
    let Some(Value::Object(_)) = parsed else {
        return tavily_error(StatusCode::BAD_REQUEST, "Invalid JSON body.");
    };
    let Some(query) = query.filter(|q| !q.trim().is_empty()) else {
        return tavily_error(StatusCode::BAD_REQUEST, "Query is missing.");
    };
    let max_results = match value.get("max_results") {
        None | Some(Value::Null) => TAVILY_DEFAULT_MAX_RESULTS,
        Some(v) => match v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n <= MAX_RESULTS)
        {
            Some(n) => n,
            None => {
                return tavily_error(
                    StatusCode::BAD_REQUEST,
                    "max_results must be an integer from 0 to 20.",
                );
            }
        },
    };
    let results: Vec<Value> = (1..=max_results)
        .map(|rank| {
            json!({
                "title": result_title(&query, rank),
                "url": result_url(&query, rank),
                "content": result_text(&query, rank),
                "score": score(rank),
                "raw_content": null,
            })
        })
        .collect();
    json_response(
        StatusCode::OK,
        json!({
            "query": query,
            "follow_up_questions": null,
            "answer": null,
            "images": [],
            "results": results,
            "response_time": 0.42,
        }),
    )
}

/// Brave's error body (`{"type": "ErrorResponse", "error": {...}, "time": ...}`).
fn brave_error(status: StatusCode, code: &str, detail: &str, component: &str) -> Response {
    json_response(
        status,
        json!({
            "type": "ErrorResponse",
            "error": {
                "id": "00000000-0000-4000-8000-000000000000",
                "status": status.as_u16(),
                "code": code,
                "detail": detail,
                "meta": { "component": component },
            },
            "time": 1_700_000_000,
        }),
    )
}

async fn brave_search(
    State(s): State<Arc<MockState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let params: serde_json::Map<String, Value> =
        form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
    let api_key = headers
        .get("x-subscription-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let query = params.get("q").and_then(Value::as_str).map(str::to_owned);
    s.requests.lock().push(SearchRequest {
        vendor: Vendor::Brave,
        api_key: api_key.clone(),
        query: query.clone(),
        body: Value::Object(params.clone()),
    });
    delay(&s).await;
    if api_key.as_deref() != Some(s.api_key.as_str()) {
        return brave_error(
            StatusCode::UNAUTHORIZED,
            "SUBSCRIPTION_TOKEN_INVALID",
            BRAVE_TOKEN_INVALID,
            "authentication",
        );
    }
    if let Some(status) = take_failure(&s) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return brave_error(status, "INTERNAL_ERROR", "Injected failure.", "search");
    }
    let Some(query) = query.filter(|q| !q.trim().is_empty()) else {
        return brave_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION",
            "Unable to validate request parameter(s)",
            "validation",
        );
    };
    let count = match params.get("count").and_then(Value::as_str) {
        None => BRAVE_DEFAULT_COUNT,
        Some(c) => match c
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_RESULTS).contains(n))
        {
            Some(n) => n,
            None => {
                return brave_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "VALIDATION",
                    "Unable to validate request parameter(s)",
                    "validation",
                );
            }
        },
    };
    json_response(StatusCode::OK, brave_answer(&query, count))
}

/// A Brave web search answer: `web.results` in Brave's field order, and `mixed.main` ranking
/// them, which is what clients (0.3.5's tool among them) read the order from.
fn brave_answer(query: &str, count: usize) -> Value {
    let results: Vec<Value> = (1..=count)
        .map(|rank| {
            let url = result_url(query, rank);
            json!({
                "title": result_title(query, rank),
                "url": url,
                "is_source_local": false,
                "is_source_both": false,
                "description": result_text(query, rank),
                "language": "en",
                "family_friendly": true,
                "type": "search_result",
                "subtype": "generic",
                "is_live": false,
                "meta_url": { "scheme": "https", "netloc": "example.com", "hostname": "example.com", "path": format!("› {rank}") },
                "extra_snippets": [format!("More about {query}, part {rank}.")],
            })
        })
        .collect();
    let main: Vec<Value> = (0..count)
        .map(|index| json!({ "type": "web", "index": index, "all": false }))
        .collect();
    json!({
        "query": { "original": query, "show_strict_warning": false, "is_navigational": false, "more_results_available": true },
        "mixed": { "type": "mixed", "main": main, "top": [], "side": [] },
        "type": "search",
        "web": { "type": "search", "results": results, "family_friendly": true },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tavily_checks_the_key_and_honours_max_results() {
        let mock = WebSearchMock::start("k").await.unwrap();
        let client = reqwest::Client::new();
        let url = format!("{}/search", mock.url());
        let bad = client
            .post(&url)
            .json(&json!({"api_key": "x", "query": "q"}))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 401);
        assert_eq!(
            bad.json::<Value>().await.unwrap(),
            json!({"detail": {"error": TAVILY_UNAUTHORIZED}})
        );
        let ok: Value = client
            .post(&url)
            .json(&json!({"api_key": "k", "query": "rust", "max_results": 2}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ok["query"], "rust");
        assert_eq!(ok["results"].as_array().unwrap().len(), 2);
        assert_eq!(ok["results"][1]["title"], result_title("rust", 2));
        let default: Value = client
            .post(&url)
            .bearer_auth("k")
            .json(&json!({"query": "rust"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            default["results"].as_array().unwrap().len(),
            TAVILY_DEFAULT_MAX_RESULTS
        );
        mock.fail_next(&[503]);
        let failed = client
            .post(&url)
            .json(&json!({"api_key": "k", "query": "q"}))
            .send()
            .await
            .unwrap();
        assert_eq!(failed.status(), 503);
        assert_eq!(mock.requests().len(), 4);
    }

    #[tokio::test]
    async fn brave_checks_the_token_and_ranks_with_mixed() {
        let mock = WebSearchMock::start("k").await.unwrap();
        let client = reqwest::Client::new();
        let url = format!("{}/res/v1/web/search", mock.url());
        let bad = client
            .get(&url)
            .query(&[("q", "q")])
            .header("X-Subscription-Token", "x")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 401);
        assert_eq!(
            bad.json::<Value>().await.unwrap()["error"]["code"],
            "SUBSCRIPTION_TOKEN_INVALID"
        );
        let ok: Value = client
            .get(&url)
            .query(&[("q", "a b"), ("count", "3")])
            .header("X-Subscription-Token", "k")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ok["web"]["results"].as_array().unwrap().len(), 3);
        assert_eq!(
            ok["mixed"]["main"][2],
            json!({"type": "web", "index": 2, "all": false})
        );
        assert_eq!(ok["web"]["results"][0]["title"], result_title("a b", 1));
        let missing = client
            .get(&url)
            .header("X-Subscription-Token", "k")
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 422);
    }
}
