//! The conformance suite of the tool runtime API: scenario functions taking a [`ToolHarness`],
//! and [`tool_runtime_conformance!`](crate::tool_runtime_conformance) to turn them into one test
//! each inside a provider crate.
//!
//! ```ignore
//! // providers/tool-runtime/remote-foo/tests/conformance.rs
//! lls_testkit::tool_runtime_conformance!(async {
//!     let server = TestMcpServer::start().await.unwrap();
//!     ToolHarness {
//!         provider: Arc::new(FooProvider::new()),
//!         group: ToolGroup::new("mcp::test", "foo", Some(McpEndpoint { uri: server.sse_url() }), None),
//!         ctx: RequestContext::default(),
//!         call: ToolCallCase::new("greet_everyone", json!({ "url": "x" }), "Hello"),
//!         schema: ("book_flight".into(), book_flight_schema()),
//!         failing_tool: Some("always_fails".into()),
//!         _guard: Box::new(server),
//!     }
//! });
//! ```

use std::any::Any;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, ensure};
use lls_api_common::{ErrorKind, RequestContext};
use lls_api_tool_runtime::{ToolDef, ToolGroup, ToolRuntimeProvider};
use serde_json::{Map, Value};

pub use crate::scenario::{Outcome, ScenarioResult, TestResult};
use crate::scenario::{Runtime, Scenario, Suite};

/// One call the suite makes, and a piece of text its result must contain.
#[derive(Debug, Clone)]
pub struct ToolCallCase {
    pub tool: String,
    pub kwargs: Map<String, Value>,
    pub expect_text: String,
}

impl ToolCallCase {
    /// `kwargs` must be a JSON object (anything else counts as no arguments).
    pub fn new(tool: impl Into<String>, kwargs: Value, expect_text: impl Into<String>) -> Self {
        let kwargs = match kwargs {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        ToolCallCase {
            tool: tool.into(),
            kwargs,
            expect_text: expect_text.into(),
        }
    }
}

/// What a provider crate's setup gives the suite. `_guard` keeps the backend (a test MCP
/// server) alive for the test.
pub struct ToolHarness {
    pub provider: Arc<dyn ToolRuntimeProvider>,
    /// The group whose tools are listed and called.
    pub group: ToolGroup,
    /// The request context the group's backend needs (credentials in provider data).
    pub ctx: RequestContext,
    pub call: ToolCallCase,
    /// A tool and the exact input schema it must be listed with.
    pub schema: (String, Map<String, Value>),
    /// A tool that reports a failure; `None` skips that scenario.
    pub failing_tool: Option<String>,
    pub _guard: Box<dyn Any + Send>,
}

impl std::fmt::Debug for ToolHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolHarness")
            .field("group", &self.group)
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}

/// What the harness gives the suite to exercise; scenarios needing more are skipped, not failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// The harness names a tool that reports a failure.
    pub failing_tool: bool,
}

impl ToolHarness {
    pub fn features(&self) -> Features {
        Features {
            failing_tool: self.failing_tool.is_some(),
        }
    }
}

/// The suite: every scenario and the features it needs (the scenarios
/// [`tool_runtime_conformance!`](crate::tool_runtime_conformance) must generate), each run on a
/// fresh single-threaded runtime for at most two minutes, setup included.
pub const SUITE: Suite<Features> = Suite {
    api: "tool_runtime",
    scenarios: &[
        Scenario::always("list_tools"),
        Scenario::always("schema_round_trip"),
        Scenario::always("invoke_with_args"),
        Scenario::always("invoke_unknown_tool"),
        Scenario {
            name: "tool_error_is_a_result",
            runs_with: |f| f.failing_tool,
        },
    ],
    timeout: Duration::from_secs(120),
    runtime: Runtime::CurrentThread,
};

async fn listed(h: &ToolHarness) -> anyhow::Result<Vec<ToolDef>> {
    h.provider
        .list_runtime_tools(
            &h.ctx,
            Some(&h.group.identifier),
            h.group.mcp_endpoint.as_ref(),
        )
        .await
        .map_err(|e| anyhow!("listing the tools of {} failed: {e}", h.group.identifier))
}

async fn find(h: &ToolHarness, name: &str) -> anyhow::Result<ToolDef> {
    listed(h)
        .await?
        .into_iter()
        .find(|t| t.name == name)
        .with_context(|| format!("tool '{name}' is not listed"))
}

/// The group lists its tools: named, each name once, the harness's tools among them.
pub async fn list_tools(h: &ToolHarness) -> ScenarioResult {
    let tools = listed(h).await?;
    ensure!(!tools.is_empty(), "the group lists no tools");
    let names: BTreeSet<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    ensure!(names.len() == tools.len(), "tool names repeat: {names:?}");
    ensure!(
        tools.iter().all(|t| !t.name.is_empty()),
        "a tool has an empty name"
    );
    for wanted in [&h.call.tool, &h.schema.0] {
        ensure!(
            names.contains(wanted.as_str()),
            "'{wanted}' missing from {names:?}"
        );
    }
    Ok(Outcome::Passed)
}

/// A tool's input schema comes back exactly as the backend declared it (`$defs`, `$ref` and all).
pub async fn schema_round_trip(h: &ToolHarness) -> ScenarioResult {
    let tool = find(h, &h.schema.0).await?;
    let got = tool
        .input_schema
        .with_context(|| format!("'{}' has no input_schema", h.schema.0))?;
    ensure!(
        got == h.schema.1,
        "input_schema of '{}' changed:\n got {got:?}\nwant {:?}",
        h.schema.0,
        h.schema.1
    );
    Ok(Outcome::Passed)
}

