//! Chat completions of the deterministic model: the whole answer, and its chunks streamed the
//! way OpenAI streams them (role first, word pieces, tool-call fragments, finish, usage).

use lls_api_common::{Error, Result};
use lls_api_inference::{
    AssistantMessage, ChatChoice, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest,
};
use lls_api_inference::{
    ChatMessage, ChunkChoice, Delta, FunctionCall, FunctionCallDelta, ResponseFormat, Role,
};
use lls_api_inference::{Tool, ToolCall, ToolCallDelta, ToolChoice, Usage};
use serde_json::{Map, Value, json};

use super::{chat_logprob_entry, last_word, pieces, shape};
use crate::embedding::token_count;
use crate::schema_fill::{Properties, fill};

/// A model that, as small models do, calls its tool again (same arguments) after the tool's
/// result instead of answering, unless `tool_choice` is `none`: agent loops must not spin on it.
pub const REPEATS_TOOL_CALLS: &str = "repeats-tool-calls";

/// The answer to a chat request; `id` and `created` are the caller's.
pub fn chat(req: &ChatCompletionRequest, id: &str, created: i64) -> Result<ChatCompletion> {
    let n = req.n.unwrap_or(1).max(1);
    let tool = chosen_tool(req)?;
    let asked = last_user_text(&req.messages);
    let verdict = super::guard_verdict(&asked);
    let mut completion_tokens = 0;
    let choices: Vec<ChatChoice> = (0..n)
        .map(|index| {
            let choice = match (&verdict, tool) {
                (Some(verdict), _) => verdict_choice(verdict, index),
                (None, Some(t)) => tool_call_choice(t, &asked, id, index),
                (None, None) => text_choice(req, &asked, index),
            };
            completion_tokens += choice_tokens(&choice.message);
            choice
        })
        .collect();
    let prompt_tokens: usize = req
        .messages
        .iter()
        .filter_map(|m| m.content.as_ref())
        .map(|c| token_count(&c.to_text()))
        .sum();
    Ok(ChatCompletion {
        id: id.to_owned(),
        object: "chat.completion".into(),
        created,
        model: req.model.clone(),
        choices,
        usage: Some(usage(prompt_tokens, completion_tokens)),
        extra: Map::new(),
    })
}

/// The chunks that stream `completion`, choice after choice; with `include_usage`, a last chunk
/// with no choices carries the usage.
pub fn chat_chunks(completion: &ChatCompletion, include_usage: bool) -> Vec<ChatCompletionChunk> {
    let chunk = |choices: Vec<ChunkChoice>| ChatCompletionChunk {
        id: completion.id.clone(),
        object: "chat.completion.chunk".into(),
        created: completion.created,
        model: completion.model.clone(),
        choices,
        usage: None,
        extra: Map::new(),
    };
    let mut out = Vec::new();
    for choice in &completion.choices {
        for (delta, logprobs) in deltas(choice) {
            out.push(chunk(vec![ChunkChoice {
                index: choice.index,
                delta,
                finish_reason: None,
                logprobs,
                extra: Map::new(),
            }]));
        }
        out.push(chunk(vec![ChunkChoice {
            index: choice.index,
            delta: Delta::default(),
            finish_reason: choice.finish_reason.clone(),
            logprobs: None,
            extra: Map::new(),
        }]));
    }
    if include_usage {
        let mut last = chunk(Vec::new());
        last.usage = completion.usage.clone();
        out.push(last);
    }
    out
}

/// The deltas of one choice before its finish chunk, each with its logprobs.
fn deltas(choice: &ChatChoice) -> Vec<(Delta, Option<Value>)> {
    let role = Some("assistant".to_owned());
    if let Some(call) = choice.message.tool_calls.as_ref().and_then(|c| c.first()) {
        let head = ToolCallDelta {
            index: 0,
            id: Some(call.id.clone()),
            kind: Some("function".into()),
            function: Some(FunctionCallDelta {
                name: Some(call.function.name.clone()),
                arguments: Some(String::new()),
            }),
        };
        let mut out = vec![(
            Delta {
                role,
                tool_calls: Some(vec![head]),
                ..Delta::default()
            },
            None,
        )];
        for fragment in fragments(&call.function.arguments, 8) {
            let d = ToolCallDelta {
                index: 0,
                function: Some(FunctionCallDelta {
                    name: None,
                    arguments: Some(fragment.to_owned()),
                }),
                ..ToolCallDelta::default()
            };
            out.push((
                Delta {
                    tool_calls: Some(vec![d]),
                    ..Delta::default()
                },
                None,
            ));
        }
        return out;
    }
    let content = choice.message.content.as_deref().unwrap_or_default();
    let entries = choice
        .logprobs
        .as_ref()
        .and_then(|l| l.get("content"))
        .and_then(Value::as_array);
    let mut out = vec![(
        Delta {
            role,
            content: Some(String::new()),
            ..Delta::default()
        },
        None,
    )];
    for (i, piece) in pieces(content).into_iter().enumerate() {
        let logprobs = entries
            .and_then(|e| e.get(i))
            .map(|e| json!({"content": [e], "refusal": null}));
        out.push((
            Delta {
                content: Some(piece.to_owned()),
                ..Delta::default()
            },
            logprobs,
        ));
    }
    out
}

