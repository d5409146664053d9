//! The `ToolRuntimeProvider` of every web search vendor: the group lists `web_search`, whose
//! call resolves the key, sends the vendor's request over one pooled client and answers the
//! vendor's result text.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::{BuildContext, Error, RequestContext, Result};
use lls_api_tool_runtime::{
    InterleavedContent, McpEndpoint, ToolDef, ToolInvocationResult, ToolRuntimeProvider,
};
use lls_openai_compat::Credential;
use lls_openai_compat::error::from_transport;
use serde_json::{Map, Value, json};

use crate::{WebSearchConfig, WebSearchVendor, from_status, invalid_response};

/// The one tool of the group, as 0.3.5 names it.
pub const WEB_SEARCH: &str = "web_search";

/// A web search provider of vendor `V`.
#[derive(Debug)]
pub struct WebSearchProvider<V> {
    provider_id: String,
    client: reqwest::Client,
    endpoint: String,
    config: WebSearchConfig<V>,
}

impl<V: WebSearchVendor> WebSearchProvider<V> {
    /// A provider with its one pooled HTTP client; nothing is contacted.
    pub fn new(provider_id: &str, config: &WebSearchConfig<V>) -> Result<Self> {
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
        Ok(WebSearchProvider {
            provider_id: provider_id.to_owned(),
            client,
            endpoint: format!(
                "{}{}",
                config.base_url.trim_end_matches('/'),
                V::SEARCH_PATH
            ),
            config: config.clone(),
        })
    }

    /// The registry's build function.
    pub async fn build(
        ctx: BuildContext,
        config: WebSearchConfig<V>,
    ) -> Result<Arc<dyn ToolRuntimeProvider>> {
        Ok(Arc::new(Self::new(&ctx.provider_id, &config)?))
    }

    /// The request's key (provider data) over the configured one; neither is a 400 saying
    /// what to set.
    fn api_key<'a>(&'a self, ctx: &'a RequestContext) -> Result<(&'a str, Credential)> {
        if let Some(key) = ctx.provider_data_str(V::PROVIDER_DATA_KEY) {
            return Ok((key, Credential::ProviderData));
        }
        if let Some(key) = self.config.key() {
            return Ok((key, Credential::Config));
        }
        Err(Error::invalid(format!(
            "Pass Search provider's API Key in the header X-LlamaStack-Provider-Data as {{ \"{}\": <your api key>}}, \
             or set api_key in the config of provider {} ({} in the starter distribution)",
            V::PROVIDER_DATA_KEY,
            self.provider_id,
            V::KEY_ENV,
        ))
        .with_provider(self.provider_id.clone()))
    }

    async fn search(&self, ctx: &RequestContext, query: &str) -> Result<String> {
        let (key, credential) = self.api_key(ctx)?;
        let max_results = self.config.max_results;
        let transport = |e| from_transport(&self.provider_id, &self.endpoint, e);
        let response = V::request(&self.client, &self.endpoint, key, query, max_results)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(transport)?;
        if !(200..300).contains(&status) {
            return Err(from_status::<V>(
                &self.provider_id,
                status,
                &bytes,
                credential,
            ));
        }
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|e| invalid_response::<V>(&self.provider_id, &e.to_string()))?;
        V::result_text(&answer, max_results)
            .map_err(|what| invalid_response::<V>(&self.provider_id, &what))
    }
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
impl<V: WebSearchVendor> ToolRuntimeProvider for WebSearchProvider<V> {
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
    use crate::test_vendor::Acme;

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

    #[test]
    fn the_endpoint_is_the_base_url_and_the_vendors_path() {
        let config = WebSearchConfig::<Acme> {
            base_url: "http://127.0.0.1:9/v1/".into(),
            ..Default::default()
        };
        let p = WebSearchProvider::new("acme", &config).unwrap();
        assert_eq!(p.endpoint, "http://127.0.0.1:9/v1/search");
    }

    #[test]
    fn no_key_anywhere_names_what_to_set() {
        let p = WebSearchProvider::new("acme", &WebSearchConfig::<Acme>::default()).unwrap();
        let e = p.api_key(&RequestContext::default()).unwrap_err();
        assert_eq!(
            e.message(),
            "Pass Search provider's API Key in the header X-LlamaStack-Provider-Data as \
             { \"acme_api_key\": <your api key>}, or set api_key in the config of provider acme \
             (ACME_API_KEY in the starter distribution)"
        );
        let ctx = RequestContext::new(json!({ "acme_api_key": "k" }).as_object().cloned().unwrap());
        assert_eq!(p.api_key(&ctx).unwrap(), ("k", Credential::ProviderData));
    }
}
