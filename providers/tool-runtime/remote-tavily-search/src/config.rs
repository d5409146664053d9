//! `remote::tavily-search` config: the shared web search config (`api_key`, `max_results`,
//! `base_url`, `timeout`; `lls-websearch`) with Tavily's API as the default `base_url`.

use lls_websearch::WebSearchConfig;

use crate::Tavily;

pub const DEFAULT_BASE_URL: &str = "https://api.tavily.com";

/// run.yaml `config:` of a `remote::tavily-search` provider.
pub type TavilySearchConfig = WebSearchConfig<Tavily>;

#[cfg(test)]
mod tests {
    use lls_api_common::provider::parse_config;
    use serde_json::json;

    use super::*;

    #[test]
    fn upstreams_config_reads_with_tavilys_url() {
        let c: TavilySearchConfig =
            parse_config(&json!({ "api_key": "tvly-k", "max_results": 5 })).unwrap();
        assert_eq!(
            (c.key(), c.max_results, c.base_url.as_str()),
            (Some("tvly-k"), 5, DEFAULT_BASE_URL)
        );
    }
}
