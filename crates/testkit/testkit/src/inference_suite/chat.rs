//! Chat scenarios: whole and streamed answers, tool calls (whole and streamed), structured
//! output, `n`, logprobs and `max_tokens`.

use anyhow::{Context, ensure};
use lls_api_inference::{
    ChatCompletion, ChatCompletionChunk, ChunkAccumulator, InferenceProvider, ToolCall,
};
use serde_json::{Value, json};

use super::calls::{chat, chat_stream as stream, user};
use super::{Capabilities, Outcome, ScenarioResult, require};

/// A plain question answered whole: one choice, assistant text, a finish reason.
pub async fn chat_non_stream(
    p: &dyn InferenceProvider,
    llm: &str,
    _embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.chat, "chat");
    let c = chat(p, json!({"model": llm, "messages": user("Say hello to the conformance suite."), "max_tokens": 64})).await?;
    ensure!(!c.id.is_empty(), "the completion has no id");
    ensure!(
        c.object == "chat.completion",
        "object is {:?}, not \"chat.completion\"",
        c.object
    );
    ensure!(
        c.choices.len() == 1,
        "expected 1 choice, got {}",
        c.choices.len()
    );
    let choice = &c.choices[0];
    ensure!(
        choice.index == 0,
        "the only choice has index {}",
        choice.index
    );
    ensure!(
        choice.message.role == "assistant",
        "the message role is {:?}",
        choice.message.role
    );
    ensure!(
        choice
            .message
            .content
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty()),
        "the answer has no text"
    );
    ensure!(
        choice.finish_reason.is_some(),
        "the choice has no finish_reason"
    );
    if let Some(u) = &c.usage {
        ensure!(
            u.total_tokens >= u.completion_tokens,
            "usage total {} < completion {}",
            u.total_tokens,
            u.completion_tokens
        );
    }
    Ok(Outcome::Passed)
}

/// The same question streamed: one id, text deltas that add up, a finish reason on the last
/// choice chunk, and the usage chunk that `include_usage` asks for.
pub async fn chat_stream(
    p: &dyn InferenceProvider,
    llm: &str,
    _embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.chat, "chat");
    let req = json!({"model": llm, "messages": user("Say hello to the conformance suite."), "max_tokens": 64,
        "stream": true, "stream_options": {"include_usage": true}});
    let chunks = stream(p, req).await?;
    ensure!(!chunks.is_empty(), "the stream had no chunks");
    ensure!(
        chunks.iter().all(|c| c.id == chunks[0].id),
        "chunks of one stream carry different ids"
    );
    ensure!(
        chunks.iter().all(|c| c.object == "chat.completion.chunk"),
        "a chunk's object is not \"chat.completion.chunk\""
    );
    let text: String = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .filter_map(|c| c.delta.content.as_deref())
        .collect();
    ensure!(!text.trim().is_empty(), "the streamed deltas carry no text");
    let last = chunks
        .iter()
        .rev()
        .find_map(|c| c.choices.last())
        .context("no chunk has a choice")?;
    ensure!(
        last.finish_reason.is_some(),
        "the last choice chunk has no finish_reason"
    );
    ensure!(
        chunks.iter().any(|c| c.usage.is_some()),
        "include_usage was asked for but no chunk has usage"
    );
    let folded = fold(&chunks)?;
    ensure!(
        folded.choices[0].message.content.as_deref() == Some(text.as_str()),
        "ChunkAccumulator disagrees with the deltas"
    );
    Ok(Outcome::Passed)
}

fn weather_tool() -> Value {
    json!([{"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "The city"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
        }, "required": ["city"]}
    }}])
}

/// Greedy (`temperature: 0`), like [`chat_json_schema`]: a grammar forces the call's shape, not
/// its length, and a sampled draw now and then (1 in 300 seeds for SmolLM2) rambles inside the
/// `city` string past `max_tokens`, which is the model's answer, not the provider's fault.
fn tool_request(llm: &str, stream: bool) -> Value {
    json!({"model": llm, "messages": user("What is the weather in Paris?"), "tools": weather_tool(),
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "stream": stream, "max_tokens": 128,
        "temperature": 0})
}

fn check_tool_calls(calls: Option<&Vec<ToolCall>>) -> anyhow::Result<()> {
    let call = calls
        .and_then(|c| c.first())
        .context("the model was made to call get_weather but made no tool call")?;
    ensure!(
        call.function.name == "get_weather",
        "called {:?}, not get_weather",
        call.function.name
    );
    ensure!(!call.id.is_empty(), "the tool call has no id");
    let args: Value = serde_json::from_str(&call.function.arguments).with_context(|| {
        format!(
            "tool-call arguments are not JSON: {:?}",
            call.function.arguments
        )
    })?;
    ensure!(
        args.is_object(),
        "tool-call arguments are not a JSON object: {args}"
    );
    Ok(())
}

