//! Tool calls in a model's text. Small models write them in several shapes (research, §2.3:
//! Qwen2.5-Coder-0.5B never emits its `<tool_call>` token): `<tool_call>{…}</tool_call>`
//! blocks, a bare `{"name", "arguments"}` object, or the same inside a ```` ```json ```` fence.
//! Anything else is plain text; nothing here panics on what a model writes.

use lls_api_inference::{FunctionCall, ToolCall};
use serde_json::Value;

/// The calls in `text` to tools named in `known` (any name when `known` is empty), or `None`
/// when the text is not a tool call (it is then the answer's content).
pub fn parse(text: &str, known: &[&str]) -> Option<Vec<ToolCall>> {
    let trimmed = text.trim();
    let objects = tagged(trimmed).or_else(|| fenced(trimmed)).or_else(|| {
        serde_json::from_str::<Value>(half_fenced(trimmed))
            .ok()
            .map(|v| match v {
                Value::Array(items) => items,
                other => vec![other],
            })
    })?;
    let calls: Option<Vec<ToolCall>> = objects.iter().map(|o| call(o, known)).collect();
    calls.filter(|c| !c.is_empty())
}

/// The JSON of each `<tool_call>…</tool_call>` block, when the text has one (a last block the
/// model did not close counts too).
fn tagged(text: &str) -> Option<Vec<Value>> {
    const OPEN: &str = "<tool_call>";
    const CLOSE: &str = "</tool_call>";
    if !text.contains(OPEN) {
        return None;
    }
    let mut out = Vec::new();
    for part in text.split(OPEN).skip(1) {
        let body = part.split(CLOSE).next().unwrap_or_default().trim();
        out.push(serde_json::from_str(strip_fence(body).unwrap_or(body)).ok()?);
    }
    Some(out)
}

/// The JSON inside a text that is one ```` ``` ```` (or ```` ```json ````) fence.
fn fenced(text: &str) -> Option<Vec<Value>> {
    let body = strip_fence(text)?;
    match serde_json::from_str(body).ok()? {
        Value::Array(items) => Some(items),
        other => Some(vec![other]),
    }
}

/// `text` without a lone opening or closing fence (small models also write one half of a
/// fence around a bare call: Qwen 0.5B ended a call with a stray "```").
fn half_fenced(text: &str) -> &str {
    let t = ["```json", "```JSON", "```"]
        .iter()
        .find_map(|f| text.strip_prefix(f))
        .unwrap_or(text)
        .trim();
    t.strip_suffix("```").unwrap_or(t).trim()
}

fn strip_fence(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("```")?;
    let rest = rest
        .strip_prefix("json")
        .or_else(|| rest.strip_prefix("JSON"))
        .unwrap_or(rest);
    Some(rest.trim_end().strip_suffix("```")?.trim())
}

/// A call from `{"name": …, "arguments": {…}}` (or `"parameters"`, or OpenAI's
/// `{"function": {…}}` shape); arguments become a JSON string.
fn call(v: &Value, known: &[&str]) -> Option<ToolCall> {
    let v = v.get("function").filter(|f| f.is_object()).unwrap_or(v);
    let name = v.get("name")?.as_str()?;
    if !known.is_empty() && !known.contains(&name) {
        return None;
    }
    let arguments = match v.get("arguments").or_else(|| v.get("parameters")) {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .ok()
            .filter(Value::is_object)?
            .to_string(),
        Some(obj @ Value::Object(_)) => obj.to_string(),
        Some(_) => return None,
    };
    Some(ToolCall {
        id: new_call_id(),
        kind: "function".into(),
        function: FunctionCall {
            name: name.to_owned(),
            arguments,
        },
    })
}

/// `call_` and 24 hex digits, unique within the process and unlikely across restarts.
fn new_call_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("call_{:016x}{:08x}", t as u64, n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> (String, Value) {
        let calls = parse(text, &["get_weather", "search_docs"])
            .unwrap_or_else(|| panic!("no call in {text:?}"));
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert!(calls[0].id.starts_with("call_"));
        (
            calls[0].function.name.clone(),
            serde_json::from_str(&calls[0].function.arguments).unwrap(),
        )
    }

    #[test]
    fn every_shape_small_models_write() {
        let want = (
            "get_weather".to_owned(),
            serde_json::json!({"city": "Paris", "unit": "celsius"}),
        );
        for text in [
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>",
            "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}",
            "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}",
            "  {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\", \\\"unit\\\": \\\"celsius\\\"}\"}\n",
            "```json\n{ \"name\": \"get_weather\", \"arguments\": { \"city\": \"Paris\", \"unit\": \"celsius\" } }\n```",
            "```\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n```",
            "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}}",
            "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n```",
            "```json\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}",
        ] {
            assert_eq!(one(text), want, "{text}");
        }
        let (name, args) = one("{\"name\": \"search_docs\"}");
        assert_eq!(
            (name.as_str(), args),
            ("search_docs", serde_json::json!({}))
        );
    }

    #[test]
    fn several_calls() {
        let text = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"search_docs\", \"arguments\": {\"query\": \"x\"}}\n</tool_call>";
        let calls = parse(text, &[]).unwrap();
        assert_eq!(
            calls
                .iter()
                .map(|c| c.function.name.as_str())
                .collect::<Vec<_>>(),
            ["get_weather", "search_docs"]
        );
        assert_ne!(calls[0].id, calls[1].id);
        let arr = "[{\"name\": \"get_weather\", \"arguments\": {}}, {\"name\": \"search_docs\", \"arguments\": {}}]";
        assert_eq!(parse(arr, &[]).unwrap().len(), 2);
    }

    #[test]
    fn anything_else_is_text() {
        for text in [
            "",
            "Hello! How can I help?",
            "{\"name\": \"get_weather\", \"arguments\": {\"city\": ",
            "<tool_call>{not json}</tool_call>",
            "<tool_call>",
            "```json\n{\"city\": \"Paris\"}\n```",
            "{\"name\": \"unknown_tool\", \"arguments\": {}}",
            "{\"name\": 3, \"arguments\": {}}",
            "{\"name\": \"get_weather\", \"arguments\": [1]}",
            "{\"name\": \"get_weather\", \"arguments\": \"not json\"}",
            "[]",
            "42",
            "```",
            "The call is {\"name\": \"get_weather\", \"arguments\": {}} as you asked",
        ] {
            assert!(
                parse(text, &["get_weather", "search_docs"]).is_none(),
                "{text:?}"
            );
        }
    }
}
