//! `remote::brave-search` config: the shared web search config (`api_key`, `max_results`,
//! `base_url`, `timeout`; `lls-websearch`) with the Brave Search API as the default `base_url`.
//! `max_results` is how many of Brave's ranked results (`mixed.main`) one search answers with.

use lls_websearch::WebSearchConfig;

use crate::Brave;

pub const DEFAULT_BASE_URL: &str = "https://api.search.brave.com";

/// run.yaml `config:` of a `remote::brave-search` provider.
pub type BraveSearchConfig = WebSearchConfig<Brave>;

#[cfg(test)]
mod tests {
    use lls_api_common::provider::parse_config;
    use serde_json::json;

    use super::*;

    #[test]
    fn upstreams_config_reads_with_braves_url() {
        let c: BraveSearchConfig =
            parse_config(&json!({ "api_key": "brave-k", "max_results": 5 })).unwrap();
        assert_eq!(
            (c.key(), c.max_results, c.base_url.as_str()),
            (Some("brave-k"), 5, DEFAULT_BASE_URL)
        );
    }
}
