//! What the web search tool runtime providers (`remote::tavily-search`, `remote::brave-search`)
//! share; each provider is a [`WebSearchVendor`]: its names, its request and its result text.
//!
//! - [`WebSearchConfig`]: the run.yaml `config:` every one of them reads (`api_key`,
//!   `max_results`, `base_url`, `timeout`), defaults and validation.
//! - [`WebSearchProvider`]: the `ToolRuntimeProvider` listing and serving `web_search` over one
//!   pooled HTTP client; the key comes from provider data over config.
//! - [`from_status`]: a vendor's HTTP error status → our error kind, blaming a refused key on
//!   whoever sent it.

use reqwest::{Client, RequestBuilder};
use serde_json::Value;

mod config;
mod error;
mod provider;

pub use config::{DEFAULT_MAX_RESULTS, DEFAULT_TIMEOUT_SECONDS, MAX_MAX_RESULTS, WebSearchConfig};
pub use error::{VendorError, from_status, invalid_response};
pub use provider::{WEB_SEARCH, WebSearchProvider, query_schema, web_search_tool};

/// One search API: the names in its messages and config, and what is vendor-specific in a
/// search, the request and the text 0.3.5 makes of the answer.
pub trait WebSearchVendor:
    std::fmt::Debug + Clone + Copy + PartialEq + Default + Send + Sync + 'static
{
    /// The vendor as messages name it (`Tavily`).
    const NAME: &'static str;
    /// The provider data key of a per-request key (`tavily_search_api_key`).
    const PROVIDER_DATA_KEY: &'static str;
    /// The environment variable the starter distribution reads the key from.
    const KEY_ENV: &'static str;
    /// Where the API is unless `base_url` says otherwise.
    const DEFAULT_BASE_URL: &'static str;
    /// The search endpoint under `base_url` (`/search`).
    const SEARCH_PATH: &'static str;

    /// The search request for `query`, the key included.
    fn request(
        client: &Client,
        endpoint: &str,
        key: &str,
        query: &str,
        max_results: u32,
    ) -> RequestBuilder;

    /// The tool's text from a successful JSON answer; `Err` says why the answer is not a
    /// search result.
    fn result_text(answer: &Value, max_results: u32) -> Result<String, String>;

    /// What an error body says.
    fn error_body(body: &[u8]) -> VendorError;

    /// Whether an error status means the key's quota or rate is spent (429 unless the vendor
    /// has more).
    fn rate_limited(status: u16) -> bool {
        status == 429
    }
}

#[cfg(test)]
pub(crate) mod test_vendor {
    //! A vendor for this crate's unit tests.

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Default)]
    pub struct Acme;

    impl WebSearchVendor for Acme {
        const NAME: &'static str = "Acme";
        const PROVIDER_DATA_KEY: &'static str = "acme_api_key";
        const KEY_ENV: &'static str = "ACME_API_KEY";
        const DEFAULT_BASE_URL: &'static str = "https://api.acme.test";
        const SEARCH_PATH: &'static str = "/search";

        fn request(
            client: &Client,
            endpoint: &str,
            key: &str,
            query: &str,
            _max_results: u32,
        ) -> RequestBuilder {
            client.get(endpoint).query(&[("q", query), ("key", key)])
        }

        fn result_text(answer: &Value, _max_results: u32) -> Result<String, String> {
            Ok(answer.to_string())
        }

        fn error_body(body: &[u8]) -> VendorError {
            let value: Option<Value> = serde_json::from_slice(body).ok();
            VendorError {
                message: value
                    .as_ref()
                    .and_then(|v| v.get("detail"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                key_refused: value.is_some_and(|v| v.get("code") == Some(&"BAD_KEY".into())),
            }
        }

        fn rate_limited(status: u16) -> bool {
            matches!(status, 429 | 432)
        }
    }
}
