//! Tavily as a web search vendor: `web_search` POSTs the query to `{base_url}/search` and
//! answers what 0.3.5 answers, `json.dumps({"query", "top_k"})`. The provider itself (keys,
//! client, tool, errors) is `lls_websearch::WebSearchProvider`.

use lls_websearch::{VendorError, WebSearchProvider, WebSearchVendor};
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};

/// The provider data key of a per-request Tavily key.
pub const PROVIDER_DATA_KEY: &str = "tavily_search_api_key";

/// `remote::tavily-search`.
pub type TavilySearchProvider = WebSearchProvider<Tavily>;

/// The Tavily search API.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Tavily;

impl WebSearchVendor for Tavily {
    const NAME: &'static str = "Tavily";
    const PROVIDER_DATA_KEY: &'static str = PROVIDER_DATA_KEY;
    const KEY_ENV: &'static str = "TAVILY_SEARCH_API_KEY";
    const DEFAULT_BASE_URL: &'static str = crate::DEFAULT_BASE_URL;
    const SEARCH_PATH: &'static str = "/search";

    fn request(
        client: &Client,
        endpoint: &str,
        key: &str,
        query: &str,
        max_results: u32,
    ) -> RequestBuilder {
        client
            .post(endpoint)
            .json(&json!({ "api_key": key, "query": query, "max_results": max_results }))
    }

    fn result_text(answer: &Value, _max_results: u32) -> Result<String, String> {
        cleaned(answer).ok_or_else(|| "no 'query' or 'results'".to_owned())
    }

    fn error_body(body: &[u8]) -> VendorError {
        crate::error::vendor_error(body)
    }

    fn rate_limited(status: u16) -> bool {
        crate::error::rate_limited(status)
    }
}

/// 0.3.5's `_clean_tavily_response`, as the text `json.dumps` writes of it.
fn cleaned(answer: &Value) -> Option<String> {
    let (query, results) = (answer.get("query")?, answer.get("results")?);
    Some(lls_pycompat::json_dumps(
        &json!({ "query": query, "top_k": results }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_text_is_upstreams() {
        let answer = json!({
            "query": "café", "answer": null, "images": [],
            "results": [{"title": "T", "url": "https://u", "content": "c", "score": 0.9, "raw_content": null}],
            "response_time": 1.5,
        });
        assert_eq!(
            cleaned(&answer).unwrap(),
            r#"{"query": "caf\u00e9", "top_k": [{"title": "T", "url": "https://u", "content": "c", "score": 0.9, "raw_content": null}]}"#
        );
        assert_eq!(cleaned(&json!({"query": "q"})), None);
    }
}
