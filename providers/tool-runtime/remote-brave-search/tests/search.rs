//! `remote::brave-search` against the test kit's Brave mock: what is sent to Brave and
//! answered. Keys, refused keys, backend failures and bad calls are the shared web search
//! scenarios (`tests/conformance.rs`).

// Helpers (not #[test] functions) unwrap their setup.
#![allow(clippy::unwrap_used)]

use lls_api_common::Secret;
use lls_testkit::WebSearchMock;
use lls_testkit::websearch_mock::{Vendor, result_title};
use lls_testkit::websearch_suite::search_text;
use lls_tool_runtime_remote_brave_search::{BraveSearchConfig, BraveSearchProvider};
use serde_json::json;

const KEY: &str = "brave-good";

/// `web_search(query=q)` of a provider with `config`.
async fn search(config: &BraveSearchConfig, q: &str) -> String {
    let p = BraveSearchProvider::new("brave-search", config).unwrap();
    search_text(&p, q).await.unwrap()
}

fn config(base_url: String) -> BraveSearchConfig {
    BraveSearchConfig {
        api_key: Some(Secret::new(KEY)),
        base_url,
        ..BraveSearchConfig::default()
    }
}

#[tokio::test]
async fn a_search_with_the_config_key_answers_upstreams_text() {
    let mock = WebSearchMock::start(KEY).await.unwrap();
    let text = search(&config(mock.url()), "rust lang").await;
    // One str() of a cleaned web result per line, max_results (3) of them, as 0.3.5 writes them.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0],
        "{'title': 'rust lang: result 1', 'url': 'https://example.com/rust-lang/1', \
         'description': 'Result 1 of the web search for \"rust lang\".', 'type': 'search_result', \
         'extra_snippets': ['More about rust lang, part 1.']}"
    );
    assert!(lines[2].contains(&result_title("rust lang", 3)), "{text}");
    let sent = mock.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].vendor, Vendor::Brave);
    assert_eq!(sent[0].api_key.as_deref(), Some(KEY));
    assert_eq!(sent[0].body, json!({ "q": "rust lang" }));
}

#[tokio::test]
async fn max_results_is_honoured() {
    let mock = WebSearchMock::start(KEY).await.unwrap();
    let config = BraveSearchConfig {
        max_results: 5,
        ..config(mock.url())
    };
    let text = search(&config, "q").await;
    assert_eq!(text.lines().count(), 5, "{text}");
}
