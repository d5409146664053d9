//! The scenarios every web search tool runtime provider (Tavily, Brave) must pass against the
//! [`WebSearchMock`]: listing without a key, where the key comes from, refused keys, backend
//! failures and bad calls; [`websearch_scenarios!`](crate::websearch_scenarios) turns them into
//! one test each inside a provider crate, which keeps only its vendor's request and result
//! text tests; [`WebSearchHarness::tool_harness`] runs the tool runtime conformance suite
//! against the same mock.
//!
//! ```ignore
//! // providers/tool-runtime/remote-foo-search/tests/conformance.rs
//! fn harness() -> WebSearchHarness {
//!     WebSearchHarness::new(Vendor::Tavily, "foo-search", PROVIDER_DATA_KEY, "FOO_API_KEY", |s| {
//!         let config = FooConfig { base_url: s.base_url, ..FooConfig::default() };
//!         Ok(Arc::new(FooProvider::new("foo-search", &config)?))
//!     })
//! }
//! lls_testkit::tool_runtime_conformance!(async { harness().tool_harness().await.expect("mock") });
//! lls_testkit::websearch_scenarios!(async { harness() });
//! ```

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, ensure};
use lls_api_common::{ErrorKind, RequestContext};
use lls_api_tool_runtime::{InterleavedContent, ToolDef, ToolGroup, ToolRuntimeProvider};
use serde_json::{Map, Value, json};

pub use crate::scenario::{Outcome, ScenarioResult, TestResult};
use crate::scenario::{Runtime, Scenario, Suite};
use crate::tool_runtime_suite::{ToolCallCase, ToolHarness};
use crate::websearch_mock::{
    BRAVE_TOKEN_INVALID, TAVILY_UNAUTHORIZED, Vendor, WebSearchMock, result_title,
};

/// The key the mock accepts in every scenario.
pub const KEY: &str = "websearch-suite-key";

/// The one tool of a web search group, as 0.3.5 names it.
const WEB_SEARCH: &str = "web_search";

/// What a scenario asks the provider crate to build its provider with.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSearchSetup {
    pub base_url: String,
    /// The config `api_key`.
    pub api_key: Option<String>,
    /// The config `timeout` (seconds); `None` keeps the default.
    pub timeout: Option<f64>,
}

/// Builds the provider under test from a [`WebSearchSetup`].
pub type BuildProvider = Box<
    dyn Fn(WebSearchSetup) -> lls_api_common::Result<Arc<dyn ToolRuntimeProvider>> + Send + Sync,
>;

/// What a provider crate gives the scenarios.
pub struct WebSearchHarness {
    /// The API the provider calls (and so the mock's answer to a refused key).
    pub vendor: Vendor,
    /// The provider id `build` gives the provider; errors name it.
    pub provider_id: String,
    /// The provider data key of a per-request key.
    pub provider_data_key: String,
    /// The environment variable the no-key error names.
    pub key_env: String,
    pub build: BuildProvider,
}

impl WebSearchHarness {
    pub fn new(
        vendor: Vendor,
        provider_id: &str,
        provider_data_key: &str,
        key_env: &str,
        build: impl Fn(WebSearchSetup) -> lls_api_common::Result<Arc<dyn ToolRuntimeProvider>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        WebSearchHarness {
            vendor,
            provider_id: provider_id.to_owned(),
            provider_data_key: provider_data_key.to_owned(),
            key_env: key_env.to_owned(),
            build: Box::new(build),
        }
    }

    fn provider(
        &self,
        base_url: &str,
        api_key: Option<&str>,
        timeout: Option<f64>,
    ) -> anyhow::Result<Arc<dyn ToolRuntimeProvider>> {
        (self.build)(WebSearchSetup {
            base_url: base_url.to_owned(),
            api_key: api_key.map(str::to_owned),
            timeout,
        })
        .map_err(|e| anyhow!("the provider does not build: {e}"))
    }

