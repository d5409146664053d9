//! `remote::model-context-protocol`: the tools of MCP servers as a tool runtime provider.
#![doc = include_str!("../README.md")]

mod client;
mod config;
mod error;
mod headers;
mod http;
mod outbound;
mod provider;

pub use client::McpTransport;
pub use config::{DEFAULT_LIST_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS, McpConfig};
pub use headers::PROVIDER_DATA_KEY;
pub use provider::McpProvider;


pub const PROVIDER_TYPE: &str = "remote::model-context-protocol";

/// The run.yaml `config:` block `list-providers` and the docs show (upstream's is `{}`).
pub const SAMPLE_CONFIG: &str = "{}\n";

lls_api_tool_runtime::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Model Context Protocol (MCP) tool runtime: lists and calls the tools of MCP servers over streamable HTTP, falling back to SSE.",
    sample_config: SAMPLE_CONFIG,
    config: McpConfig,
    build: McpProvider::build,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::{descriptors, parse_config};

    #[test]
    fn registered_once_for_tool_runtime() {
        let mine: Vec<_> = descriptors().into_iter().filter(|d| d.provider_type == PROVIDER_TYPE).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].api, lls_api_common::Api::ToolRuntime);
    }

    #[test]
    fn sample_config_expands_to_a_valid_config() {
        let c: McpConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None)).unwrap();
        assert_eq!(c, McpConfig::default());
    }
}
