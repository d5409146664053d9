//! The engine beyond the shared suite: every event type, MCP tools (listing, filters, calls,
//! failures, approvals), guardrails, limits, tool choice, conversations, and stored responses
//! surviving a restart. Real MCP servers (the test kit's) through the real MCP provider and
//! tool runtime router; a scripted model for reasoning and refusal chunks. (Here rather than in
//! the provider crate: it puts providers and services together, which only a distribution may.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use lls_agents_inline_meta_reference::{Deps, Engine, MetaReference, ResponsesStore};
use lls_api_agents::{Emitted, Item, ResponseEvent, ResponseObject, Responses};
use lls_api_common::store::{KvStoreRef, SqlStore, StoreResolver};
use lls_api_common::{Error, RequestContext, Result, Tasks};
use lls_api_conversations::Conversations;
use lls_api_inference::{
    Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion,
    CompletionRequest, EmbeddingsRequest, EmbeddingsResponse, Inference, Output,
};
use lls_api_safety::{
    ModerationObject, ModerationResult, RunModerationRequest, RunShieldRequest, RunShieldResponse,
    Safety, Shield,
};
use lls_api_tool_runtime::{
    McpEndpoint, ToolDef, ToolInvocationResult, ToolRuntime, ToolRuntimeProvider,
};
use lls_registry::ResourceRegistry;
use lls_service_tool_runtime::{ToolGroupsTable, ToolRuntimeRouter};
use lls_testkit::TestMcpServer;
use lls_testkit::agent_doubles::{Document, SearchStores, SearchTools};
use lls_tool_runtime_remote_model_context_protocol::{McpConfig, McpProvider};
use serde_json::{Map, Value, json};

/// The MCP router for MCP servers, the search double for the search tools.
struct Tools {
    mcp: ToolRuntimeRouter,
    search: SearchTools,
}

#[async_trait]
impl ToolRuntime for Tools {
    async fn list_runtime_tools(
        &self,
        ctx: &RequestContext,
        group: Option<&str>,
        endpoint: Option<&McpEndpoint>,
    ) -> Result<Vec<ToolDef>> {
        self.search.list_runtime_tools(ctx, group, endpoint).await
    }
    async fn invoke_tool(
        &self,
        ctx: &RequestContext,
        name: &str,
        kwargs: Map<String, Value>,
    ) -> Result<ToolInvocationResult> {
        self.search.invoke_tool(ctx, name, kwargs).await
    }
    async fn get_tool(&self, ctx: &RequestContext, name: &str) -> Result<ToolDef> {
        self.search.get_tool(ctx, name).await
    }
    async fn list_mcp_tools(
        &self,
        ctx: &RequestContext,
        endpoint: &McpEndpoint,
    ) -> Result<Vec<ToolDef>> {
        self.mcp.list_mcp_tools(ctx, endpoint).await
    }
    async fn invoke_mcp_tool(
        &self,
        ctx: &RequestContext,
        endpoint: &McpEndpoint,
        name: &str,
        kwargs: Map<String, Value>,
    ) -> Result<ToolInvocationResult> {
        self.mcp.invoke_mcp_tool(ctx, endpoint, name, kwargs).await
    }
}

