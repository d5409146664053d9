//! The shared suites run against the test kit's Brave mock: the tool runtime conformance suite
//! (the key in the config, as the starter distribution configures it) and the web search
//! scenarios every search vendor must pass (`lls_testkit::websearch_suite`).
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use lls_api_common::Secret;
use lls_testkit::websearch_mock::Vendor;
use lls_testkit::websearch_suite::WebSearchHarness;
use lls_tool_runtime_remote_brave_search::{
    BraveSearchConfig, BraveSearchProvider, PROVIDER_DATA_KEY,
};

fn harness() -> WebSearchHarness {
    WebSearchHarness::new(
        Vendor::Brave,
        "brave-search",
        PROVIDER_DATA_KEY,
        "BRAVE_SEARCH_API_KEY",
        |setup| {
            let mut config = BraveSearchConfig {
                api_key: setup.api_key.map(Secret::new),
                base_url: setup.base_url,
                ..BraveSearchConfig::default()
            };
            config.timeout = setup.timeout.unwrap_or(config.timeout);
            Ok(Arc::new(BraveSearchProvider::new("brave-search", &config)?))
        },
    )
}

lls_testkit::tool_runtime_conformance!(async {
    harness()
        .tool_harness()
        .await
        .expect("the web search mock starts")
});

lls_testkit::websearch_scenarios!(async { harness() });
