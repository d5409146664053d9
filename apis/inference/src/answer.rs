//! [`Answer`]: what a provider answered — a typed value built in-process, or a backend's JSON
//! object kept byte for byte ([`JsonObject`]), so every field the backend sent (ours or not:
//! `refusal`, `annotations`, `service_tier`, token details, vendor extensions) reaches the
//! client. The router rewrites `model` by splicing bytes, and a typed view is parsed only when
//! something needs one (an in-process caller, a test).

use std::fmt;
use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};
use lls_api_common::{Error, ErrorKind, Result};
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::{ChatCompletion, ChatCompletionChunk, Completion, EmbeddingsResponse, Usage};

/// A whole answer, a stream chunk or an embeddings response, as built or as received.
// Moved a few times per request; boxing either variant would cost an allocation per answer.
#[allow(clippy::large_enum_variant)]
pub enum Answer<T> {
    /// Built in-process (inline providers, fakes).
    Typed(T),
    /// A backend's JSON object, as received.
    Json(JsonObject),
}

/// The answer types: what the router may rewrite, and what a backend's JSON must contain.
pub trait AnswerType: Serialize + DeserializeOwned {
    /// A top-level field without which a backend's JSON is not this type (`choices`, `data`).
    const REQUIRED: Option<Field>;
    fn set_model(&mut self, model: &str);
    /// The tokens this answer reports, when it reports them (a stream's chunks only when the
    /// client asked for `stream_options.include_usage`; embeddings have no completion tokens).
    fn usage(&self) -> Option<Usage>;
}

impl AnswerType for ChatCompletion {
    const REQUIRED: Option<Field> = Some(Field::Choices);
    fn set_model(&mut self, model: &str) {
        model.clone_into(&mut self.model);
    }
    fn usage(&self) -> Option<Usage> {
        self.usage.clone()
    }
}

impl AnswerType for ChatCompletionChunk {
    /// A usage-only chunk has no choices; an error event has no id.
    const REQUIRED: Option<Field> = Some(Field::Id);
    fn set_model(&mut self, model: &str) {
        model.clone_into(&mut self.model);
    }
    fn usage(&self) -> Option<Usage> {
        self.usage.clone()
    }
}

impl AnswerType for Completion {
    const REQUIRED: Option<Field> = Some(Field::Choices);
    fn set_model(&mut self, model: &str) {
        model.clone_into(&mut self.model);
    }
    fn usage(&self) -> Option<Usage> {
        self.usage.clone()
    }
}

impl AnswerType for EmbeddingsResponse {
    const REQUIRED: Option<Field> = Some(Field::Data);
    fn set_model(&mut self, model: &str) {
        model.clone_into(&mut self.model);
    }
    fn usage(&self) -> Option<Usage> {
        let u = &self.usage;
        Some(Usage { prompt_tokens: u.prompt_tokens, completion_tokens: 0, total_tokens: u.total_tokens, extra: Default::default() })
    }
}

impl<T> From<T> for Answer<T> {
    fn from(value: T) -> Self {
        Answer::Typed(value)
    }
}

impl<T: AnswerType> Answer<T> {
    /// The tokens the answer reports ([`AnswerType::usage`]); a backend's JSON is parsed only
    /// for its `usage` value.
    pub fn usage(&self) -> Option<Usage> {
        match self {
            Answer::Typed(t) => t.usage(),
            Answer::Json(j) => j.get::<Usage>(Field::Usage),
        }
    }

    /// A backend's JSON body; an error when it is not a JSON object of this type (a 200 whose
    /// body is an error object included).
    pub fn from_json(bytes: Bytes) -> std::result::Result<Self, InvalidJson> {
        let object = JsonObject::parse(bytes)?;
        if object.span(Field::Error).is_some() {
            return Err(InvalidJson("the body is an error object".into()));
        }
        if let Some(field) = T::REQUIRED
            && object.span(field).is_none()
        {
            return Err(InvalidJson(format!("the body has no '{}'", field.name())));
        }
        Ok(Answer::Json(object))
    }

    /// Rewrites `model` (to the id the client used).
    pub fn set_model(&mut self, model: &str) {
        match self {
            Answer::Typed(t) => t.set_model(model),
            Answer::Json(j) => j.set_model(model),
        }
    }