/// A shield that flags any text containing its word.
struct WordShield(&'static str);

#[async_trait]
impl Safety for WordShield {
    async fn run_shield(
        &self,
        _: &RequestContext,
        _: RunShieldRequest,
    ) -> Result<RunShieldResponse> {
        Err(Error::unsupported("not used"))
    }
    async fn run_moderation(
        &self,
        _: &RequestContext,
        _: RunModerationRequest,
    ) -> Result<ModerationObject> {
        Err(Error::unsupported("not used"))
    }
    async fn get_shield(&self, _: &RequestContext, id: &str) -> Result<Shield> {
        if id == "words" {
            Ok(Shield::new("words", "word-model", "test", Map::new()))
        } else {
            Err(Error::not_found(format!("Shield '{id}' not found")))
        }
    }
    async fn moderate_with(
        &self,
        _: &RequestContext,
        _: &str,
        inputs: &[String],
    ) -> Result<ModerationObject> {
        let results = inputs
            .iter()
            .map(|text| {
                let flagged = text.contains(self.0);
                ModerationResult {
                    flagged,
                    categories: Some(BTreeMap::from([("Violent Crimes".to_owned(), flagged)])),
                    category_applied_input_types: None,
                    category_scores: None,
                    user_message: flagged.then(|| "I can't answer that.".to_owned()),
                    metadata: Map::new(),
                }
            })
            .collect();
        Ok(ModerationObject {
            id: "modr-1".into(),
            model: "word-model".into(),
            results,
        })
    }
}

/// A model that streams reasoning, then text, then a refusal.
struct Scripted;

#[async_trait]
impl Inference for Scripted {
    async fn chat_completion(
        &self,
        _: &RequestContext,
        request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        let deltas = [
            json!({"reasoning_content": "Thinking about "}),
            json!({"reasoning_content": "the question."}),
            json!({"content": "Here is "}),
            json!({"content": "the answer."}),
            json!({"refusal": "But not all of it."}),
        ];
        let mut chunks: Vec<Result<Answer<ChatCompletionChunk>>> = deltas
            .into_iter()
            .map(|delta| {
                let c = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": request.model, "choices": [{"index": 0, "delta": delta}]});
                Ok(Answer::Typed(serde_json::from_value(c).unwrap()))
            })
            .collect();
        let last = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": request.model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}});
        chunks.push(Ok(Answer::Typed(serde_json::from_value(last).unwrap())));
        Ok(Output::Stream(futures::stream::iter(chunks).boxed()))
    }
    async fn completion(
        &self,
        _: &RequestContext,
        _: CompletionRequest,
    ) -> Result<Output<Completion, Completion>> {
        Err(Error::unsupported("chat only"))
    }
    async fn embeddings(
        &self,
        _: &RequestContext,
        _: EmbeddingsRequest,
    ) -> Result<Answer<EmbeddingsResponse>> {
        Err(Error::unsupported("chat only"))
    }
}

struct Setup {
    provider: Arc<dyn Responses>,
    conversations: Arc<dyn Conversations>,
}

async fn registry(stores: &Arc<dyn StoreResolver>) -> Arc<ResourceRegistry> {
    let kv = stores
        .kv(&KvStoreRef {
            backend: "kv_default".into(),
            namespace: "registry".into(),
        })
        .await
        .unwrap();
    Arc::new(ResourceRegistry::open(kv).await.unwrap())
}

async fn setup_with(inference: Arc<dyn Inference>, sql: Arc<dyn SqlStore>) -> Setup {
    let stores = lls_testkit::stores::memory_stores();
    let mcp: Arc<dyn ToolRuntimeProvider> =
        Arc::new(McpProvider::new("mcp", &McpConfig::default(), Tasks::new()).unwrap());
    let table = ToolGroupsTable::new(
        registry(&stores).await,
        BTreeMap::from([("mcp".to_owned(), mcp)]),
    );
    let tools = Tools {
        mcp: ToolRuntimeRouter::new(Arc::new(table)),
        search: SearchTools,
    };
    let conversations: Arc<dyn Conversations> = Arc::new(
        lls_service_conversations::SqlConversations::open(sql.clone(), "openai_conversations")
            .await
            .unwrap(),
    );
    let documents = vec![Document {
        vector_store_id: "vs_1".into(),
        file_id: "file-budget".into(),
        filename: "budget.txt".into(),
        attributes: Map::new(),
        text: "The quarterly budget for marketing is 40000 euros.".into(),
    }];
    let deps = Deps {
        inference,
        tools: Some(Arc::new(tools)),
        vector_stores: Some(Arc::new(SearchStores { documents })),
        safety: Some(Arc::new(WordShield("forbidden"))),
        conversations: Some(conversations.clone()),
        prompts: None,
    };
    let store = Arc::new(ResponsesStore::open(sql).await.unwrap());
    Setup {
        provider: Arc::new(MetaReference::new(Engine::new(deps, store, Tasks::new()))),
        conversations,
    }
}

async fn setup() -> Setup {
    setup_with(
        lls_testkit::fake_chat::inference(),
        lls_testkit::stores::memory_sql().await.unwrap(),
    )
    .await
}

async fn events(p: &Arc<dyn Responses>, body: Value) -> Vec<Emitted> {
    let mut body = body;
    if body.get("model").is_none() {
        body["model"] = json!("fake-llm");
    }
    p.create_response(
        &RequestContext::default(),
        serde_json::from_value(body).unwrap(),
    )
    .await
    .unwrap()
    .collect()
    .await
}

fn last(events: &[Emitted]) -> ResponseObject {
    events
        .last()
        .and_then(|e| e.event.terminal_response())
        .cloned()
        .expect("a terminal event")
}

fn kinds(events: &[Emitted]) -> Vec<&'static str> {
    events.iter().map(|e| e.event.kind()).collect()
}

