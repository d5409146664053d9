//! The provider on real models: SmolLM2-135M-Instruct for streaming, `stop`, `max_tokens`,
//! disconnects and concurrent requests; Qwen2.5-Coder-0.5B-Instruct for one tool call.
//! Without the files these fail (see `common`), unless `LLS_TEST_NO_MODELS=1`.

mod common;

use std::time::Duration;

use futures::StreamExt;
use lls_api_common::{ErrorKind, RequestContext};
use lls_api_inference::{ChunkAccumulator, CompletionRequest, Inference, Output};
use serde_json::{Value, json};

const LONG: &str = "Count from 1 to 300, separated by commas.";

fn user(text: &str) -> Value {
    json!([{"role": "user", "content": text}])
}

#[tokio::test]
async fn greedy_answers_are_repeatable_and_stop_at_max_tokens() {
    let Some(config) = common::config(common::SMOLLM2, "greedy") else {
        return;
    };
    let p = common::provider(config);
    let body =
        json!({"model": p.model_id(), "messages": user(LONG), "max_tokens": 12, "temperature": 0});
    let a = common::chat(&*p, body.clone()).await;
    let b = common::chat(&*p, body).await;
    let text = a.choices[0].message.content.clone().unwrap();
    assert_eq!(
        Some(text.clone()),
        b.choices[0].message.content,
        "greedy decoding is not repeatable"
    );
    assert_eq!(a.choices[0].finish_reason.as_deref(), Some("length"));
    let usage = a.usage.unwrap();
    assert_eq!(usage.completion_tokens, 12);
    assert!(
        usage.prompt_tokens > 5 && usage.total_tokens == usage.prompt_tokens + 12,
        "{usage:?}"
    );
    assert!(a.id.starts_with("chatcmpl-") && a.object == "chat.completion");
}

#[tokio::test]
async fn streams_add_up_to_the_whole_answer_with_usage() {
    let Some(config) = common::config(common::SMOLLM2, "stream") else {
        return;
    };
    let p = common::provider(config);
    let body = json!({"model": p.model_id(), "messages": user("Say hello."), "max_tokens": 24, "temperature": 0});
    let whole = common::chat(&*p, body.clone()).await;
    let mut streamed = body;
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let chunks = common::chat_stream(&*p, streamed).await;
    assert!(chunks.len() >= 3, "{chunks:?}");
    assert_eq!(
        chunks[0].choices[0].delta.role.as_deref(),
        Some("assistant")
    );
    assert!(
        chunks
            .iter()
            .all(|c| c.id == chunks[0].id && c.object == "chat.completion.chunk")
    );
    let last = chunks.last().unwrap();
    assert!(
        last.choices.is_empty() && last.usage.is_some(),
        "the last chunk is not the usage chunk: {last:?}"
    );
    let finish = &chunks[chunks.len() - 2].choices[0];
    assert!(
        finish.finish_reason.is_some() && finish.delta.content.is_none(),
        "{finish:?}"
    );
    let mut acc = ChunkAccumulator::default();
    chunks.iter().for_each(|c| acc.push(c));
    let folded = acc.finish().unwrap();
    assert_eq!(
        folded.choices[0].message.content,
        whole.choices[0].message.content
    );
    assert_eq!(
        folded.usage.unwrap().completion_tokens,
        whole.usage.unwrap().completion_tokens
    );
}

#[tokio::test]
async fn stop_sequences_end_the_answer_and_are_not_sent() {
    let Some(config) = common::config(common::SMOLLM2, "stop") else {
        return;
    };
    let p = common::provider(config);
    let base =
        json!({"model": p.model_id(), "messages": user(LONG), "max_tokens": 40, "temperature": 0});
    let free = common::chat(&*p, base.clone()).await.choices[0]
        .message
        .content
        .clone()
        .unwrap();
    // Stop at the third character of the free answer: the answer is what came before it.
    let cut: String = free.chars().take(2).collect();
    let stop: String = free.chars().skip(2).take(2).collect();
    assert!(!stop.is_empty(), "{free:?}");
    let mut body = base;
    body["stop"] = json!([stop.clone(), "never-said-stop"]);
    let c = common::chat(&*p, body.clone()).await;
    assert_eq!(
        c.choices[0].message.content.as_deref(),
        Some(&free[..free.find(&stop).unwrap()]),
        "free: {free:?}, cut {cut:?}"
    );
    assert_eq!(c.choices[0].finish_reason.as_deref(), Some("stop"));
    body["stream"] = json!(true);
    let text: String = common::chat_stream(&*p, body)
        .await
        .iter()
        .flat_map(|c| &c.choices)
        .filter_map(|c| c.delta.content.clone())
        .collect();
    assert_eq!(Some(text.as_str()), c.choices[0].message.content.as_deref());
}

