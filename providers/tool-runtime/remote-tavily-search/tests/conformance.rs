//! The shared tool runtime conformance suite, run against the test kit's Tavily mock with the
//! key in the config, as the starter distribution configures it.
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use lls_api_common::RequestContext;
use lls_api_common::Secret;
use lls_api_tool_runtime::ToolGroup;
use lls_testkit::WebSearchMock;
use lls_testkit::tool_runtime_suite::{ToolCallCase, ToolHarness};
use lls_testkit::websearch_mock::result_title;
use lls_tool_runtime_remote_tavily_search::{
    TavilySearchConfig, TavilySearchProvider, WEB_SEARCH, query_schema,
};
use serde_json::json;

const KEY: &str = "tvly-conformance";

async fn harness() -> ToolHarness {
    let mock = WebSearchMock::start(KEY).await.expect("mock starts");
    let config = TavilySearchConfig {
        api_key: Some(Secret::new(KEY)),
        base_url: mock.url(),
        ..TavilySearchConfig::default()
    };
    let provider = TavilySearchProvider::new("tavily-search", &config).expect("provider builds");
    ToolHarness {
        provider: Arc::new(provider),
        group: ToolGroup::new("builtin::websearch", "tavily-search", None, None),
        ctx: RequestContext::default(),
        call: ToolCallCase::new(
            WEB_SEARCH,
            json!({ "query": "llama stack" }),
            result_title("llama stack", 1),
        ),
        schema: (WEB_SEARCH.into(), query_schema()),
        // web_search has no failure of its own to report: every failure is an HTTP error.
        failing_tool: None,
        _guard: Box::new(mock),
    }
}

lls_testkit::tool_runtime_conformance!(harness());