fn mcp_tool(url: &str, extra: Value) -> Value {
    let mut tool = json!({"type": "mcp", "server_label": "local", "server_url": url});
    if let (Value::Object(t), Value::Object(e)) = (&mut tool, extra) {
        t.extend(e);
    }
    json!([tool])
}

#[tokio::test]
async fn every_event_type_is_sent_where_it_applies() {
    let s = setup().await;
    let server = TestMcpServer::start().await.unwrap();
    let url = server.sse_url();
    let mut seen: BTreeSet<&'static str> = BTreeSet::new();
    let mut run = |evs: &Vec<Emitted>| {
        let numbers: Vec<u64> = evs.iter().map(|e| e.event.sequence_number()).collect();
        assert_eq!(
            numbers,
            (0..evs.len() as u64).collect::<Vec<_>>(),
            "{:?}",
            kinds(evs)
        );
        seen.extend(kinds(evs));
    };
    // Text, a function call, a web search, a file search with a citation.
    run(&events(
        &s.provider,
        json!({"input": "Tell me about llamas", "stream": true}),
    )
    .await);
    let weather = json!([{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]);
    run(&events(
        &s.provider,
        json!({"input": "weather in Paris?", "tools": weather}),
    )
    .await);
    run(&events(
        &s.provider,
        json!({"input": "search llamas", "tools": [{"type": "web_search"}]}),
    )
    .await);
    run(&events(&s.provider, json!({"input": "marketing budget?", "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]})).await);
    // MCP: a call that works, one that fails, a server that cannot be listed.
    let evs = events(&s.provider, json!({"input": "greet", "tools": mcp_tool(&url, json!({"allowed_tools": ["greet_everyone"]}))})).await;
    assert_eq!(last(&evs).status, "completed", "{:?}", kinds(&evs));
    run(&evs);
    run(&events(&s.provider, json!({"input": "fail", "tools": mcp_tool(&url, json!({"allowed_tools": ["always_fails"]}))})).await);
    let evs = events(
        &s.provider,
        json!({"input": "x", "tools": mcp_tool("http://127.0.0.1:9/sse", json!({}))}),
    )
    .await;
    assert!(evs.last().unwrap().cause.is_some());
    run(&evs);
    // Limits, and a model that reasons and refuses (with a reasoning summary asked for).
    run(&events(&s.provider, json!({"input": "marketing budget?", "max_infer_iters": 1, "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]})).await);
    let scripted = setup_with(
        Arc::new(Scripted),
        lls_testkit::stores::memory_sql().await.unwrap(),
    )
    .await;
    let evs = events(
        &scripted.provider,
        json!({"input": "why?", "reasoning": {"summary": "auto"}}),
    )
    .await;
    let r = last(&evs);
    let Some(Item::Message(m)) = r.output.first() else {
        panic!("{:?}", r.output)
    };
    assert_eq!(
        serde_json::to_value(&m.content).unwrap(),
        json!([{"type": "output_text", "text": "Here is the answer.", "annotations": []}, {"type": "refusal", "refusal": "But not all of it."}])
    );
    run(&evs);
    let all: BTreeSet<&'static str> = ResponseEvent::TYPES.into_iter().collect();
    let missing: Vec<_> = all.difference(&seen).collect();
    assert!(missing.is_empty(), "event types never sent: {missing:?}");
}

#[tokio::test]
async fn mcp_tools_are_listed_filtered_and_called() {
    let s = setup().await;
    let server = TestMcpServer::start().await.unwrap();
    let evs = events(&s.provider, json!({"input": "greet", "tools": mcp_tool(&server.streamable_url(), json!({"allowed_tools": {"tool_names": ["greet_everyone"]}}))})).await;
    let r = last(&evs);
    let Some(Item::McpListTools(listing)) = r.output.first() else {
        panic!("{:?}", r.output)
    };
    assert_eq!(
        listing
            .tools
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["greet_everyone"]
    );
    let call = r.output.iter().find_map(|i| match i {
        Item::McpCall(c) => Some(c.clone()),
        _ => None,
    });
    let call = call.expect("an mcp_call");
    assert_eq!(
        call.output.as_deref(),
        Some(lls_testkit::mcp_server::tools::GREETING)
    );
    assert_eq!(
        (call.name.as_str(), call.server_label.as_str(), call.error),
        ("greet_everyone", "local", None)
    );
    assert!(
        r.output
            .last()
            .is_some_and(|i| matches!(i, Item::Message(_))),
        "{:?}",
        r.output
    );
    // A tool reporting an error: the item says so and the response still completes.
    let evs = events(&s.provider, json!({"input": "x", "tools": mcp_tool(&server.sse_url(), json!({"allowed_tools": ["always_fails"]}))})).await;
    let r = last(&evs);
    assert_eq!(r.status, "completed");
    let failed = r
        .output
        .iter()
        .find_map(|i| {
            if let Item::McpCall(c) = i {
                Some(c.clone())
            } else {
                None
            }
        })
        .unwrap();
    assert!(
        failed.error.is_some() && failed.output.is_none(),
        "{failed:?}"
    );
}

#[tokio::test]
async fn approvals_are_asked_for_then_honoured() {
    let s = setup().await;
    let server = TestMcpServer::start().await.unwrap();
    let tools = mcp_tool(
        &server.sse_url(),
        json!({"allowed_tools": ["greet_everyone"], "require_approval": "always"}),
    );
    let first = last(&events(&s.provider, json!({"input": "greet", "tools": tools})).await);
    assert_eq!(first.status, "completed");
    let Some(Item::McpApprovalRequest(request)) = first.output.last() else {
        panic!("{:?}", first.output)
    };
    assert!(
        !first.output.iter().any(|i| matches!(i, Item::McpCall(_))),
        "called before approval"
    );
    // Approved: the call is made.
    let approve = json!([{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": true}]);
    let second = last(
        &events(
            &s.provider,
            json!({"input": approve, "tools": tools, "previous_response_id": first.id}),
        )
        .await,
    );
    assert!(
        second
            .output
            .iter()
            .any(|i| matches!(i, Item::McpCall(c) if c.output.is_some())),
        "{:?}",
        second.output
    );
    // Denied: no call, and the model answers.
    let deny = json!([{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": false}]);
    let third = last(
        &events(
            &s.provider,
            json!({"input": deny, "tools": tools, "previous_response_id": first.id}),
        )
        .await,
    );
    assert!(
        !third.output.iter().any(|i| matches!(i, Item::McpCall(_))),
        "{:?}",
        third.output
    );
    // A filter: `never` tools run without asking.
    let never = mcp_tool(
        &server.sse_url(),
        json!({"allowed_tools": ["greet_everyone"], "require_approval": {"never": ["greet_everyone"]}}),
    );
    let r = last(&events(&s.provider, json!({"input": "greet", "tools": never})).await);
    assert!(
        r.output.iter().any(|i| matches!(i, Item::McpCall(_))),
        "{:?}",
        r.output
    );
}

#[tokio::test]
async fn guardrails_refuse_flagged_input() {
    let s = setup().await;
    let refusal = |r: &ResponseObject| match r.output.as_slice() {
        [Item::Message(m)] => serde_json::to_value(&m.content).unwrap()[0]["refusal"]
            .as_str()
            .map(str::to_owned),
        _ => None,
    };
    let r = last(
        &events(
            &s.provider,
            json!({"input": "something forbidden", "guardrails": ["words"]}),
        )
        .await,
    );
    assert_eq!(
        refusal(&r).as_deref(),
        Some("I can't answer that. (flagged for: Violent Crimes)"),
        "{r:?}"
    );
    // A safe question and answer pass.
    let evs = events(
        &s.provider,
        json!({"input": "hello", "guardrails": [{"type": "words"}], "stream": true}),
    )
    .await;
    let r = last(&evs);
    assert!(refusal(&r).is_none(), "a safe answer was refused: {r:?}");
    // An unknown shield is refused up front.
    let bad = s
        .provider
        .create_response(
            &RequestContext::default(),
            serde_json::from_value(
                json!({"model": "fake-llm", "input": "x", "guardrails": ["nope"]}),
            )
            .unwrap(),
        )
        .await;
    assert_eq!(
        bad.err().map(|e| e.kind()),
        Some(lls_api_common::ErrorKind::InvalidRequest)
    );
}

#[tokio::test]
async fn output_guardrails_cut_the_stream() {
    // The shield flags "Mock", which only the model's answer contains.
    let sql = lls_testkit::stores::memory_sql().await.unwrap();
    let store = Arc::new(ResponsesStore::open(sql).await.unwrap());
    let deps = Deps {
        inference: lls_testkit::fake_chat::inference(),
        tools: None,
        vector_stores: None,
        safety: Some(Arc::new(WordShield("Mock"))),
        conversations: None,
        prompts: None,
    };
    let p: Arc<dyn Responses> =
        Arc::new(MetaReference::new(Engine::new(deps, store, Tasks::new())));
    let evs = events(
        &p,
        json!({"input": "hello", "guardrails": ["words"], "stream": true}),
    )
    .await;
    assert!(
        !kinds(&evs).contains(&"response.output_text.delta"),
        "flagged text reached the client: {:?}",
        kinds(&evs)
    );
    let r = last(&evs);
    assert_eq!(r.status, "completed");
    assert!(
        matches!(r.output.as_slice(), [Item::Message(m)] if serde_json::to_value(&m.content).unwrap()[0]["type"] == "refusal"),
        "{r:?}"
    );
}

#[tokio::test]
async fn limits_and_tool_choice_are_honoured() {
    let s = setup().await;
    let search = json!([{"type": "file_search", "vector_store_ids": ["vs_1"]}]);
    // No server-side calls allowed: the model is not offered the search.
    let r = last(
        &events(
            &s.provider,
            json!({"input": "marketing budget?", "tools": search, "max_tool_calls": 0}),
        )
        .await,
    );
    assert!(
        !r.output
            .iter()
            .any(|i| matches!(i, Item::FileSearchCall(_))),
        "{:?}",
        r.output
    );
    assert_eq!(r.max_tool_calls, Some(0));
    // tool_choice none: a text answer; a named function: that call.
    let weather = json!([{"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
        {"type": "function", "name": "get_time", "parameters": {"type": "object"}}]);
    let r = last(
        &events(
            &s.provider,
            json!({"input": "weather?", "tools": weather, "tool_choice": "none"}),
        )
        .await,
    );
    assert!(
        matches!(r.output.as_slice(), [Item::Message(_)]),
        "{:?}",
        r.output
    );
    let r = last(&events(&s.provider, json!({"input": "weather?", "tools": weather, "tool_choice": {"type": "function", "name": "get_time"}})).await);
    assert!(
        matches!(r.output.as_slice(), [Item::FunctionCall(c)] if c.name == "get_time"),
        "{:?}",
        r.output
    );
    assert_eq!(
        r.tool_choice,
        Some(json!({"type": "function", "name": "get_time"}))
    );
    // max_output_tokens cuts the answer: incomplete.
    let r = last(
        &events(
            &s.provider,
            json!({"input": "tell me a very long story about many llamas", "max_output_tokens": 2}),
        )
        .await,
    );
    assert_eq!(r.status, "incomplete", "{r:?}");
    assert_eq!(
        r.incomplete_details.map(|d| d.reason).as_deref(),
        Some("max_output_tokens")
    );
}

#[tokio::test]
async fn conversations_collect_every_turn() {
    let s = setup().await;
    let conv = s
        .conversations
        .create(&RequestContext::default(), Default::default())
        .await
        .unwrap();
    let first = last(
        &events(
            &s.provider,
            json!({"input": "My name is Ada.", "conversation": conv.id}),
        )
        .await,
    );
    let second = last(
        &events(
            &s.provider,
            json!({"input": "What is my name?", "conversation": conv.id, "store": false}),
        )
        .await,
    );
    let items = s
        .conversations
        .all_items(&RequestContext::default(), &conv.id)
        .await
        .unwrap();
    assert_eq!(items.len(), 4, "{items:?}");
    assert_eq!(items[1].id(), first.output[0].id());
    assert_eq!(items[3].id(), second.output[0].id());
    // A missing conversation is refused before anything runs.
    let missing = s
        .provider
        .create_response(
            &RequestContext::default(),
            serde_json::from_value(
                json!({"model": "fake-llm", "input": "x", "conversation": "conv_0000"}),
            )
            .unwrap(),
        )
        .await;
    assert!(missing.is_err());
}

#[tokio::test]
async fn stored_responses_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("lls-responses-{}", uuid::Uuid::new_v4()));
    let open = || {
        let spec = lls_storage::BackendSpec::SqliteSql {
            path: dir.join("responses.db"),
        };
        lls_storage::Stores::new([("sql_default".to_owned(), spec)]).unwrap()
    };
    let id = {
        let stores = open();
        let s = setup_with(
            lls_testkit::fake_chat::inference(),
            stores.sql("sql_default").await.unwrap(),
        )
        .await;
        last(&events(&s.provider, json!({"input": "remember this"})).await).id
    };
    let stores = open();
    let s = setup_with(
        lls_testkit::fake_chat::inference(),
        stores.sql("sql_default").await.unwrap(),
    )
    .await;
    let back = s
        .provider
        .get_response(&RequestContext::default(), &id)
        .await
        .unwrap();
    assert_eq!(back.status, "completed");
    let next = last(
        &events(
            &s.provider,
            json!({"input": "and now?", "previous_response_id": id}),
        )
        .await,
    );
    assert_eq!(next.previous_response_id.as_deref(), Some(id.as_str()));
    let _ = std::fs::remove_dir_all(&dir);
}