#[tokio::test]
async fn completions_and_several_choices() {
    let Some(config) = common::config(common::SMOLLM2, "completions") else {
        return;
    };
    let p = common::provider(config);
    let req: CompletionRequest =
        serde_json::from_value(json!({"model": p.model_id(), "prompt": "The capital of France is", "max_tokens": 6, "temperature": 0, "echo": true}))
            .unwrap();
    let Output::Complete(c) = p.completion(&RequestContext::default(), req).await.unwrap() else {
        panic!("a stream")
    };
    let c = c.into_typed().unwrap();
    assert!(
        c.choices[0].text.starts_with("The capital of France is") && c.choices[0].text.len() > 24,
        "{c:?}"
    );
    assert_eq!(c.object, "text_completion");
    let n3 = common::chat(&*p, json!({"model": p.model_id(), "messages": user("Name a colour."), "n": 3, "max_tokens": 8, "seed": 7})).await;
    assert_eq!(
        n3.choices.iter().map(|c| c.index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(n3.choices.iter().all(|c| c.message.content.is_some()));
}

#[tokio::test]
async fn concurrent_requests_decode_together_and_match_their_solo_answers() {
    let Some(config) = common::config(common::SMOLLM2, "concurrent") else {
        return;
    };
    let p = common::provider(config); // 2 sequences
    let ask = |q: &str| json!({"model": p.model_id(), "messages": user(q), "max_tokens": 8, "temperature": 0});
    let questions = [
        "Name a fruit.",
        "What is 2 + 2?",
        "Say hi.",
        "Name a river.",
    ];
    let mut solo = Vec::new();
    for q in questions {
        solo.push(
            common::chat(&*p, ask(q)).await.choices[0]
                .message
                .content
                .clone(),
        );
    }
    let together =
        futures::future::join_all(questions.iter().map(|q| common::chat(&*p, ask(q)))).await;
    for (i, c) in together.iter().enumerate() {
        assert_eq!(c.choices[0].message.content, solo[i], "{}", questions[i]);
    }
}

#[tokio::test]
async fn a_dropped_stream_stops_generating_and_a_full_queue_is_a_503() {
    let Some(mut config) = common::config(common::SMOLLM2, "disconnect") else {
        return;
    };
    config.max_concurrent_sequences = 1;
    config.max_queued_requests = 1;
    let p = common::provider(config);
    let body = json!({"model": p.model_id(), "messages": user(LONG), "max_tokens": 1000, "temperature": 0, "stream": true});
    let Output::Stream(mut s) = p
        .chat_completion(&RequestContext::default(), common::request(body.clone()))
        .await
        .unwrap()
    else {
        panic!("no stream")
    };
    for _ in 0..3 {
        s.next().await.unwrap().unwrap();
    }
    // The one sequence is busy: one more request waits, the next is refused.
    let waiting = tokio::spawn({
        let p = p.clone();
        let body = json!({"model": p.model_id(), "messages": user("Say hi."), "max_tokens": 4});
        async move { common::chat(&*p, body).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = p
        .chat_completion(&RequestContext::default(), common::request(body))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
    assert!(err.message().contains("retry"), "{err}");
    drop(s);
    // The dropped stream's sequence ends, so the waiting request runs.
    let answered = tokio::time::timeout(Duration::from_secs(60), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answered.choices.len(), 1);
    let after = p.tokens_generated();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        p.tokens_generated(),
        after,
        "tokens are still being generated for a dropped stream"
    );
    assert!(after < 1000, "the dropped stream ran to its max_tokens");
}

#[tokio::test]
async fn qwen_calls_a_tool_with_arguments_that_parse() {
    let Some(config) = common::config(common::QWEN, "qwen tool call") else {
        return;
    };
    let p = common::provider(config);
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"]}}}]);
    let body = json!({"model": p.model_id(), "messages": user("What is the weather like in Paris today?"), "tools": tools,
        "max_tokens": 64, "temperature": 0});
    let c = common::chat(&*p, body.clone()).await;
    let choice = &c.choices[0];
    assert_eq!(
        choice.finish_reason.as_deref(),
        Some("tool_calls"),
        "{choice:?}"
    );
    let call = &choice.message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.function.name, "get_weather");
    let args: Value = serde_json::from_str(&call.function.arguments).unwrap();
    assert!(
        args["city"].as_str().is_some_and(|c| c.contains("Paris")),
        "{args}"
    );
    assert!(choice.message.content.is_none());
    // Streamed: the call arrives as tool-call deltas, never as text.
    let mut streamed = body;
    streamed["stream"] = json!(true);
    let chunks = common::chat_stream(&*p, streamed).await;
    assert!(
        chunks.iter().flat_map(|c| &c.choices).all(|c| c
            .delta
            .content
            .as_deref()
            .is_none_or(str::is_empty))
    );
    let mut acc = ChunkAccumulator::default();
    chunks.iter().for_each(|c| acc.push(c));
    let folded = acc.finish().unwrap();
    assert_eq!(
        folded.choices[0].finish_reason.as_deref(),
        Some("tool_calls")
    );
    let call = &folded.choices[0].message.tool_calls.as_ref().unwrap()[0];
    serde_json::from_str::<Value>(&call.function.arguments).unwrap();
}

#[tokio::test]
async fn grammars_force_json_and_tool_calls() {
    let Some(config) = common::config(common::SMOLLM2, "grammars") else {
        return;
    };
    let p = common::provider(config);
    // json_object: any object.
    let body = json!({"model": p.model_id(), "messages": user("Describe a cat."), "max_tokens": 96, "temperature": 0,
        "response_format": {"type": "json_object"}});
    let c = common::chat(&*p, body).await;
    let text = c.choices[0].message.content.clone().unwrap();
    if c.choices[0].finish_reason.as_deref() == Some("stop") {
        assert!(
            serde_json::from_str::<Value>(&text).unwrap().is_object(),
            "{text}"
        );
    } else {
        assert!(text.trim_start().starts_with('{'), "{text}");
    }
    // json_schema: the schema's required members, in order, of the right types.
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
        "pet": {"type": "string", "enum": ["cat", "dog"]}}, "required": ["name", "age", "pet"], "additionalProperties": false});
    let body = json!({"model": p.model_id(), "messages": user("Ada is 36 and has a cat. Give her as JSON."), "max_tokens": 64,
        "temperature": 0, "response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}});
    let c = common::chat(&*p, body).await;
    let text = c.choices[0].message.content.clone().unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(
        doc["name"].is_string()
            && doc["age"].is_i64()
            && ["cat", "dog"].contains(&doc["pet"].as_str().unwrap()),
        "{doc}"
    );
    // tool_choice required: SmolLM2 knows no tools, yet it calls one with schema-shaped arguments.
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
        "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
    let body = json!({"model": p.model_id(), "messages": user("Weather in Paris?"), "tools": tools, "tool_choice": "required",
        "max_tokens": 48, "temperature": 0});
    let c = common::chat(&*p, body).await;
    assert_eq!(
        c.choices[0].finish_reason.as_deref(),
        Some("tool_calls"),
        "{:?}",
        c.choices[0]
    );
    let call = &c.choices[0].message.tool_calls.as_ref().unwrap()[0];
    let args: Value = serde_json::from_str(&call.function.arguments).unwrap();
    assert!(args["city"].is_string(), "{args}");
}

#[tokio::test]
async fn without_tools_to_call_the_answer_is_text_even_after_calls() {
    let Some(config) = common::config(common::QWEN, "tool_choice none") else {
        return;
    };
    let p = common::provider(config);
    let tools = json!([{"type": "function", "function": {"name": "knowledge_search", "description": "Search the documents",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}]);
    // The conversation so far holds a call and its result: Qwen 0.5B imitates the call when it
    // may choose, and wrote it as text under tool_choice none before the grammar.
    let messages = json!([
        {"role": "user", "content": "What is the launch code of Project Zebra?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "knowledge_search", "arguments": "{\"query\": \"launch code of Project Zebra\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Project Zebra internal memo. The launch code of Project Zebra is 4417."},
    ]);
    let body = json!({"model": p.model_id(), "messages": messages, "tools": tools, "tool_choice": "none",
        "max_tokens": 48, "temperature": 0});
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let mut acc = ChunkAccumulator::default();
    common::chat_stream(&*p, streamed).await.iter().for_each(|c| acc.push(c));
    let folded = acc.finish().unwrap();
    let c = common::chat(&*p, body).await;
    assert_eq!(folded.choices[0].message.content, c.choices[0].message.content, "streamed and whole differ");
    let message = &c.choices[0].message;
    assert!(message.tool_calls.is_none(), "{message:?}");
    let text = message.content.clone().unwrap_or_default();
    assert!(
        !text.starts_with(['{', '<', '`']) && !text.contains("\"arguments\""),
        "{text:?}"
    );
    assert!(text.contains("4417"), "{text:?}");
    // No tools offered at all (the router drops them under tool_choice none): the same.
    let body = json!({"model": p.model_id(), "messages": messages, "max_tokens": 48, "temperature": 0});
    let c = common::chat(&*p, body).await;
    let text = c.choices[0].message.content.clone().unwrap_or_default();
    assert!(
        !text.starts_with(['{', '<', '`']) && text.contains("4417"),
        "{text:?}"
    );
}
