//! `remote::tavily-search` against the test kit's Tavily mock: what is sent to Tavily and
//! answered. Keys, refused keys, backend failures and bad calls are the shared web search
//! scenarios (`tests/conformance.rs`).

// Helpers (not #[test] functions) unwrap their setup.
#![allow(clippy::unwrap_used)]

use lls_api_common::Secret;
use lls_testkit::WebSearchMock;
use lls_testkit::websearch_mock::{Vendor, result_title};
use lls_testkit::websearch_suite::search_text;
use lls_tool_runtime_remote_tavily_search::{TavilySearchConfig, TavilySearchProvider};
use serde_json::{Value, json};

const KEY: &str = "tvly-good";

/// `json.dumps(_clean_tavily_response(answer))` of the mock's answer to "rust", by CPython 3.13.
const TAVILY_RUST: &str = r#"{"query": "rust", "top_k": [{"title": "rust: result 1", "url": "https://example.com/rust/1", "content": "Result 1 of the web search for \"rust\".", "score": 0.99, "raw_content": null}, {"title": "rust: result 2", "url": "https://example.com/rust/2", "content": "Result 2 of the web search for \"rust\".", "score": 0.95, "raw_content": null}, {"title": "rust: result 3", "url": "https://example.com/rust/3", "content": "Result 3 of the web search for \"rust\".", "score": 0.91, "raw_content": null}]}"#;

/// `web_search(query=q)` of a provider with `config`.
async fn search(config: &TavilySearchConfig, q: &str) -> String {
    let p = TavilySearchProvider::new("tavily-search", config).unwrap();
    search_text(&p, q).await.unwrap()
}

fn config(base_url: String) -> TavilySearchConfig {
    TavilySearchConfig {
        api_key: Some(Secret::new(KEY)),
        base_url,
        ..TavilySearchConfig::default()
    }
}

#[tokio::test]
async fn a_search_with_the_config_key_answers_upstreams_text() {
    let mock = WebSearchMock::start(KEY).await.unwrap();
    let text = search(&config(mock.url()), "rust").await;
    // json.dumps({"query": ..., "top_k": results}) as 0.3.5 writes it.
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        parsed.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["query", "top_k"]
    );
    assert_eq!(parsed["query"], "rust");
    let top = parsed["top_k"].as_array().unwrap();
    assert_eq!(top.len(), 3, "max_results defaults to 3");
    assert_eq!(top[0]["title"], result_title("rust", 1));
    // Exactly what 0.3.5's json.dumps writes for the mock's answer (tests/compat checks it).
    assert_eq!(text, TAVILY_RUST);
    let sent = mock.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].vendor, Vendor::Tavily);
    assert_eq!(
        sent[0].body,
        json!({ "api_key": KEY, "query": "rust", "max_results": 3 })
    );
}

#[tokio::test]
async fn max_results_is_sent_and_honoured() {
    let mock = WebSearchMock::start(KEY).await.unwrap();
    let config = TavilySearchConfig {
        max_results: 7,
        ..config(mock.url())
    };
    let text = search(&config, "q").await;
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed["top_k"].as_array().unwrap().len(), 7);
    assert_eq!(mock.requests()[0].body["max_results"], 7);
}