/// Splits at char boundaries into pieces of at most `size` chars.
fn fragments(s: &str, size: usize) -> Vec<&str> {
    let bounds: Vec<usize> = s
        .char_indices()
        .map(|(i, _)| i)
        .step_by(size.max(1))
        .chain([s.len()])
        .collect();
    bounds
        .windows(2)
        .map(|w| &s[w[0]..w[1]])
        .filter(|f| !f.is_empty())
        .collect()
}

/// The tool to call: none when no tools or `tool_choice: "none"`, the named one, else the first.
fn chosen_tool(req: &ChatCompletionRequest) -> Result<Option<&Tool>> {
    let Some(tools) = req.tools.as_ref().filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    // After a tool's result the model answers with text, unless a tool call is forced (as a real
    // model would; an agent loop would otherwise call the tool forever).
    let answered = req.model != REPEATS_TOOL_CALLS
        && req.messages.last().is_some_and(|m| m.role == Role::Tool);
    match &req.tool_choice {
        Some(ToolChoice::Mode(m)) if m == "none" => Ok(None),
        Some(ToolChoice::Mode(m)) if m == "auto" && answered => Ok(None),
        None if answered => Ok(None),
        Some(ToolChoice::Named(named)) => {
            let name = named
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            tools
                .iter()
                .find(|t| t.function.name == name)
                .map(Some)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "tool_choice names function '{name}', which is not in 'tools'"
                    ))
                    .with_param("tool_choice")
                })
        }
        _ => Ok(tools.first()),
    }
}

fn tool_call_choice(tool: &Tool, asked: &str, id: &str, index: u32) -> ChatChoice {
    let schema = tool
        .function
        .parameters
        .clone()
        .unwrap_or_else(|| json!({"type": "object"}));
    let arguments = fill(&schema, &last_word(asked), Properties::Required).to_string();
    let call = ToolCall {
        id: format!("call_{}_{index}", id.trim_start_matches("chatcmpl-")),
        kind: "function".into(),
        function: FunctionCall {
            name: tool.function.name.clone(),
            arguments,
        },
    };
    let message = AssistantMessage {
        role: "assistant".into(),
        tool_calls: Some(vec![call]),
        ..AssistantMessage::default()
    };
    ChatChoice {
        index,
        message,
        finish_reason: Some("tool_calls".into()),
        logprobs: None,
        extra: Map::new(),
    }
}

fn text_choice(req: &ChatCompletionRequest, asked: &str, index: u32) -> ChatChoice {
    let full = answer_text(req, asked);
    let (content, finish) = shape(
        &full,
        req.stop.as_ref(),
        req.max_completion_tokens.or(req.max_tokens),
    );
    let logprobs = req.logprobs.unwrap_or(false).then(|| {
        let top = req.top_logprobs.unwrap_or(0);
        let entries: Vec<Value> = pieces(&content)
            .into_iter()
            .map(|p| chat_logprob_entry(p, top))
            .collect();
        json!({"content": entries, "refusal": null})
    });
    let message = AssistantMessage {
        role: "assistant".into(),
        content: Some(content),
        ..AssistantMessage::default()
    };
    ChatChoice {
        index,
        message,
        finish_reason: Some(finish.into()),
        logprobs,
        extra: Map::new(),
    }
}