/// A named `tool_choice` yields a call to that tool whose arguments parse as a JSON object.
pub async fn chat_tools(
    p: &dyn InferenceProvider,
    llm: &str,
    _embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.chat && caps.tools, "tools");
    let c = chat(p, tool_request(llm, false)).await?;
    check_tool_calls(
        c.choices
            .first()
            .and_then(|c| c.message.tool_calls.as_ref()),
    )?;
    Ok(Outcome::Passed)
}

/// The same streamed: the fragments fold ([`ChunkAccumulator`]) into a call with JSON arguments.
pub async fn chat_tools_stream(
    p: &dyn InferenceProvider,
    llm: &str,
    _embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.chat && caps.tools, "tools");
    let folded = fold(&stream(p, tool_request(llm, true)).await?)?;
    check_tool_calls(
        folded
            .choices
            .first()
            .and_then(|c| c.message.tool_calls.as_ref()),
    )?;
    Ok(Outcome::Passed)
}

/// `response_format: json_schema` yields content that parses as a JSON object (greedy, as
/// [`tool_request`] says why).
pub async fn chat_json_schema(
    p: &dyn InferenceProvider,
    llm: &str,
    _embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.chat && caps.structured_output, "structured output");
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"], "additionalProperties": false});
    let req = json!({"model": llm, "messages": user("Describe a person named Ada, aged 36, as JSON."), "max_tokens": 128,
        "temperature": 0, "response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": true}}});
    let c = chat(p, req).await?;
    let text = c
        .choices
        .first()
        .and_then(|c| c.message.content.as_deref())
        .context("structured output has no content")?;
    let doc: Value = serde_json::from_str(text)
        .with_context(|| format!("structured output is not JSON: {text:?}"))?;
    ensure!(
        doc.is_object(),
        "structured output is not a JSON object: {doc}"
    );
    Ok(Outcome::Passed)
}

/// `n: 2` yields two choices, indexed 0 and 1, each with an answer.
pub async fn chat_n2(
    p: &dyn InferenceProvider,
    llm: &str,
    _embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.chat, "chat");
    let c = chat(
        p,
        json!({"model": llm, "messages": user("Name a colour."), "n": 2, "max_tokens": 16}),
    )
    .await?;
    ensure!(
        c.choices.len() == 2,
        "n: 2 gave {} choices",
        c.choices.len()
    );
    let mut indexes: Vec<u32> = c.choices.iter().map(|c| c.index).collect();
    indexes.sort_unstable();
    ensure!(indexes == [0, 1], "choice indexes are {indexes:?}");
    ensure!(
        c.choices
            .iter()
            .all(|c| c.message.content.is_some() || c.message.tool_calls.is_some()),
        "a choice is empty"
    );
    Ok(Outcome::Passed)
}

/// `logprobs` with `top_logprobs: 2` yields per-token entries with two alternatives each.
pub async fn chat_logprobs(
    p: &dyn InferenceProvider,
    llm: &str,
    _embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.chat && caps.logprobs, "logprobs");
    let req = json!({"model": llm, "messages": user("Say hi."), "logprobs": true, "top_logprobs": 2, "max_tokens": 16});
    let c = chat(p, req).await?;
    let entries = c
        .choices
        .first()
        .and_then(|c| c.logprobs.as_ref())
        .and_then(|l| l.get("content"))
        .and_then(Value::as_array)
        .context("logprobs were asked for but choices[0].logprobs.content is missing")?;
    ensure!(!entries.is_empty(), "logprobs.content is empty");
    for e in entries {
        ensure!(
            e.get("token").is_some_and(Value::is_string),
            "a logprobs entry has no token: {e}"
        );
        ensure!(
            e.get("logprob").is_some_and(Value::is_number),
            "a logprobs entry has no logprob: {e}"
        );
        let top = e
            .get("top_logprobs")
            .and_then(Value::as_array)
            .with_context(|| format!("no top_logprobs in {e}"))?;
        ensure!(
            top.len() == 2,
            "top_logprobs: 2 gave {} alternatives",
            top.len()
        );
    }
    Ok(Outcome::Passed)
}

/// A long answer cut by `max_tokens` ends with `finish_reason: "length"`.
pub async fn chat_max_tokens(
    p: &dyn InferenceProvider,
    llm: &str,
    _embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.chat, "chat");
    let req = json!({"model": llm, "max_tokens": 4,
        "messages": user("Write a long story about a lighthouse keeper who befriends a whale, in at least ten paragraphs.")});
    let c = chat(p, req).await?;
    let finish = c.choices.first().and_then(|c| c.finish_reason.as_deref());
    ensure!(
        finish == Some("length"),
        "max_tokens: 4 on a long answer finished with {finish:?}, not \"length\""
    );
    Ok(Outcome::Passed)
}

fn fold(chunks: &[ChatCompletionChunk]) -> anyhow::Result<ChatCompletion> {
    let mut acc = ChunkAccumulator::default();
    chunks.iter().for_each(|c| acc.push(c));
    let folded = acc.finish().context("the stream had no chunks")?;
    ensure!(!folded.choices.is_empty(), "no chunk carried a choice");
    Ok(folded)
}