    /// The typed view (parsed from the JSON, whose unknown fields land in `extra` maps).
    pub fn into_typed(self) -> Result<T> {
        match self {
            Answer::Typed(t) => Ok(t),
            Answer::Json(j) => j.parse_as(),
        }
    }

    /// The JSON text for the client.
    pub fn to_bytes(&self) -> Result<Bytes> {
        match self {
            Answer::Typed(t) => Ok(Bytes::from(serde_json::to_vec(t)?)),
            Answer::Json(j) => Ok(j.to_bytes()),
        }
    }
}

impl Answer<ChatCompletion> {
    /// A provider's empty `tool_calls` list becomes null, as 0.3.5's router does.
    pub fn drop_empty_tool_calls(&mut self) {
        match self {
            Answer::Typed(c) => {
                for choice in &mut c.choices {
                    if choice.message.tool_calls.as_ref().is_some_and(Vec::is_empty) {
                        choice.message.tool_calls = None;
                    }
                }
            }
            Answer::Json(j) => j.null_empty_tool_calls("message"),
        }
    }
}

impl Answer<ChatCompletionChunk> {
    /// A delta's empty `tool_calls` list becomes null, as 0.3.5's router does.
    pub fn drop_empty_tool_calls(&mut self) {
        match self {
            Answer::Typed(c) => {
                for choice in &mut c.choices {
                    if choice.delta.tool_calls.as_ref().is_some_and(Vec::is_empty) {
                        choice.delta.tool_calls = None;
                    }
                }
            }
            Answer::Json(j) => j.null_empty_tool_calls("delta"),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Answer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Typed(t) => f.debug_tuple("Typed").field(t).finish(),
            Answer::Json(j) => f.debug_tuple("Json").field(j).finish(),
        }
    }
}

/// Why a backend's body is not the JSON object expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidJson(pub String);

impl fmt::Display for InvalidJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidJson {}

/// The top-level fields whose place in a [`JsonObject`] is remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Id,
    Created,
    Model,
    Choices,
    Usage,
    Data,
    Error,
}

impl Field {
    const ALL: usize = 7;

    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Created => "created",
            Field::Model => "model",
            Field::Choices => "choices",
            Field::Usage => "usage",
            Field::Data => "data",
            Field::Error => "error",
        }
    }
}

/// A JSON object exactly as received, with the byte ranges of the values of a few top-level
/// fields (null values count as absent), and an optional replacement for `model`.
#[derive(Clone)]
pub struct JsonObject {
    bytes: Bytes,
    spans: [Option<Range<usize>>; Field::ALL],
    model: Option<String>,
}

/// The fields whose values are located, borrowed from the body; the rest is skipped.
#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    created: Option<&'a RawValue>,
    #[serde(borrow, default)]
    model: Option<&'a RawValue>,
    #[serde(borrow, default)]
    choices: Option<&'a RawValue>,
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

impl JsonObject {
    /// Checks `bytes` is one UTF-8 JSON object and locates its fields, in one pass that
    /// allocates nothing.
    pub fn parse(bytes: Bytes) -> std::result::Result<Self, InvalidJson> {
        let text = std::str::from_utf8(&bytes).map_err(|e| InvalidJson(format!("the body is not UTF-8: {e}")))?;
        if !text.trim_start().starts_with('{') {
            return Err(InvalidJson("the body is not a JSON object".into()));
        }
        let top: Top<'_> = serde_json::from_str(text).map_err(|e| InvalidJson(e.to_string()))?;
        let base = text.as_ptr() as usize;
        let span = |raw: Option<&RawValue>| {
            raw.map(|r| {
                let start = (r.get().as_ptr() as usize).wrapping_sub(base);
                start..start + r.get().len()
            })
            .filter(|r| r.end <= text.len())
        };
        let spans = [
            span(top.id),
            span(top.created),
            span(top.model),
            span(top.choices),
            span(top.usage),
            span(top.data),
            span(top.error),
        ];
        Ok(JsonObject { bytes, spans, model: None })
    }

    fn span(&self, field: Field) -> Option<Range<usize>> {
        self.spans[field as usize].clone()
    }

