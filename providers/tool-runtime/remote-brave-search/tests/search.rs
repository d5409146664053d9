//! `remote::brave-search` against the test kit's Brave mock: listing, keys (config, provider
//! data, none, refused), what is sent and answered, and each backend failure's error kind.
// Helpers (not #[test] functions) unwrap their setup and panic on a wrong content shape.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use lls_api_common::{ErrorKind, RequestContext, Secret};
use lls_api_tool_runtime::{InterleavedContent, ToolRuntimeProvider};
use lls_testkit::WebSearchMock;
use lls_testkit::websearch_mock::{BRAVE_TOKEN_INVALID, Vendor, result_title};
use lls_tool_runtime_remote_brave_search::{
    BraveSearchConfig, BraveSearchProvider, PROVIDER_DATA_KEY, web_search_tool,
};
use serde_json::{Map, Value, json};

const KEY: &str = "brave-good";

fn provider(base_url: &str, key: Option<&str>) -> BraveSearchProvider {
    let config = BraveSearchConfig {
        api_key: key.map(Secret::new),
        base_url: base_url.into(),
        ..BraveSearchConfig::default()
    };
    BraveSearchProvider::new("brave-search", &config).unwrap()
}

fn query(q: &str) -> Map<String, Value> {
    json!({ "query": q }).as_object().cloned().unwrap()
}

fn with_key(key: &str) -> RequestContext {
    RequestContext::new(
        json!({ PROVIDER_DATA_KEY: key })
            .as_object()
            .cloned()
            .unwrap(),
    )
}

async fn search(
    p: &BraveSearchProvider,
    ctx: &RequestContext,
    q: &str,
) -> lls_api_common::Result<String> {
    let result = p.invoke_tool(ctx, &web_search_tool(None), query(q)).await?;
    assert!(!result.is_error(), "{result:?}");
    match result.content {
        Some(InterleavedContent::Text(text)) => Ok(text),
        other => panic!("content is not a string: {other:?}"),
    }
}

#[tokio::test]
async fn lists_web_search_without_a_key() {
    let p = provider("http://127.0.0.1:9", None);
    let tools = p
        .list_runtime_tools(&RequestContext::default(), Some("builtin::websearch"), None)
        .await
        .unwrap();
    assert_eq!(tools, vec![web_search_tool(Some("builtin::websearch"))]);
    assert_eq!(
        tools[0].description.as_deref(),
        Some("Search the web for information")
    );
    assert_eq!(
        tools[0].input_schema.as_ref().unwrap()["required"],
        json!(["query"])
    );
}

#[tokio::test]
async fn a_search_with_the_config_key_answers_upstreams_text() {
    let mock = WebSearchMock::start(KEY).await.unwrap();
    let p = provider(&mock.url(), Some(KEY));
    let text = search(&p, &RequestContext::default(), "rust lang")
        .await
        .unwrap();
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
        api_key: Some(Secret::new(KEY)),
        base_url: mock.url(),
        max_results: 5,
        ..BraveSearchConfig::default()
    };
    let p = BraveSearchProvider::new("brave-search", &config).unwrap();
    let text = search(&p, &RequestContext::default(), "q").await.unwrap();
    assert_eq!(text.lines().count(), 5, "{text}");
}

#[tokio::test]
async fn the_provider_data_key_wins_over_the_config_key() {
    let mock = WebSearchMock::start(KEY).await.unwrap();
    let p = provider(&mock.url(), Some("brave-config-key-that-the-mock-refuses"));
    search(&p, &with_key(KEY), "q").await.unwrap();
    assert_eq!(mock.requests()[0].api_key.as_deref(), Some(KEY));
    let p = provider(&mock.url(), None);
    search(&p, &with_key(KEY), "q").await.unwrap();
}

#[tokio::test]
async fn no_key_anywhere_is_a_400_saying_what_to_set() {
    let mock = WebSearchMock::start(KEY).await.unwrap();
    let p = provider(&mock.url(), Some(""));
    let e = search(&p, &RequestContext::default(), "q")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(
        e.message().contains("X-LlamaStack-Provider-Data")
            && e.message().contains(PROVIDER_DATA_KEY),
        "{e}"
    );
    assert!(e.message().contains("BRAVE_SEARCH_API_KEY"), "{e}");
    assert!(mock.requests().is_empty(), "nothing is sent without a key");
}

#[tokio::test]
async fn a_refused_key_is_the_callers_401_or_the_operators_502() {
    let mock = WebSearchMock::start(KEY).await.unwrap();
    let p = provider(&mock.url(), Some("brave-wrong"));
    let e = search(&p, &with_key("brave-also-wrong"), "q")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert!(e.message().contains(BRAVE_TOKEN_INVALID), "{e}");
    assert_eq!(e.upstream_status(), Some(401));
    let e = search(&p, &RequestContext::default(), "q")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamError);
    assert!(e.message().contains("rejected the API key"), "{e}");
    assert_eq!(e.provider(), Some("brave-search"));
}

#[tokio::test]
async fn backend_failures_map_to_502_503_and_504() {
    let mock = WebSearchMock::start(KEY).await.unwrap();
    let p = provider(&mock.url(), Some(KEY));
    mock.fail_next(&[500, 503]);
    assert_eq!(
        search(&p, &RequestContext::default(), "q")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::UpstreamError
    );
    assert_eq!(
        search(&p, &RequestContext::default(), "q")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::UpstreamUnavailable
    );
    search(&p, &RequestContext::default(), "q").await.unwrap();

    let config = BraveSearchConfig {
        api_key: Some(Secret::new(KEY)),
        base_url: mock.url(),
        timeout: 0.2,
        ..BraveSearchConfig::default()
    };
    let slow = BraveSearchProvider::new("brave-search", &config).unwrap();
    mock.set_delay(Duration::from_secs(2));
    let e = search(&slow, &RequestContext::default(), "q")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

#[tokio::test]
async fn an_unreachable_backend_is_a_503() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = provider(&format!("http://127.0.0.1:{port}"), Some(KEY));
    let e = search(&p, &RequestContext::default(), "q")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "{e}");
}

#[tokio::test]
async fn bad_arguments_and_unknown_tools_are_client_errors() {
    let mock = WebSearchMock::start(KEY).await.unwrap();
    let p = provider(&mock.url(), Some(KEY));
    let ctx = RequestContext::default();
    let e = p
        .invoke_tool(&ctx, &web_search_tool(None), Map::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    let mut other = web_search_tool(None);
    other.name = "tavily_search".into();
    assert_eq!(
        p.invoke_tool(&ctx, &other, query("q"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert!(mock.requests().is_empty());
}
