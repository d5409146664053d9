//! Running the server-side tools of one step: MCP tools on their servers, `web_search` through
//! the tool runtime, `knowledge_search` as a search of the `file_search` tool's vector stores.
//! Each call's item and progress events are sent in order, the calls run together, then each
//! call's completion is sent in order. A tool that fails becomes a failed item and an error
//! message to the model; it does not fail the response.

use std::collections::HashMap;

use futures::future::join_all;
use lls_api_agents::{
    FileSearchCall, FileSearchResult, FileSearchTool, InputTool, Item, McpCall, McpToolConfig,
    ResponseEvent, WebSearchCall,
};
use lls_api_common::{Error, Result};
use lls_api_inference::{ChatMessage, MessageContent as ChatContent, ToolCall};
use lls_api_tool_runtime::{ContentItem, InterleavedContent, McpEndpoint, ToolInvocationResult};
use lls_api_vector_io::{SearchRequest, SearchResult};
use serde_json::{Map, Value, json};
use tracing::Instrument;

use super::Run;
use super::prepare::{KNOWLEDGE_SEARCH, WEB_SEARCH};
use super::sink::Sink;
use crate::input::tool_result;

/// What a server-side call is.
enum Kind {
    Mcp(McpToolConfig),
    WebSearch,
    FileSearch(FileSearchTool),
}

/// A finished call: its output item, the message for the model, new citation files.
struct Done {
    item: Item,
    message: ChatMessage,
    failed: bool,
    citation_files: HashMap<String, String>,
}