/// What the model says before `stop` and `max_tokens` cut it.
fn answer_text(req: &ChatCompletionRequest, asked: &str) -> String {
    let plain = match req.messages.last() {
        Some(m) if m.role == Role::Tool => {
            format!(
                "The tool returned: {}",
                m.content.as_ref().map(|c| c.to_text()).unwrap_or_default()
            )
        }
        _ => format!("Mock answer. You asked: {asked}")
            .trim_end()
            .to_owned(),
    };
    match &req.response_format {
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let schema = json_schema
                .schema
                .clone()
                .unwrap_or_else(|| json!({"type": "object"}));
            fill(&schema, &last_word(asked), Properties::All).to_string()
        }
        Some(ResponseFormat::JsonObject) => json!({ "answer": plain }).to_string(),
        _ => plain,
    }
}

/// A guard model's verdict as the whole answer.
fn verdict_choice(verdict: &str, index: u32) -> ChatChoice {
    ChatChoice {
        index,
        message: AssistantMessage {
            role: "assistant".into(),
            content: Some(verdict.to_owned()),
            ..AssistantMessage::default()
        },
        finish_reason: Some("stop".into()),
        logprobs: None,
        extra: Map::new(),
    }
}

fn last_user_text(messages: &[ChatMessage]) -> String {
    messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .and_then(|m| m.content.as_ref())
        .map(|c| c.to_text())
        .unwrap_or_default()
}

fn choice_tokens(message: &AssistantMessage) -> usize {
    let content = message.content.as_deref().map_or(0, token_count);
    let calls: usize = message
        .tool_calls
        .iter()
        .flatten()
        .map(|c| token_count(&c.function.arguments).max(1))
        .sum();
    content + calls
}

