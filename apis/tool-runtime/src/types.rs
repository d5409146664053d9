//! The resources and messages of the tool runtime API, in 0.3.5's wire shapes: `ToolGroup`,
//! its registration request, `ToolDef`, `ToolInvocationResult` and the invoke request.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::InterleavedContent;

/// The registry's resource type for tool groups.
pub const TOOL_GROUP_RESOURCE: &str = "tool_group";

/// 0.3.5's `URL`: `{"uri": "..."}`; a tool group's MCP server is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct McpEndpoint {
    pub uri: String,
}

/// A registered tool group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolGroup {
    pub identifier: String,
    #[serde(default)]
    pub provider_resource_id: Option<String>,
    pub provider_id: String,
    #[serde(rename = "type", default = "tool_group_kind")]
    pub kind: String,
    #[serde(default)]
    pub mcp_endpoint: Option<McpEndpoint>,
    #[serde(default)]
    pub args: Option<Map<String, Value>>,
}

fn tool_group_kind() -> String {
    TOOL_GROUP_RESOURCE.into()
}

impl ToolGroup {
    pub fn new(
        identifier: impl Into<String>,
        provider_id: impl Into<String>,
        mcp_endpoint: Option<McpEndpoint>,
        args: Option<Map<String, Value>>,
    ) -> Self {
        let identifier = identifier.into();
        ToolGroup {
            provider_resource_id: Some(identifier.clone()),
            identifier,
            provider_id: provider_id.into(),
            kind: tool_group_kind(),
            mcp_endpoint,
            args,
        }
    }
}

/// `POST /v1/toolgroups`. Unknown keys are ignored, as upstream's embedded body parameters are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegisterToolGroupRequest {
    pub toolgroup_id: String,
    pub provider_id: String,
    #[serde(default)]
    pub mcp_endpoint: Option<McpEndpoint>,
    #[serde(default)]
    pub args: Option<Map<String, Value>>,
}

/// `GET /v1/toolgroups`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListToolGroupsResponse {
    pub data: Vec<ToolGroup>,
}

/// `GET /v1/tools` and `GET /v1/tool-runtime/list-tools`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListToolDefsResponse {
    pub data: Vec<ToolDef>,
}

/// A tool as a provider lists it; `toolgroup_id` is filled in by the tool groups table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolDef {
    #[serde(default)]
    pub toolgroup_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// JSON Schema of the arguments (MCP `inputSchema`), passed through untouched.
    #[serde(default)]
    pub input_schema: Option<Map<String, Value>>,
    /// JSON Schema of the result (MCP `outputSchema`), passed through untouched.
    #[serde(default)]
    pub output_schema: Option<Map<String, Value>>,
    /// Provider-specific facts; MCP tools carry their server's URL under `endpoint`.
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

impl ToolDef {
    /// A tool with only a name.
    pub fn named(name: impl Into<String>) -> Self {
        ToolDef {
            toolgroup_id: None,
            name: name.into(),
            description: None,
            input_schema: None,
            output_schema: None,
            metadata: None,
        }
    }

    /// `metadata.endpoint`: where an MCP tool lives.
    pub fn endpoint(&self) -> Option<&str> {
        self.metadata.as_ref()?.get("endpoint")?.as_str()
    }
}

/// What running a tool produced. A tool that failed on its own terms still answers 200, with
/// `error_code` (and possibly `error_message`) set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, schemars::JsonSchema)]
pub struct ToolInvocationResult {
    #[serde(default)]
    pub content: Option<InterleavedContent>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub error_code: Option<i64>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

impl ToolInvocationResult {
    /// Whether the tool reported a failure.
    pub fn is_error(&self) -> bool {
        self.error_message.is_some() || self.error_code.is_some_and(|c| c != 0)
    }
}

/// `POST /v1/tool-runtime/invoke`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InvokeToolRequest {
    pub tool_name: String,
    pub kwargs: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tool_group_has_the_0_3_5_shape() {
        let g = ToolGroup::new(
            "mcp::x",
            "model-context-protocol",
            Some(McpEndpoint {
                uri: "http://h/sse".into(),
            }),
            None,
        );
        assert_eq!(
            serde_json::to_value(&g).unwrap(),
            json!({
                "identifier": "mcp::x",
                "provider_resource_id": "mcp::x",
                "provider_id": "model-context-protocol",
                "type": "tool_group",
                "mcp_endpoint": { "uri": "http://h/sse" },
                "args": null,
            })
        );
    }

    #[test]
    fn tool_def_writes_every_field() {
        let mut t = ToolDef::named("greet");
        t.metadata = Some(
            json!({ "endpoint": "http://h/sse" })
                .as_object()
                .cloned()
                .unwrap(),
        );
        assert_eq!(t.endpoint(), Some("http://h/sse"));
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({
                "toolgroup_id": null, "name": "greet", "description": null, "input_schema": null,
                "output_schema": null, "metadata": { "endpoint": "http://h/sse" },
            })
        );
    }

    #[test]
    fn results_say_when_the_tool_failed() {
        assert!(
            !ToolInvocationResult {
                error_code: Some(0),
                ..Default::default()
            }
            .is_error()
        );
        assert!(
            ToolInvocationResult {
                error_code: Some(1),
                ..Default::default()
            }
            .is_error()
        );
        assert!(
            ToolInvocationResult {
                error_message: Some("x".into()),
                ..Default::default()
            }
            .is_error()
        );
    }

    #[test]
    fn register_request_needs_an_id_and_a_provider() {
        assert!(
            serde_json::from_value::<RegisterToolGroupRequest>(json!({ "provider_id": "p" }))
                .is_err()
        );
        let r: RegisterToolGroupRequest =
            serde_json::from_value(json!({ "toolgroup_id": "g", "provider_id": "p", "extra": 1 }))
                .unwrap();
        assert_eq!((r.mcp_endpoint, r.args), (None, None));
    }
}
