//! The `ToolRuntimeProvider` over Brave Search: the group lists `web_search`, which GETs
//! `{base_url}/res/v1/web/search?q=…` and answers what 0.3.5 answers, one Python `str()` of a
//! cleaned result per line, in the order of Brave's `mixed.main` ranking.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::{BuildContext, Error, RequestContext, Result};
use lls_api_tool_runtime::{
    InterleavedContent, McpEndpoint, ToolDef, ToolInvocationResult, ToolRuntimeProvider,
};
use lls_openai_compat::Credential;
use serde_json::{Map, Value, json};

use crate::BraveSearchConfig;
use crate::error::{from_status, invalid_response};

/// The one tool of the group, as 0.3.5 names it.
pub const WEB_SEARCH: &str = "web_search";

/// The provider data key of a per-request Brave key.
pub const PROVIDER_DATA_KEY: &str = "brave_search_api_key";

/// `remote::brave-search`.
#[derive(Debug)]
pub struct BraveSearchProvider {
    provider_id: String,
    client: reqwest::Client,
    endpoint: String,
    config: BraveSearchConfig,
}

impl BraveSearchProvider {
    /// A provider with its one pooled HTTP client; nothing is contacted.
    pub fn new(provider_id: &str, config: &BraveSearchConfig) -> Result<Self> {
        let timeout = config.timeout();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| {
                Error::internal(format!(
                    "cannot build the HTTP client of {provider_id}: {e}"
                ))
            })?;
        Ok(BraveSearchProvider {
            provider_id: provider_id.to_owned(),
            client,
            endpoint: format!(
                "{}/res/v1/web/search",
                config.base_url.trim_end_matches('/')
            ),
            config: config.clone(),
        })
    }

    /// The registry's build function.
    pub async fn build(
        ctx: BuildContext,
        config: BraveSearchConfig,
    ) -> Result<Arc<dyn ToolRuntimeProvider>> {
        Ok(Arc::new(Self::new(&ctx.provider_id, &config)?))
    }

    /// The request's key (provider data) over the configured one; neither is a 400 saying
    /// what to set.
    fn api_key<'a>(&'a self, ctx: &'a RequestContext) -> Result<(&'a str, Credential)> {
        if let Some(key) = ctx.provider_data_str(PROVIDER_DATA_KEY) {
            return Ok((key, Credential::ProviderData));
        }
        if let Some(key) = self.config.key() {
            return Ok((key, Credential::Config));
        }
        Err(Error::invalid(format!(
            "Pass Search provider's API Key in the header X-LlamaStack-Provider-Data as {{ \"{PROVIDER_DATA_KEY}\": <your api key>}}, \
             or set api_key in the config of provider {} (BRAVE_SEARCH_API_KEY in the starter distribution)",
            self.provider_id
        ))
        .with_provider(self.provider_id.clone()))
    }

    async fn search(&self, ctx: &RequestContext, query: &str) -> Result<String> {
        let (key, credential) = self.api_key(ctx)?;
        let response = self
            .client
            .get(&self.endpoint)
            .query(&[("q", query)])
            .header("X-Subscription-Token", key)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                lls_openai_compat::error::from_transport(&self.provider_id, &self.endpoint, e)
            })?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| {
            lls_openai_compat::error::from_transport(&self.provider_id, &self.endpoint, e)
        })?;
        if !(200..300).contains(&status) {
            return Err(from_status(&self.provider_id, status, &bytes, credential));
        }
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|e| invalid_response(&self.provider_id, &e.to_string()))?;
        Ok(cleaned(&answer, self.config.max_results as usize).join("\n"))
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

/// `web_search` as 0.3.5 lists it.
pub fn web_search_tool(tool_group_id: Option<&str>) -> ToolDef {
    ToolDef {
        toolgroup_id: tool_group_id.map(str::to_owned),
        description: Some("Search the web for information".into()),
        input_schema: Some(query_schema()),
        ..ToolDef::named(WEB_SEARCH)
    }
}

/// `{"type": "object", "properties": {"query": ...}, "required": ["query"]}`.
pub fn query_schema() -> Map<String, Value> {
    let schema = json!({
        "type": "object",
        "properties": { "query": { "type": "string", "description": "The query to search for" } },
        "required": ["query"],
    });
    match schema {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[async_trait]
impl ToolRuntimeProvider for BraveSearchProvider {
    async fn list_runtime_tools(
        &self,
        _ctx: &RequestContext,
        tool_group_id: Option<&str>,
        _mcp_endpoint: Option<&McpEndpoint>,
    ) -> Result<Vec<ToolDef>> {
        Ok(vec![web_search_tool(tool_group_id)])
    }

    async fn invoke_tool(
        &self,
        ctx: &RequestContext,
        tool: &ToolDef,
        kwargs: Map<String, Value>,
    ) -> Result<ToolInvocationResult> {
        if tool.name != WEB_SEARCH {
            return Err(Error::not_found(format!(
                "Tool '{}' is not served by {} (it serves {WEB_SEARCH})",
                tool.name, self.provider_id
            )));
        }
        let Some(query) = kwargs.get("query").and_then(Value::as_str) else {
            return Err(
                Error::invalid(format!("{WEB_SEARCH} needs a string argument 'query'"))
                    .with_param("kwargs.query"),
            );
        };
        let text = self.search(ctx, query).await?;
        Ok(ToolInvocationResult {
            content: Some(InterleavedContent::Text(text)),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
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