    /// The JSON text of `field`'s value as received (`model` before any rewrite).
    pub fn raw(&self, field: Field) -> Option<&str> {
        let span = self.span(field)?;
        std::str::from_utf8(self.bytes.get(span)?).ok()
    }

    /// The value of `field` parsed as `T` (`None` when absent or of another type).
    pub fn get<T: DeserializeOwned>(&self, field: Field) -> Option<T> {
        serde_json::from_str(self.raw(field)?).ok()
    }

    /// The body as received.
    pub fn original(&self) -> &Bytes {
        &self.bytes
    }

    /// Replaces the value of `model` (added at the end when the object has none).
    pub fn set_model(&mut self, model: &str) {
        self.model = Some(model.to_owned());
    }

    /// The body with `model` replaced.
    pub fn to_bytes(&self) -> Bytes {
        let Some(model) = &self.model else {
            return self.bytes.clone();
        };
        let quoted = quote(model);
        let mut out = BytesMut::with_capacity(self.bytes.len() + quoted.len() + 10);
        match self.span(Field::Model) {
            Some(span) => {
                out.put_slice(&self.bytes[..span.start]);
                out.put_slice(quoted.as_bytes());
                out.put_slice(&self.bytes[span.end..]);
            }
            None => {
                // Before the closing brace: `,"model":"..."` (or without the comma when empty).
                let body = self.bytes.trim_ascii_end();
                let head = body.strip_suffix(b"}").unwrap_or(body);
                out.put_slice(head);
                let empty = head.trim_ascii_end().ends_with(b"{");
                out.put_slice(if empty { b"\"model\":" } else { b",\"model\":" });
                out.put_slice(quoted.as_bytes());
                out.put_slice(b"}");
            }
        }
        out.freeze()
    }

    /// The typed view of the body with `model` replaced.
    pub fn parse_as<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.to_bytes()).map_err(|e| {
            Error::new(ErrorKind::UpstreamError, format!("the backend's answer does not have the expected shape: {e}"))
        })
    }

    /// Whether the text of the body contains `needle` (a cheap pre-check before parsing).
    pub fn contains(&self, needle: &[u8]) -> bool {
        memchr::memmem::find(&self.bytes, needle).is_some()
    }

    /// `choices[].<holder>.tool_calls: []` becomes null. The body is parsed and written again
    /// only when the bytes show such a list (rare), keeping every other field.
    fn null_empty_tool_calls(&mut self, holder: &str) {
        if !has_empty_tool_calls(&self.bytes) {
            return;
        }
        let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&self.bytes) else {
            return;
        };
        let mut changed = false;
        for choice in value.get_mut("choices").and_then(serde_json::Value::as_array_mut).into_iter().flatten() {
            if let Some(calls) = choice.get_mut(holder).and_then(|h| h.get_mut("tool_calls"))
                && calls.as_array().is_some_and(Vec::is_empty)
            {
                *calls = serde_json::Value::Null;
                changed = true;
            }
        }
        if !changed {
            return;
        }
        if let Ok(bytes) = serde_json::to_vec(&value)
            && let Ok(mut parsed) = JsonObject::parse(Bytes::from(bytes))
        {
            parsed.model = self.model.take();
            *self = parsed;
        }
    }
}

/// Whether `"tool_calls"` is followed by an empty list somewhere in `bytes`. Inside a JSON
/// string the quotes would be escaped, so only keys match.
fn has_empty_tool_calls(bytes: &[u8]) -> bool {
    const KEY: &[u8] = b"\"tool_calls\"";
    memchr::memmem::find_iter(bytes, KEY).any(|at| {
        let mut rest = bytes[at + KEY.len()..].iter().copied().filter(|b| !b.is_ascii_whitespace());
        rest.next() == Some(b':') && rest.next() == Some(b'[') && rest.next() == Some(b']')
    })
}

impl fmt::Debug for JsonObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonObject")
            .field("body", &String::from_utf8_lossy(&self.bytes))
            .field("model", &self.model)
            .finish()
    }
}