    /// A request context carrying `key` in provider data.
    fn with_key(&self, key: &str) -> RequestContext {
        let mut data = Map::new();
        data.insert(self.provider_data_key.clone(), key.into());
        RequestContext::new(data)
    }

    /// What the vendor (the mock) says of a refused key.
    fn refusal(&self) -> &'static str {
        match self.vendor {
            Vendor::Tavily => TAVILY_UNAUTHORIZED,
            Vendor::Brave => BRAVE_TOKEN_INVALID,
        }
    }

    /// The tool runtime conformance suite's harness: the group `builtin::websearch` over a
    /// fresh mock, the key in the config as the starter distribution configures it, and a
    /// search whose text names the mock's first result.
    pub async fn tool_harness(self) -> anyhow::Result<ToolHarness> {
        let mock = mock().await?;
        let provider = self.provider(&mock.url(), Some(KEY), None)?;
        Ok(ToolHarness {
            provider,
            group: ToolGroup::new("builtin::websearch", &self.provider_id, None, None),
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
        })
    }
}

impl std::fmt::Debug for WebSearchHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSearchHarness")
            .field("vendor", &self.vendor)
            .field("provider_id", &self.provider_id)
            .finish_non_exhaustive()
    }
}

/// The suite: every scenario (the scenarios [`websearch_scenarios!`](crate::websearch_scenarios)
/// must generate), each run on a fresh single-threaded runtime for at most a minute.
pub const SUITE: Suite<()> = Suite {
    api: "websearch",
    scenarios: &[
        Scenario::always("lists_web_search_without_a_key"),
        Scenario::always("the_provider_data_key_wins_over_the_config_key"),
        Scenario::always("no_key_anywhere_is_a_400_saying_what_to_set"),
        Scenario::always("a_refused_key_is_the_callers_401_or_the_operators_502"),
        Scenario::always("backend_failures_map_to_502_503_and_504"),
        Scenario::always("an_unreachable_backend_is_a_503"),
        Scenario::always("bad_arguments_and_unknown_tools_are_client_errors"),
    ],
    timeout: Duration::from_secs(60),
    runtime: Runtime::CurrentThread,
};

