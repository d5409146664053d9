//! Brave Search as a web search vendor: `web_search` GETs `{base_url}/res/v1/web/search?q=…`
//! and answers what 0.3.5 answers, one Python `str()` of a cleaned result per line, in the
//! order of Brave's `mixed.main` ranking. The provider itself (keys, client, tool, errors) is
//! `lls_websearch::WebSearchProvider`.

use lls_websearch::{VendorError, WebSearchProvider, WebSearchVendor};
use reqwest::{Client, RequestBuilder};
use serde_json::{Map, Value};

/// The provider data key of a per-request Brave key.
pub const PROVIDER_DATA_KEY: &str = "brave_search_api_key";

/// `remote::brave-search`.
pub type BraveSearchProvider = WebSearchProvider<Brave>;

/// The Brave Search API.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Brave;

impl WebSearchVendor for Brave {
    const NAME: &'static str = "Brave Search";
    const PROVIDER_DATA_KEY: &'static str = PROVIDER_DATA_KEY;
    const KEY_ENV: &'static str = "BRAVE_SEARCH_API_KEY";
    const DEFAULT_BASE_URL: &'static str = crate::DEFAULT_BASE_URL;
    const SEARCH_PATH: &'static str = "/res/v1/web/search";

    /// The key goes in `X-Subscription-Token`; Brave's own `count` is left at its default, and
    /// `max_results` cuts the ranked results instead, as 0.3.5 does.
    fn request(
        client: &Client,
        endpoint: &str,
        key: &str,
        query: &str,
        _max_results: u32,
    ) -> RequestBuilder {
        client
            .get(endpoint)
            .query(&[("q", query)])
            .header("X-Subscription-Token", key)
            .header(reqwest::header::ACCEPT, "application/json")
    }

    fn result_text(answer: &Value, max_results: u32) -> Result<String, String> {
        Ok(cleaned(answer, max_results as usize).join("\n"))
    }

    fn error_body(body: &[u8]) -> VendorError {
        crate::error::vendor_error(body)
    }
}

/// 0.3.5's `_clean_brave_response`: for each of the first `max_results` entries of
/// `mixed.main`, the `str()` of its result(s) with only the keys 0.3.5 keeps for that type.
fn cleaned(answer: &Value, max_results: usize) -> Vec<String> {
    let Some(main) = answer
        .get("mixed")
        .and_then(|m| m.get("main"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    main.iter()
        .take(max_results)
        .map(|m| {
            let kind = m.get("type").and_then(Value::as_str).unwrap_or_default();
            let results = answer.get(kind).and_then(|r| r.get("results"));
            clean_by_type(kind, results, m.get("index").and_then(Value::as_u64)).unwrap_or_default()
        })
        .collect()
}

/// `_clean_result_by_type`; `None` where 0.3.5 writes `""` (an unknown type) or would fail.
fn clean_by_type(kind: &str, results: Option<&Value>, index: Option<u64>) -> Option<String> {
    let (keys, one): (&[&str], bool) = match kind {
        "web" => (
            &[
                "type",
                "title",
                "url",
                "description",
                "date",
                "extra_snippets",
            ],
            true,
        ),
        "faq" => (&["type", "question", "answer", "title", "url"], false),
        "infobox" => (&["type", "title", "url", "description", "long_desc"], true),
        "videos" => (&["type", "url", "title", "description", "date"], false),
        "locations" => (
            &[
                "type",
                "title",
                "url",
                "description",
                "coordinates",
                "postal_address",
                "contact",
                "rating",
                "distance",
                "zoom_level",
            ],
            false,
        ),
        "news" => (&["type", "title", "url", "description"], false),
        _ => return None,
    };
    let keep = |item: &Value| -> Option<Value> {
        let kept: Map<String, Value> = item
            .as_object()?
            .iter()
            .filter(|(k, _)| keys.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(Value::Object(kept))
    };
    let results = results?;
    let cleaned = if one {
        keep(results.get(usize::try_from(index?).ok()?)?)?
    } else {
        Value::Array(
            results
                .as_array()?
                .iter()
                .map(keep)
                .collect::<Option<Vec<_>>>()?,
        )
    };
    Some(lls_pycompat::repr(&cleaned))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A Brave answer with a web result, a FAQ and a type 0.3.5 does not know, ranked by `mixed`.
    fn answer() -> Value {
        json!({
            "type": "search",
            "mixed": {"type": "mixed", "main": [
                {"type": "web", "index": 1, "all": false},
                {"type": "faq", "all": true},
                {"type": "discussions", "all": true},
                {"type": "web", "index": 0, "all": false},
            ]},
            "web": {"type": "search", "results": [
                {"title": "First", "url": "https://a", "is_source_local": false, "description": "d1", "type": "search_result"},
                {"title": "It's second", "url": "https://b", "description": "d2", "page_age": "x", "type": "search_result",
                 "extra_snippets": ["s"]},
            ]},
            "faq": {"type": "faq", "results": [{"question": "Q?", "answer": "A", "title": "T", "url": "https://f", "meta_url": {}}]},
        })
    }

    #[test]
    fn results_are_cleaned_as_upstream_cleans_them() {
        // What 0.3.5's _clean_brave_response gives for answer() with max_results=4 (CPython 3.12).
        assert_eq!(
            cleaned(&answer(), 4),
            vec![
                r#"{'title': "It's second", 'url': 'https://b', 'description': 'd2', 'type': 'search_result', 'extra_snippets': ['s']}"#.to_owned(),
                "[{'question': 'Q?', 'answer': 'A', 'title': 'T', 'url': 'https://f'}]".to_owned(),
                String::new(),
                "{'title': 'First', 'url': 'https://a', 'description': 'd1', 'type': 'search_result'}".to_owned(),
            ]
        );
        assert_eq!(cleaned(&answer(), 1).len(), 1);
        assert!(cleaned(&json!({"type": "search", "web": {"results": []}}), 3).is_empty());
    }
}