/// Calling a listed tool with arguments succeeds with the expected text.
pub async fn invoke_with_args(h: &ToolHarness) -> ScenarioResult {
    let tool = find(h, &h.call.tool).await?;
    let result = h
        .provider
        .invoke_tool(&h.ctx, &tool, h.call.kwargs.clone())
        .await
        .map_err(|e| anyhow!("invoke failed: {e}"))?;
    ensure!(!result.is_error(), "the call reported an error: {result:?}");
    let text = result
        .content
        .as_ref()
        .map(|c| c.text())
        .unwrap_or_default();
    ensure!(
        text.contains(&h.call.expect_text),
        "result text {text:?} lacks {:?}",
        h.call.expect_text
    );
    Ok(Outcome::Passed)
}

/// Calling a tool the backend does not have is a client error or an error result, never a
/// success or a server-side failure.
pub async fn invoke_unknown_tool(h: &ToolHarness) -> ScenarioResult {
    let mut tool = find(h, &h.call.tool).await?;
    tool.name = "no_such_tool_in_this_group".into();
    match h.provider.invoke_tool(&h.ctx, &tool, Map::new()).await {
        Ok(result) => ensure!(
            result.is_error(),
            "an unknown tool answered a success: {result:?}"
        ),
        Err(e) => ensure!(
            matches!(e.kind(), ErrorKind::NotFound | ErrorKind::InvalidRequest),
            "an unknown tool failed with {:?} ({e}); want not_found or invalid_request",
            e.kind()
        ),
    }
    Ok(Outcome::Passed)
}

/// A tool that fails on its own terms gives a result with an error code, not an `Err`.
pub async fn tool_error_is_a_result(h: &ToolHarness) -> ScenarioResult {
    let Some(name) = &h.failing_tool else {
        return Ok(Outcome::Skipped("a failing tool"));
    };
    let tool = find(h, name).await?;
    let result = h
        .provider
        .invoke_tool(&h.ctx, &tool, Map::new())
        .await
        .map_err(|e| anyhow!("invoke of '{name}' failed: {e}"))?;
    ensure!(
        result.is_error(),
        "'{name}' did not report its failure: {result:?}"
    );
    Ok(Outcome::Passed)
}

/// Expands into one `#[test]` per scenario of the tool runtime suite (each on its own tokio
/// runtime; the calling crate needs no tokio dependency) inside a module
/// `tool_runtime_conformance`, plus a `scenario_count` test ([`Suite::check_scenario_count`]
/// with [`ToolHarness::features`]). `$setup` is an async block evaluating to a [`ToolHarness`];
/// it runs anew for every test.
#[macro_export]
macro_rules! tool_runtime_conformance {
    ($setup:expr $(,)?) => {
        $crate::__conformance_tests!(
            mod tool_runtime_conformance, suite tool_runtime_suite, setup $setup,
            |h: $crate::tool_runtime_suite::ToolHarness| (&h),
            features ::std::result::Result::Ok(h.features());
            list_tools,
            schema_round_trip,
            invoke_with_args,
            invoke_unknown_tool,
            tool_error_is_a_result,
        );
    };
}

#[cfg(test)]
mod tests {
    use lls_api_tool_runtime::McpEndpoint;
    use serde_json::json;

    use super::*;
    use crate::FakeToolRuntime;

    fn harness(failing_tool: Option<&str>) -> ToolHarness {
        let add = FakeToolRuntime::tools(None, None)
            .into_iter()
            .find(|t| t.name == "add")
            .unwrap();
        ToolHarness {
            provider: Arc::new(FakeToolRuntime::new()),
            group: ToolGroup::new(
                "mcp::fake",
                "fake",
                Some(McpEndpoint {
                    uri: "http://fake/sse".into(),
                }),
                None,
            ),
            ctx: RequestContext::default(),
            call: ToolCallCase::new("echo", json!({ "text": "ping" }), "ping"),
            schema: ("add".into(), add.input_schema.unwrap()),
            failing_tool: failing_tool.map(str::to_owned),
            _guard: Box::new(()),
        }
    }

    // The fake passes the whole suite, which checks the suite as much as the fake.
    crate::tool_runtime_conformance!(async { harness(Some("fail")) });

    #[test]
    fn a_harness_without_a_failing_tool_runs_some_scenarios() {
        let names: Vec<&str> = SUITE.scenarios.iter().map(|s| s.name).collect();
        assert_eq!(
            harness(None).features(),
            Features {
                failing_tool: false
            }
        );
        assert!(
            SUITE
                .check_scenario_count(&names, async { Ok(harness(None).features()) })
                .is_ok()
        );
    }

    #[test]
    fn scenarios_fail_when_the_provider_misbehaves() {
        // A harness whose expectations the fake does not meet must fail, not pass.
        let mut h = harness(Some("echo"));
        h.call.expect_text = "pong".into();
        h.schema.1.insert("extra".into(), json!(true));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            assert!(invoke_with_args(&h).await.is_err());
            assert!(schema_round_trip(&h).await.is_err());
            assert!(tool_error_is_a_result(&h).await.is_err());
            let skipped = harness(None);
            assert_eq!(
                tool_error_is_a_result(&skipped).await.unwrap(),
                Outcome::Skipped("a failing tool")
            );
        });
    }
}
