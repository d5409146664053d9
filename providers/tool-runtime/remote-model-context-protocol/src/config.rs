//! `remote::model-context-protocol` config. Upstream's is empty (`config: {}`); the knobs here
//! bound how long one MCP operation (connect, list or call) may take, and how long a tool
//! listing may hold up `GET /v1/tools`.

use lls_api_common::{Error, ProviderConfig, Result};
use serde::{Deserialize, Serialize};

/// run.yaml `config:` of a `remote::model-context-protocol` provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpConfig {
    /// Longest one MCP operation may take, connecting included (seconds); upstream's SSE read
    /// timeout is the same 300.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Longest the tools of one tool group may take to list (seconds); past it the group is
    /// reported as failed (504 when it was asked for by id, left out with a warning when every
    /// group is listed), so one server that never answers does not stall every client.
    #[serde(default = "default_list_timeout")]
    pub list_timeout_seconds: u64,
}

pub const DEFAULT_TIMEOUT_SECONDS: u64 = 300;
pub const DEFAULT_LIST_TIMEOUT_SECONDS: u64 = 10;

fn default_list_timeout() -> u64 {
    DEFAULT_LIST_TIMEOUT_SECONDS
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

impl Default for McpConfig {
    fn default() -> Self {
        McpConfig { timeout_seconds: DEFAULT_TIMEOUT_SECONDS, list_timeout_seconds: DEFAULT_LIST_TIMEOUT_SECONDS }
    }
}

impl ProviderConfig for McpConfig {
    fn validate(&self) -> Result<()> {
        if self.timeout_seconds == 0 {
            return Err(Error::invalid("config.timeout_seconds: must be at least 1").with_param("timeout_seconds"));
        }
        if self.list_timeout_seconds == 0 {
            return Err(Error::invalid("config.list_timeout_seconds: must be at least 1").with_param("list_timeout_seconds"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use lls_api_common::provider::{check_config, parse_config};
    use serde_json::json;

    use super::*;

    #[test]
    fn empty_config_is_upstreams_and_valid() {
        assert_eq!(parse_config::<McpConfig>(&json!({})).unwrap(), McpConfig::default());
        assert_eq!(parse_config::<McpConfig>(&serde_json::Value::Null).unwrap(), McpConfig::default());
    }

    #[test]
    fn bad_configs_name_the_field() {
        let e = check_config::<McpConfig>(&json!({ "timeout_seconds": 0 })).unwrap_err();
        assert!(e.message().contains("timeout_seconds"), "{e}");
        let e = check_config::<McpConfig>(&json!({ "list_timeout_seconds": 0 })).unwrap_err();
        assert!(e.message().contains("list_timeout_seconds"), "{e}");
        let e = check_config::<McpConfig>(&json!({ "url": "x" })).unwrap_err();
        assert!(e.message().contains("url"), "{e}");
    }
}
