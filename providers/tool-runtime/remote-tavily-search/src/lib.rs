//! `remote::tavily-search`: the `builtin::websearch` tool over the Tavily search API.
#![doc = include_str!("../README.md")]

mod config;
mod error;
mod provider;

pub use config::{DEFAULT_BASE_URL, TavilySearchConfig};
pub use lls_websearch::{
    DEFAULT_MAX_RESULTS, DEFAULT_TIMEOUT_SECONDS, MAX_MAX_RESULTS, WEB_SEARCH, query_schema,
    web_search_tool,
};
pub use provider::{PROVIDER_DATA_KEY, Tavily, TavilySearchProvider};

pub const PROVIDER_TYPE: &str = "remote::tavily-search";

/// The run.yaml `config:` block `list-providers` and the docs show (upstream's).
pub const SAMPLE_CONFIG: &str = "api_key: ${env.TAVILY_SEARCH_API_KEY:=}\nmax_results: 3\n";

lls_api_tool_runtime::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Tavily Search tool for AI-optimized web search with structured results.",
    sample_config: SAMPLE_CONFIG,
    config: TavilySearchConfig,
    build: TavilySearchProvider::build,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::{descriptors, parse_config};

    #[test]
    fn registered_once_for_tool_runtime() {
        let mine: Vec<_> = descriptors()
            .into_iter()
            .filter(|d| d.provider_type == PROVIDER_TYPE)
            .collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].api, lls_api_common::Api::ToolRuntime);
    }

    #[test]
    fn sample_config_expands_to_a_valid_config() {
        let c: TavilySearchConfig =
            parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None)).unwrap();
        assert_eq!((c.key(), c.max_results), (None, 3));
        let env = |name: &str| (name == "TAVILY_SEARCH_API_KEY").then(|| "tvly-k".to_owned());
        let c: TavilySearchConfig =
            parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!(c.key(), Some("tvly-k"));
    }
}