/// Text items joined with spaces, as 0.3.5's `interleaved_content_as_str` does.
fn content_text(content: &InterleavedContent) -> String {
    match content {
        InterleavedContent::Text(t) => t.clone(),
        InterleavedContent::Item(i) => i.text().unwrap_or_default().to_owned(),
        InterleavedContent::Items(items) => items
            .iter()
            .map(|i| i.text().unwrap_or("<image>"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A tool's content as a chat tool message's content.
fn chat_content(content: &InterleavedContent) -> ChatContent {
    let part = |item: &ContentItem| match item {
        ContentItem::Text { text } => json!({"type": "text", "text": text}),
        ContentItem::Image { image } => {
            let url = match (&image.data, &image.url) {
                (Some(data), _) => format!("data:image;base64,{data}"),
                (None, Some(url)) => url.uri.clone(),
                (None, None) => String::new(),
            };
            json!({"type": "image_url", "image_url": {"url": url}})
        }
    };
    match content {
        InterleavedContent::Text(t) => ChatContent::Text(t.clone()),
        InterleavedContent::Item(i) => ChatContent::Parts(vec![part(i)]),
        InterleavedContent::Items(items) => ChatContent::Parts(items.iter().map(part).collect()),
    }
}

fn parse_arguments(arguments: &str) -> Result<Map<String, Value>> {
    if arguments.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str(arguments) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Error::invalid(format!(
            "the model's tool arguments are not a JSON object: {arguments}"
        ))),
    }
}

impl Run {
    fn kind_of(&self, name: &str) -> Option<Kind> {
        if let Some(server) = self.mcp_tools.get(name) {
            return Some(Kind::Mcp(server.clone()));
        }
        match name {
            WEB_SEARCH => Some(Kind::WebSearch),
            KNOWLEDGE_SEARCH => self.turn.tools.iter().find_map(|t| match t {
                InputTool::FileSearch(f) => Some(Kind::FileSearch(f.clone())),
                _ => None,
            }),
            _ => None,
        }
    }

    /// Runs the calls; returns the tool messages for the model, in call order.
    pub(super) async fn run_tools(
        &mut self,
        sink: &mut Sink,
        calls: &[ToolCall],
        item_ids: &HashMap<String, String>,
    ) -> Vec<ChatMessage> {
        let response_id = self.turn.id.clone();
        let mut started = Vec::new();
        for call in calls {
            let item_id = item_ids
                .get(&call.id)
                .cloned()
                .unwrap_or_else(|| format!("tc_{}", uuid::Uuid::new_v4()));
            let output_index = self.output.len() + started.len();
            let Some(kind) = self.kind_of(&call.function.name) else {
                // A tool nobody offered: the model is told, nothing runs.
                started.push((call, item_id, output_index, None));
                continue;
            };
            let item = match &kind {
                Kind::Mcp(server) => Item::McpCall(McpCall {
                    id: item_id.clone(),
                    arguments: call.function.arguments.clone(),
                    name: call.function.name.clone(),
                    server_label: server.server_label.clone(),
                    error: None,
                    output: None,
                }),
                Kind::WebSearch => Item::WebSearchCall(WebSearchCall {
                    id: item_id.clone(),
                    status: "in_progress".into(),
                }),
                Kind::FileSearch(_) => Item::FileSearchCall(FileSearchCall {
                    id: item_id.clone(),
                    queries: vec![call.function.arguments.clone()],
                    status: "in_progress".into(),
                    results: None,
                }),
            };
            sink.emit(ResponseEvent::OutputItemAdded {
                response_id: response_id.clone(),
                item,
                output_index,
                sequence_number: 0,
            })
            .await;
            let (item_id_, n) = (item_id.clone(), output_index);
            match &kind {
                Kind::Mcp(_) => {
                    sink.emit(ResponseEvent::McpCallInProgress {
                        item_id: item_id_,
                        output_index: n,
                        sequence_number: 0,
                    })
                    .await
                }
                Kind::WebSearch => {
                    sink.emit(ResponseEvent::WebSearchCallInProgress {
                        item_id: item_id_.clone(),
                        output_index: n,
                        sequence_number: 0,
                    })
                    .await;
                    sink.emit(ResponseEvent::WebSearchCallSearching {
                        item_id: item_id_,
                        output_index: n,
                        sequence_number: 0,
                    })
                    .await;
                }
                Kind::FileSearch(_) => {
                    sink.emit(ResponseEvent::FileSearchCallInProgress {
                        item_id: item_id_.clone(),
                        output_index: n,
                        sequence_number: 0,
                    })
                    .await;
                    sink.emit(ResponseEvent::FileSearchCallSearching {
                        item_id: item_id_,
                        output_index: n,
                        sequence_number: 0,
                    })
                    .await;
                }
            }
            started.push((call, item_id, output_index, Some(kind)));
        }

        let this = &*self;
        let finished: Vec<Option<Done>> =
            join_all(started.iter().map(|(call, item_id, _, kind)| async move {
                match kind {
                    Some(kind) => Some(this.execute(call, item_id, kind).instrument(tool_span(call, kind)).await),
                    None => None,
                }
            }))
            .await;

        let mut messages = Vec::new();
        for ((call, item_id, output_index, kind), done) in started.into_iter().zip(finished) {
            let (Some(kind), Some(done)) = (kind, done) else {
                let text = format!("Tool {} is not available", call.function.name);
                messages.push(tool_result(&call.id, ChatContent::Text(text)));
                continue;
            };
            match kind {
                Kind::Mcp(_) if done.failed => {
                    sink.emit(ResponseEvent::McpCallFailed { sequence_number: 0 })
                        .await
                }
                Kind::Mcp(_) => {
                    sink.emit(ResponseEvent::McpCallCompleted { sequence_number: 0 })
                        .await
                }
                Kind::WebSearch => {
                    sink.emit(ResponseEvent::WebSearchCallCompleted {
                        item_id: item_id.clone(),
                        output_index,
                        sequence_number: 0,
                    })
                    .await
                }
                Kind::FileSearch(_) => {
                    sink.emit(ResponseEvent::FileSearchCallCompleted {
                        item_id: item_id.clone(),
                        output_index,
                        sequence_number: 0,
                    })
                    .await
                }
            }
            self.citation_files.extend(done.citation_files);
            self.output.push(done.item.clone());
            sink.emit(ResponseEvent::OutputItemDone {
                response_id: response_id.clone(),
                item: done.item,
                output_index,
                sequence_number: 0,
            })
            .await;
            messages.push(done.message);
        }
        messages
    }

    async fn execute(&self, call: &ToolCall, item_id: &str, kind: &Kind) -> Done {
        let arguments = parse_arguments(&call.function.arguments);
        match kind {
            Kind::Mcp(server) => {
                let outcome = match arguments {
                    Ok(kwargs) => self.call_mcp(server, &call.function.name, kwargs).await,
                    Err(e) => Err(e),
                };
                let (output, error) = match &outcome {
                    Ok(r) if r.is_error() => (
                        None,
                        Some(format!(
                            "Error (code {}): {}",
                            r.error_code.unwrap_or(1),
                            r.error_message.clone().unwrap_or_else(|| r
                                .content
                                .as_ref()
                                .map(content_text)
                                .unwrap_or_default())
                        )),
                    ),
                    Ok(r) => (r.content.as_ref().map(content_text), None),
                    Err(e) => (None, Some(e.message().to_owned())),
                };
                let message = match &outcome {
                    Ok(r) if r.content.is_some() && !r.is_error() => tool_result(
                        &call.id,
                        chat_content(
                            r.content
                                .as_ref()
                                .unwrap_or(&InterleavedContent::Text(String::new())),
                        ),
                    ),
                    _ => tool_result(
                        &call.id,
                        ChatContent::Text(
                            error
                                .clone()
                                .unwrap_or_else(|| "Tool execution failed".into()),
                        ),
                    ),
                };
                let item = Item::McpCall(McpCall {
                    id: item_id.to_owned(),
                    arguments: call.function.arguments.clone(),
                    name: call.function.name.clone(),
                    server_label: server.server_label.clone(),
                    error: error.clone(),
                    output,
                });
                Done {
                    item,
                    message,
                    failed: error.is_some(),
                    citation_files: HashMap::new(),
                }
            }
            Kind::WebSearch => {
                let outcome = match (arguments, &self.engine.deps.tools) {
                    (Ok(kwargs), Some(tools)) => {
                        tools.invoke_tool(&self.turn.ctx, WEB_SEARCH, kwargs).await
                    }
                    (Err(e), _) => Err(e),
                    (_, None) => Err(Error::invalid("web_search needs the tool_runtime API")),
                };
                let failed = outcome
                    .as_ref()
                    .map_or(true, ToolInvocationResult::is_error);
                let message = match &outcome {
                    Ok(ToolInvocationResult {
                        content: Some(content),
                        ..
                    }) => tool_result(&call.id, chat_content(content)),
                    Ok(_) => {
                        tool_result(&call.id, ChatContent::Text("Tool execution failed".into()))
                    }
                    Err(e) => tool_result(&call.id, ChatContent::Text(e.message().to_owned())),
                };
                let status = if failed { "failed" } else { "completed" };
                Done {
                    item: Item::WebSearchCall(WebSearchCall {
                        id: item_id.to_owned(),
                        status: status.into(),
                    }),
                    message,
                    failed,
                    citation_files: HashMap::new(),
                }
            }
            Kind::FileSearch(tool) => {
                let query = arguments
                    .ok()
                    .and_then(|a| a.get("query").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                let results = self.search(tool, &query).await;
                let (parts, citation_files) = knowledge_search_text(&query, &results);
                let item = Item::FileSearchCall(FileSearchCall {
                    id: item_id.to_owned(),
                    queries: vec![query],
                    status: "completed".into(),
                    results: self.turn.include_search_results.then(|| {
                        results
                            .iter()
                            .map(|r| FileSearchResult {
                                attributes: r.attributes.clone(),
                                file_id: r.file_id.clone(),
                                filename: filename_of(r),
                                score: r.score,
                                text: r
                                    .content
                                    .first()
                                    .map(|c| c.text.clone())
                                    .unwrap_or_default(),
                            })
                            .collect()
                    }),
                });
                let message = tool_result(&call.id, ChatContent::Parts(parts));
                Done {
                    item,
                    message,
                    failed: false,
                    citation_files,
                }
            }
        }
    }

    /// Calls an MCP tool through the tool runtime, with the tool's `headers` as `mcp_headers`.
    async fn call_mcp(
        &self,
        server: &McpToolConfig,
        name: &str,
        kwargs: Map<String, Value>,
    ) -> Result<ToolInvocationResult> {
        let tools = self
            .engine
            .deps
            .tools
            .as_ref()
            .ok_or_else(|| Error::invalid("MCP tools need the tool_runtime API"))?;
        let ctx = mcp_context(&self.turn.ctx, server);
        tools
            .invoke_mcp_tool(
                &ctx,
                &McpEndpoint {
                    uri: server.server_url.clone(),
                },
                name,
                kwargs,
            )
            .await
    }

    /// Searches every store of the tool at once; a store that fails adds nothing (as in 0.3.5).
    async fn search(&self, tool: &FileSearchTool, query: &str) -> Vec<SearchResult> {
        let Some(stores) = &self.engine.deps.vector_stores else {
            return Vec::new();
        };
        let ranking_options = tool
            .ranking_options
            .clone()
            .and_then(|v| serde_json::from_value(v).ok());
        let searches = tool.vector_store_ids.iter().map(|id| {
            let request = SearchRequest {
                query: lls_api_vector_io::SearchQuery::One(query.to_owned()),
                filters: tool.filters.clone(),
                max_num_results: tool.max_num_results,
                ranking_options: ranking_options.clone(),
                rewrite_query: Some(false),
                search_mode: None,
            };
            async move {
                match stores.search_vector_store(&self.turn.ctx, id, request).await {
                    Ok(page) => page.data,
                    Err(e) => {
                        tracing::warn!(vector_store_id = %id, "file_search: the store could not be searched: {e}");
                        Vec::new()
                    }
                }
            }
        });
        join_all(searches).await.into_iter().flatten().collect()
    }
}

/// The context an MCP server's calls run with: the tool's `headers` for its URL.
pub(super) fn mcp_context(
    ctx: &lls_api_common::RequestContext,
    server: &McpToolConfig,
) -> lls_api_common::RequestContext {
    match &server.headers {
        Some(headers) if !headers.is_empty() => {
            let mut all = ctx
                .provider_data()
                .get("mcp_headers")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let headers: Map<String, Value> = headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Value::String(v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
                    )
                })
                .collect();
            all.insert(server.server_url.clone(), Value::Object(headers));
            ctx.with_provider_data_entry("mcp_headers", Value::Object(all))
        }
        _ => ctx.clone(),
    }
}

/// The result's file name: the search's, else the `filename` attribute, else "unknown".
fn filename_of(r: &SearchResult) -> String {
    if !r.filename.is_empty() {
        return r.filename.clone();
    }
    r.attributes
        .get("filename")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned()
}

/// What the model reads of a search, exactly as 0.3.5 writes it, and the file names to cite.
fn knowledge_search_text(
    query: &str,
    results: &[SearchResult],
) -> (Vec<Value>, HashMap<String, String>) {
    let part = |text: String| json!({"type": "text", "text": text});
    let mut parts = vec![part(format!(
        "knowledge_search tool found {} chunks:\nBEGIN of knowledge_search tool results.\n",
        results.len()
    ))];
    let mut files = HashMap::new();
    for (i, r) in results.iter().enumerate() {
        let file_id = if r.file_id.is_empty() {
            r.attributes
                .get("document_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        } else {
            r.file_id.clone()
        };
        let mut metadata = format!(
            "document_id: {file_id}, score: {}",
            lls_pycompat::repr_float(r.score)
        );
        if !r.attributes.is_empty() {
            metadata.push_str(&format!(
                ", attributes: {}",
                lls_pycompat::repr_map(&r.attributes)
            ));
        }
        let text = r
            .content
            .first()
            .map(|c| c.text.as_str())
            .unwrap_or_default();
        parts.push(part(format!(
            "[{}] {metadata} (cite as <|{file_id}|>)\n{text}\n",
            i + 1
        )));
        files.insert(file_id, filename_of(r));
    }
    parts.push(part("END of knowledge_search tool results.\n".to_owned()));
    let instruction = if files.is_empty() {
        ""
    } else {
        " Cite sources immediately at the end of sentences before punctuation, using `<|file-id|>` format (e.g., 'This is a fact <|file-Cn3MSNn72ENTiiq11Qda4A|>.'). Do not add extra punctuation. Use only the file IDs provided (do not invent new ones)."
    };
    parts.push(part(format!(
        "The above results were retrieved to help answer the user's query: \"{query}\". Use them as supporting information only in answering this query.{instruction}\n"
    )));
    (parts, files)
}

impl Run {
    /// Lists an MCP server's tools (the allowed ones) and offers them to the model; the listing
    /// is an `mcp_list_tools` item. A server that cannot be listed fails the response.
    pub(super) async fn list_mcp(&mut self, sink: &mut Sink, config: &McpToolConfig) -> Result<()> {
        sink.emit(ResponseEvent::McpListToolsInProgress { sequence_number: 0 })
            .await;
        let tools = match &self.engine.deps.tools {
            Some(tools) => {
                let ctx = mcp_context(&self.turn.ctx, config);
                tools
                    .list_mcp_tools(
                        &ctx,
                        &McpEndpoint {
                            uri: config.server_url.clone(),
                        },
                    )
                    .await
            }
            None => Err(Error::invalid(
                "MCP tools need the tool_runtime API and its remote::model-context-protocol provider",
            )),
        };
        let tools = match tools {
            Ok(tools) => tools,
            Err(e) => {
                sink.emit(ResponseEvent::McpListToolsFailed { sequence_number: 0 })
                    .await;
                return Err(e);
            }
        };
        let mut listing = lls_api_agents::McpListTools {
            id: format!("mcp_list_{}", uuid::Uuid::new_v4()),
            server_label: config.server_label.clone(),
            tools: Vec::new(),
        };
        for t in tools {
            if config
                .allowed_tools
                .as_ref()
                .is_some_and(|a| !a.allows(&t.name))
            {
                continue;
            }
            if self.mcp_tools.contains_key(&t.name) {
                return Err(Error::invalid(format!(
                    "Duplicate tool name {} found for server {}",
                    t.name, config.server_label
                )));
            }
            let schema = match t.input_schema.clone() {
                Some(schema) => schema,
                None => json!({"type": "object", "properties": {}, "required": []})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            };
            self.chat_tools.push(super::chat_tool(
                &t.name,
                t.description.clone(),
                Some(Value::Object(schema.clone())),
            ));
            self.mcp_tools.insert(t.name.clone(), config.clone());
            listing.tools.push(lls_api_agents::McpTool {
                input_schema: schema,
                name: t.name,
                description: t.description,
            });
        }
        self.add_listing(sink, listing).await;
        Ok(())
    }

    pub(super) async fn add_listing(
        &mut self,
        sink: &mut Sink,
        listing: lls_api_agents::McpListTools,
    ) {
        let response_id = self.turn.id.clone();
        self.output.push(Item::McpListTools(listing.clone()));
        let output_index = self.output.len() - 1;
        let empty = Item::McpListTools(lls_api_agents::McpListTools {
            tools: Vec::new(),
            ..listing.clone()
        });
        sink.emit(ResponseEvent::OutputItemAdded {
            response_id: response_id.clone(),
            item: empty,
            output_index,
            sequence_number: 0,
        })
        .await;
        sink.emit(ResponseEvent::McpListToolsCompleted { sequence_number: 0 })
            .await;
        sink.emit(ResponseEvent::OutputItemDone {
            response_id,
            item: Item::McpListTools(listing),
            output_index,
            sequence_number: 0,
        })
        .await;
    }
}

/// A server-side tool call's span while traces are exported, in the GenAI conventions:
/// `execute_tool {name}` with `gen_ai.tool.name`, `gen_ai.tool.call.id` and `gen_ai.tool.type`.
fn tool_span(call: &ToolCall, kind: &Kind) -> tracing::Span {
    lls_trace_context::span_if_traced(|| {
        let tool_type = match kind {
            Kind::FileSearch(_) => "datastore",
            Kind::Mcp(_) | Kind::WebSearch => "extension",
        };
        tracing::info_span!(
            "tool_call",
            otel.name = %format!("execute_tool {}", call.function.name),
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = %call.function.name,
            gen_ai.tool.call.id = %call.id,
            gen_ai.tool.r#type = tool_type,
        )
    })
}