fn usage(prompt: usize, completion: usize) -> Usage {
    Usage {
        prompt_tokens: prompt as i64,
        completion_tokens: completion as i64,
        total_tokens: (prompt + completion) as i64,
        extra: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_inference::ChunkAccumulator;

    fn req(v: Value) -> ChatCompletionRequest {
        serde_json::from_value(v).unwrap()
    }

    fn user(text: &str) -> Value {
        json!([{"role": "user", "content": text}])
    }

    #[test]
    fn echoes_and_answers_tool_results() {
        let c = chat(
            &req(json!({"model": "m", "messages": user("hello there")})),
            "chatcmpl-x",
            1,
        )
        .unwrap();
        assert_eq!(
            c.choices[0].message.content.as_deref(),
            Some("Mock answer. You asked: hello there")
        );
        assert_eq!(c.choices[0].finish_reason.as_deref(), Some("stop"));
        assert_eq!(c.usage.as_ref().unwrap().prompt_tokens, 2);
        let tool_result = json!([
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"}
        ]);
        let c = chat(&req(json!({"model": "m", "messages": tool_result})), "x", 1).unwrap();
        assert_eq!(
            c.choices[0].message.content.as_deref(),
            Some("The tool returned: sunny")
        );
    }

    #[test]
    fn a_stubborn_model_calls_its_tool_again_until_told_not_to() {
        let tools = json!([{"type": "function", "function": {"name": "search",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}]);
        let messages = json!([
            {"role": "user", "content": "Find zebras"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "search", "arguments": "{\"q\": \"zebras\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "zebras are striped"},
        ]);
        let ask = |model: &str, choice: Value| {
            let mut body = json!({"model": model, "messages": messages, "tools": tools});
            if !choice.is_null() {
                body["tool_choice"] = choice;
            }
            chat(&req(body), "chatcmpl-1", 0).unwrap().choices[0].message.clone()
        };
        assert!(ask("m", Value::Null).tool_calls.is_none());
        let again = ask(REPEATS_TOOL_CALLS, json!("auto")).tool_calls.unwrap();
        assert_eq!(again[0].function.name, "search");
        assert!(ask(REPEATS_TOOL_CALLS, json!("none")).tool_calls.is_none());
    }

    #[test]
    fn calls_tools_with_schema_arguments() {
        let tools = json!([
            {"type": "function", "function": {"name": "first", "parameters": {"type": "object"}}},
            {"type": "function", "function": {"name": "get_weather", "parameters": {
                "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]}}}
        ]);
        let named = json!({"type": "function", "function": {"name": "get_weather"}});
        let r = req(
            json!({"model": "m", "messages": user("Weather in Paris?"), "tools": tools, "tool_choice": named}),
        );
        let c = chat(&r, "chatcmpl-mock-1", 1).unwrap();
        let call = &c.choices[0].message.tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.function.name, "get_weather");
        assert_eq!(call.function.arguments, r#"{"city":"Paris"}"#);
        assert_eq!(c.choices[0].finish_reason.as_deref(), Some("tool_calls"));
        assert!(c.choices[0].message.content.is_none());
        let auto = req(json!({"model": "m", "messages": user("x"), "tools": tools}));
        assert_eq!(
            chat(&auto, "x", 1).unwrap().choices[0]
                .message
                .tool_calls
                .as_ref()
                .unwrap()[0]
                .function
                .name,
            "first"
        );
        let none = req(
            json!({"model": "m", "messages": user("x"), "tools": tools, "tool_choice": "none"}),
        );
        assert!(
            chat(&none, "x", 1).unwrap().choices[0]
                .message
                .tool_calls
                .is_none()
        );
        let bad = req(json!({"model": "m", "messages": user("x"), "tools": tools,
            "tool_choice": {"type": "function", "function": {"name": "nope"}}}));
        assert!(chat(&bad, "x", 1).is_err());
    }

    #[test]
    fn response_formats_n_stop_and_logprobs() {
        let schema = json!({"type": "json_schema", "json_schema": {"name": "p", "schema":
            {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}}});
        let c = chat(
            &req(json!({"model": "m", "messages": user("about Ada"), "response_format": schema})),
            "x",
            1,
        )
        .unwrap();
        let doc: Value =
            serde_json::from_str(c.choices[0].message.content.as_deref().unwrap()).unwrap();
        assert_eq!(doc, json!({"name": "Ada", "age": 1}));
        let c = chat(&req(json!({"model": "m", "messages": user("q"), "response_format": {"type": "json_object"}})), "x", 1).unwrap();
        let doc: Value =
            serde_json::from_str(c.choices[0].message.content.as_deref().unwrap()).unwrap();
        assert_eq!(doc["answer"], "Mock answer. You asked: q");
        let c = chat(
            &req(json!({"model": "m", "messages": user("one two three"), "n": 2, "max_tokens": 3})),
            "x",
            1,
        )
        .unwrap();
        assert_eq!(c.choices.len(), 2);
        assert_eq!(c.choices[1].index, 1);
        assert_eq!(
            c.choices[1].message.content.as_deref(),
            Some("Mock answer. You")
        );
        assert_eq!(c.choices[1].finish_reason.as_deref(), Some("length"));
        let c = chat(
            &req(json!({"model": "m", "messages": user("a b"), "stop": ["You"]})),
            "x",
            1,
        )
        .unwrap();
        assert_eq!(
            c.choices[0].message.content.as_deref(),
            Some("Mock answer. ")
        );
        let c = chat(
            &req(
                json!({"model": "m", "messages": user("hi"), "logprobs": true, "top_logprobs": 3}),
            ),
            "x",
            1,
        )
        .unwrap();
        let entries = c.choices[0].logprobs.as_ref().unwrap()["content"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(entries.len(), 5);
        assert_eq!(entries[1]["token"], " answer.");
        assert_eq!(entries[1]["top_logprobs"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn chunks_fold_back_into_the_answer() {
        let tools = json!([{"type": "function", "function": {"name": "lookup", "parameters":
            {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}]);
        for r in [
            json!({"model": "m", "messages": user("stream me please"), "n": 2, "logprobs": true, "top_logprobs": 1}),
            json!({"model": "m", "messages": user("find llamas"), "tools": tools}),
        ] {
            let c = chat(&req(r), "chatcmpl-mock-3", 7).unwrap();
            let chunks = chat_chunks(&c, true);
            assert_eq!(
                chunks[0].choices[0].delta.role.as_deref(),
                Some("assistant")
            );
            assert!(chunks.last().unwrap().choices.is_empty());
            let mut acc = ChunkAccumulator::default();
            chunks.iter().for_each(|ch| acc.push(ch));
            let folded = acc.finish().unwrap();
            assert_eq!(folded.usage, c.usage);
            assert_eq!(folded.choices.len(), c.choices.len());
            for (f, o) in folded.choices.iter().zip(&c.choices) {
                assert_eq!(
                    serde_json::to_value(&f.message).unwrap(),
                    serde_json::to_value(&o.message).unwrap()
                );
                assert_eq!(f.finish_reason, o.finish_reason);
                assert_eq!(
                    f.logprobs.as_ref().map(|l| &l["content"]),
                    o.logprobs.as_ref().map(|l| &l["content"])
                );
            }
        }
    }
}