/// `web_search`'s input schema, as 0.3.5 lists it.
fn query_schema() -> Map<String, Value> {
    let schema = json!({
        "type": "object",
        "properties": {"query": {"type": "string", "description": "The query to search for"}},
        "required": ["query"],
    });
    match schema {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn query(q: &str) -> Map<String, Value> {
    let mut kwargs = Map::new();
    kwargs.insert("query".into(), q.into());
    kwargs
}

/// `web_search(query=q)`: its text, or the error it fails with.
async fn search(
    p: &dyn ToolRuntimeProvider,
    ctx: &RequestContext,
    q: &str,
) -> anyhow::Result<lls_api_common::Result<String>> {
    let result = match p
        .invoke_tool(ctx, &ToolDef::named(WEB_SEARCH), query(q))
        .await
    {
        Ok(result) => result,
        Err(e) => return Ok(Err(e)),
    };
    ensure!(
        !result.is_error(),
        "the search reported an error: {result:?}"
    );
    match result.content {
        Some(InterleavedContent::Text(text)) => Ok(Ok(text)),
        other => Err(anyhow!("content is not a string: {other:?}")),
    }
}

/// `web_search(query=q)` without provider data: its text; a failed search is an `Err`.
pub async fn search_text(p: &dyn ToolRuntimeProvider, q: &str) -> anyhow::Result<String> {
    search(p, &RequestContext::default(), q)
        .await?
        .map_err(|e| anyhow!("the search failed: {e}"))
}

/// A search that must fail: its error.
async fn failed_search(
    p: &dyn ToolRuntimeProvider,
    ctx: &RequestContext,
    q: &str,
) -> anyhow::Result<lls_api_common::Error> {
    match search(p, ctx, q).await? {
        Ok(text) => Err(anyhow!("the search succeeded: {text:?}")),
        Err(e) => Ok(e),
    }
}

async fn mock() -> anyhow::Result<WebSearchMock> {
    WebSearchMock::start(KEY)
        .await
        .context("starting the web search mock")
}

/// The group lists `web_search` as 0.3.5 lists it, with no key configured.
pub async fn lists_web_search_without_a_key(h: &WebSearchHarness) -> ScenarioResult {
    let p = h.provider("http://127.0.0.1:9", None, None)?;
    let tools = p
        .list_runtime_tools(&RequestContext::default(), Some("builtin::websearch"), None)
        .await
        .map_err(|e| anyhow!("listing failed: {e}"))?;
    let want = json!([{
        "toolgroup_id": "builtin::websearch", "name": WEB_SEARCH,
        "description": "Search the web for information",
        "input_schema": query_schema(),
        "output_schema": null, "metadata": null,
    }]);
    let got = serde_json::to_value(&tools)?;
    ensure!(got == want, "listed {got}, want {want}");
    Ok(Outcome::Passed)
}

/// A key in provider data is used over the configured one, and is enough without one.
pub async fn the_provider_data_key_wins_over_the_config_key(
    h: &WebSearchHarness,
) -> ScenarioResult {
    let mock = mock().await?;
    let p = h.provider(&mock.url(), Some("config-key-that-the-mock-refuses"), None)?;
    search(p.as_ref(), &h.with_key(KEY), "q")
        .await?
        .map_err(|e| anyhow!("search with the provider data key failed: {e}"))?;
    let sent = mock.requests();
    ensure!(
        sent.len() == 1 && sent[0].vendor == h.vendor,
        "sent {sent:?}"
    );
    ensure!(sent[0].api_key.as_deref() == Some(KEY), "sent {sent:?}");
    let p = h.provider(&mock.url(), None, None)?;
    search(p.as_ref(), &h.with_key(KEY), "q")
        .await?
        .map_err(|e| anyhow!("search without a config key failed: {e}"))?;
    Ok(Outcome::Passed)
}

/// Without a key (an empty config key counts as none) nothing is sent, and the 400 says where
/// to put one.
pub async fn no_key_anywhere_is_a_400_saying_what_to_set(h: &WebSearchHarness) -> ScenarioResult {
    let mock = mock().await?;
    let p = h.provider(&mock.url(), Some(""), None)?;
    let e = failed_search(p.as_ref(), &RequestContext::default(), "q").await?;
    ensure!(e.kind() == ErrorKind::InvalidRequest, "{e}");
    for wanted in [
        "X-LlamaStack-Provider-Data",
        h.provider_data_key.as_str(),
        h.key_env.as_str(),
    ] {
        ensure!(e.message().contains(wanted), "{e} does not name {wanted}");
    }
    ensure!(
        mock.requests().is_empty(),
        "something was sent without a key"
    );
    Ok(Outcome::Passed)
}

/// A refused key from provider data is the caller's 401; from the config, the operator's
/// upstream error naming the provider.
pub async fn a_refused_key_is_the_callers_401_or_the_operators_502(
    h: &WebSearchHarness,
) -> ScenarioResult {
    let mock = mock().await?;
    let p = h.provider(&mock.url(), Some("wrong"), None)?;
    let e = failed_search(p.as_ref(), &h.with_key("also-wrong"), "q").await?;
    ensure!(e.kind() == ErrorKind::Unauthenticated, "{e}");
    ensure!(e.message().contains(h.refusal()), "{e}");
    ensure!(e.upstream_status() == Some(401), "{e}");
    let e = failed_search(p.as_ref(), &RequestContext::default(), "q").await?;
    ensure!(e.kind() == ErrorKind::UpstreamError, "{e}");
    ensure!(e.message().contains("rejected the API key"), "{e}");
    ensure!(e.provider() == Some(h.provider_id.as_str()), "{e}");
    Ok(Outcome::Passed)
}

/// A vendor 500 is an upstream error, a 503 unavailable, and a search past the timeout a
/// timeout; the provider recovers after each.
pub async fn backend_failures_map_to_502_503_and_504(h: &WebSearchHarness) -> ScenarioResult {
    let mock = mock().await?;
    let ctx = RequestContext::default();
    let p = h.provider(&mock.url(), Some(KEY), None)?;
    mock.fail_next(&[500, 503]);
    for kind in [ErrorKind::UpstreamError, ErrorKind::UpstreamUnavailable] {
        let e = failed_search(p.as_ref(), &ctx, "q").await?;
        ensure!(e.kind() == kind, "{e}: want {kind:?}");
    }
    search(p.as_ref(), &ctx, "q")
        .await?
        .map_err(|e| anyhow!("the search after the failures failed: {e}"))?;

    let slow = h.provider(&mock.url(), Some(KEY), Some(0.2))?;
    mock.set_delay(Duration::from_secs(2));
    let e = failed_search(slow.as_ref(), &ctx, "q").await?;
    ensure!(e.kind() == ErrorKind::Timeout, "{e}");
    Ok(Outcome::Passed)
}

/// Nothing listening at `base_url` is a 503.
pub async fn an_unreachable_backend_is_a_503(h: &WebSearchHarness) -> ScenarioResult {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let p = h.provider(&format!("http://127.0.0.1:{port}"), Some(KEY), None)?;
    let e = failed_search(p.as_ref(), &RequestContext::default(), "q").await?;
    ensure!(e.kind() == ErrorKind::UpstreamUnavailable, "{e}");
    Ok(Outcome::Passed)
}

/// A missing or non-string `query` is a 400 and another tool's name a 404; nothing is sent.
pub async fn bad_arguments_and_unknown_tools_are_client_errors(
    h: &WebSearchHarness,
) -> ScenarioResult {
    let mock = mock().await?;
    let p = h.provider(&mock.url(), Some(KEY), None)?;
    let ctx = RequestContext::default();
    let web_search = ToolDef::named(WEB_SEARCH);
    let mut not_a_string = Map::new();
    not_a_string.insert("query".into(), 3.into());
    for kwargs in [Map::new(), not_a_string] {
        match p.invoke_tool(&ctx, &web_search, kwargs.clone()).await {
            Err(e) if e.kind() == ErrorKind::InvalidRequest => {}
            other => return Err(anyhow!("{kwargs:?} answered {other:?}")),
        }
    }
    for other in ["tavily_search", "brave_search"] {
        match p
            .invoke_tool(&ctx, &ToolDef::named(other), query("q"))
            .await
        {
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            answer => return Err(anyhow!("{other} answered {answer:?}")),
        }
    }
    ensure!(mock.requests().is_empty(), "a bad call was sent");
    Ok(Outcome::Passed)
}

/// Expands into one `#[test]` per scenario of the web search suite (each on its own tokio
/// runtime) inside a module `websearch_scenarios`, plus a `scenario_count` test. `$setup` is an
/// async block evaluating to a [`WebSearchHarness`]; it runs anew for every test.
#[macro_export]
macro_rules! websearch_scenarios {
    ($setup:expr $(,)?) => {
        $crate::__conformance_tests!(
            mod websearch_scenarios, suite websearch_suite, setup $setup,
            |h: $crate::websearch_suite::WebSearchHarness| (&h),
            features { let _ = &h; ::std::result::Result::Ok(()) };
            lists_web_search_without_a_key,
            the_provider_data_key_wins_over_the_config_key,
            no_key_anywhere_is_a_400_saying_what_to_set,
            a_refused_key_is_the_callers_401_or_the_operators_502,
            backend_failures_map_to_502_503_and_504,
            an_unreachable_backend_is_a_503,
            bad_arguments_and_unknown_tools_are_client_errors,
        );
    };
}