/// `s` as a JSON string literal.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn object(text: &str) -> JsonObject {
        JsonObject::parse(Bytes::from(text.to_owned())).unwrap()
    }

    #[test]
    fn model_is_spliced_and_everything_else_kept() {
        let text = r#"{"id":"c1", "model" : "gpt-x","choices":[{"message":{"refusal":null,"annotations":[]}}],"service_tier":"default"}"#;
        let mut o = object(text);
        assert_eq!(o.raw(Field::Model), Some("\"gpt-x\""));
        assert_eq!(o.raw(Field::Choices), Some(r#"[{"message":{"refusal":null,"annotations":[]}}]"#));
        assert_eq!(o.raw(Field::Usage), None);
        o.set_model("openai/\"quoted\"");
        let out = o.to_bytes();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"id":"c1", "model" : "openai/\"quoted\"","choices":[{"message":{"refusal":null,"annotations":[]}}],"service_tier":"default"}"#
        );
        assert_eq!(o.original().as_ref(), text.as_bytes());
    }

    #[test]
    fn a_missing_model_is_added() {
        let mut o = object("{\"id\": \"x\" }\n");
        o.set_model("m");
        let v: Value = serde_json::from_slice(&o.to_bytes()).unwrap();
        assert_eq!(v, json!({"id": "x", "model": "m"}));
        let mut empty = object("{ }");
        empty.set_model("m");
        assert_eq!(serde_json::from_slice::<Value>(&empty.to_bytes()).unwrap(), json!({"model": "m"}));
    }

    #[test]
    fn what_is_not_an_answer() {
        for bad in ["[1]", "not json", "{\"a\":", "\"s\"", "{\"model\":1} x"] {
            assert!(JsonObject::parse(Bytes::from(bad)).is_err(), "{bad}");
        }
        assert!(JsonObject::parse(Bytes::from_static(b"{\"a\":\"\xff\"}")).is_err());
        let e = Answer::<ChatCompletion>::from_json(Bytes::from_static(b"{\"error\":{\"message\":\"no\"}}")).unwrap_err();
        assert!(e.0.contains("error"), "{e}");
        let e = Answer::<ChatCompletion>::from_json(Bytes::from_static(b"{\"id\":\"x\"}")).unwrap_err();
        assert!(e.0.contains("choices"), "{e}");
        assert!(Answer::<ChatCompletion>::from_json(Bytes::from_static(b"{\"id\":\"x\",\"choices\":[],\"error\":null}")).is_ok());
    }

    #[test]
    fn empty_tool_call_lists_become_null() {
        let body = r#"{"id":"c","choices":[{"index":0,"message":{"content":"x","tool_calls": [ ],"refusal":null}}],"model":"b"}"#;
        let mut a = Answer::<ChatCompletion>::from_json(Bytes::from(body)).unwrap();
        a.set_model("client");
        a.drop_empty_tool_calls();
        let v: Value = serde_json::from_slice(&a.to_bytes().unwrap()).unwrap();
        assert_eq!(v["choices"][0]["message"]["tool_calls"], Value::Null);
        assert_eq!(v["choices"][0]["message"]["refusal"], Value::Null);
        assert!(v["choices"][0]["message"].as_object().unwrap().contains_key("refusal"));
        assert_eq!(v["model"], "client");
        assert!(!has_empty_tool_calls(br#"{"content":"\"tool_calls\": []"}"#));
        assert!(!has_empty_tool_calls(br#"{"tool_calls":[{"id":"1"}]}"#));
    }

    #[test]
    fn typed_views_carry_the_new_model() {
        let body = r#"{"id":"c","object":"chat.completion","created":1,"model":"b","choices":[{"index":0,"message":{"role":"assistant","content":"hi","audio":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#;
        let mut a = Answer::<ChatCompletion>::from_json(Bytes::from(body)).unwrap();
        a.set_model("client");
        let Answer::Json(j) = &a else { unreachable!() };
        assert_eq!(j.get::<i64>(Field::Created), Some(1));
        assert_eq!(j.get::<String>(Field::Id).as_deref(), Some("c"));
        let c = a.into_typed().unwrap();
        assert_eq!(c.model, "client");
        assert_eq!(c.choices[0].message.extra["audio"], Value::Null);
        assert_eq!(c.usage.unwrap().total_tokens, 3);
    }
}
