//! The `ToolRuntimeProvider` over Tavily: the group lists `web_search`, which POSTs the query
//! to `{base_url}/search` and answers what 0.3.5 answers, `json.dumps({"query", "top_k"})`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::{BuildContext, Error, RequestContext, Result};
use lls_api_tool_runtime::{
    InterleavedContent, McpEndpoint, ToolDef, ToolInvocationResult, ToolRuntimeProvider,
};
use lls_openai_compat::Credential;
use serde_json::{Map, Value, json};

use crate::TavilySearchConfig;
use crate::error::{from_status, invalid_response};

/// The one tool of the group, as 0.3.5 names it.
pub const WEB_SEARCH: &str = "web_search";

/// The provider data key of a per-request Tavily key.
pub const PROVIDER_DATA_KEY: &str = "tavily_search_api_key";

/// `remote::tavily-search`.
#[derive(Debug)]
pub struct TavilySearchProvider {
    provider_id: String,
    client: reqwest::Client,
    endpoint: String,
    config: TavilySearchConfig,
}

impl TavilySearchProvider {
    /// A provider with its one pooled HTTP client; nothing is contacted.
    pub fn new(provider_id: &str, config: &TavilySearchConfig) -> Result<Self> {
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
        Ok(TavilySearchProvider {
            provider_id: provider_id.to_owned(),
            client,
            endpoint: format!("{}/search", config.base_url.trim_end_matches('/')),
            config: config.clone(),
        })
    }

    /// The registry's build function.
    pub async fn build(
        ctx: BuildContext,
        config: TavilySearchConfig,
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
             or set api_key in the config of provider {} (TAVILY_SEARCH_API_KEY in the starter distribution)",
            self.provider_id
        ))
        .with_provider(self.provider_id.clone()))
    }

    async fn search(&self, ctx: &RequestContext, query: &str) -> Result<String> {
        let (key, credential) = self.api_key(ctx)?;
        let body =
            json!({ "api_key": key, "query": query, "max_results": self.config.max_results });
        let response = self
            .client
            .post(&self.endpoint)
            .json(&body)
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
        cleaned(&answer)
            .ok_or_else(|| invalid_response(&self.provider_id, "no 'query' or 'results'"))
    }
}

/// 0.3.5's `_clean_tavily_response`, as the text `json.dumps` writes of it.
fn cleaned(answer: &Value) -> Option<String> {
    let (query, results) = (answer.get("query")?, answer.get("results")?);
    Some(lls_pycompat::json_dumps(
        &json!({ "query": query, "top_k": results }),
    ))
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
impl ToolRuntimeProvider for TavilySearchProvider {
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

    #[test]
    fn web_search_is_listed_as_upstream_lists_it() {
        let tool = web_search_tool(Some("builtin::websearch"));
        assert_eq!(
            serde_json::to_value(&tool).unwrap(),
            json!({
                "toolgroup_id": "builtin::websearch", "name": "web_search",
                "description": "Search the web for information",
                "input_schema": {
                    "type": "object",
                    "properties": {"query": {"type": "string", "description": "The query to search for"}},
                    "required": ["query"],
                },
                "output_schema": null, "metadata": null,
            })
        );
    }
}
