//! The prompt: a GGUF's `tokenizer.chat_template` (Jinja) rendered with minijinja as Hugging
//! Face's `apply_chat_template` renders it (trim/lstrip blocks, `tojson` as Python's
//! `json.dumps(ensure_ascii=False)`, `raise_exception`), from the request's messages and tools.

use lls_api_inference::{ChatMessage, MessageContent, Role, Tool};
use minijinja::{
    Environment, Error as JinjaError, ErrorKind as JinjaErrorKind, Value as JinjaValue, context,
};
use serde_json::{Map, Value, json};

/// The name the template is stored under in its environment.
const NAME: &str = "chat_template";

/// A compiled chat template and the special tokens it may print.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
    /// The template asks for calls inside `<tool_call>` tags (Qwen, Hermes).
    tool_call_tags: bool,
    /// The template marks tool results with `<tool_response>` (Qwen, Hermes).
    tool_response_tags: bool,
}

impl ChatTemplate {
    /// Compiles `source`; an error says why it is not a template minijinja understands.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", tojson);
        env.add_function("raise_exception", raise_exception);
        env.add_template_owned(NAME, source.to_owned())
            .map_err(|e| format!("the chat template does not compile: {e}"))?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.to_owned(),
            eos_token: eos_token.to_owned(),
            tool_call_tags: source.contains("<tool_call>"),
            tool_response_tags: source.contains("<tool_response>"),
        })
    }

    /// Whether the template tells the model to write calls inside `<tool_call>` tags; a forced
    /// call is then constrained to that form too, which keeps the model on the format it was
    /// trained on (bare, a small model's forced call drifts: e.g. an essay as a search query).
    pub fn wants_tool_call_tags(&self) -> bool {
        self.tool_call_tags
    }

    /// Where the template marks a tool's result, which only the caller writes: a model that may
    /// call tools stops there instead of inventing the result (Qwen 0.5B goes on past its call
    /// with a made-up `<tool_response>`).
    pub fn tool_result_marker(&self) -> Option<&'static str> {
        self.tool_response_tags.then_some("<tool_response>")
    }

    /// The prompt for `messages` (and `tools`, when given), ending with the assistant's turn.
    pub fn render(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[Tool]>,
    ) -> Result<String, String> {
        let messages: Vec<Value> = messages.iter().map(message_value).collect();
        let tools = tools
            .filter(|t| !t.is_empty())
            .map(|t| serde_json::to_value(t).unwrap_or(Value::Null));
        self.render_values(&Value::Array(messages), tools.as_ref())
    }

    /// The same from JSON values (as the messages would reach a Python template).
    pub fn render_values(&self, messages: &Value, tools: Option<&Value>) -> Result<String, String> {
        let template = self.env.get_template(NAME).map_err(|e| e.to_string())?;
        template
            .render(context! {
                messages => JinjaValue::from_serialize(messages),
                tools => tools.map(JinjaValue::from_serialize),
                add_generation_prompt => true,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            })
            .map_err(|e| format!("the chat template cannot render this conversation: {e:#}"))
    }
}

/// A message as chat templates expect it: text content (parts joined), and tool calls with
/// their arguments as objects (as vLLM hands them to templates) when they parse.
fn message_value(m: &ChatMessage) -> Value {
    let role = match m.role {
        Role::System => "system",
        // Templates know no developer role; it instructs as a system message does.
        Role::Developer => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let mut out = Map::new();
    out.insert("role".into(), role.into());
    let content = m.content.as_ref().map(MessageContent::to_text);
    out.insert("content".into(), content.map_or(Value::Null, Value::String));
    if let Some(name) = &m.name {
        out.insert("name".into(), name.clone().into());
    }
    if let Some(calls) = m.tool_calls.as_ref().filter(|c| !c.is_empty()) {
        let calls = calls
            .iter()
            .map(|c| {
                let args = serde_json::from_str::<Value>(&c.function.arguments)
                    .ok()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| Value::String(c.function.arguments.clone()));
                json!({"id": c.id, "type": c.kind, "function": {"name": c.function.name, "arguments": args}})
            })
            .collect();
        out.insert("tool_calls".into(), Value::Array(calls));
    }
    if let Some(id) = &m.tool_call_id {
        out.insert("tool_call_id".into(), id.clone().into());
    }
    Value::Object(out)
}

/// Hugging Face's `tojson`: `json.dumps(x, ensure_ascii=False)`, or with `indent=n` the
/// indented form.
fn tojson(value: &JinjaValue, kwargs: minijinja::value::Kwargs) -> Result<JinjaValue, JinjaError> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let _ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    kwargs.assert_all_used()?;
    let json = serde_json::to_value(value)
        .map_err(|e| JinjaError::new(JinjaErrorKind::InvalidOperation, e.to_string()))?;
    let text = match indent {
        None => lls_pycompat::json_dumps_unicode(&json),
        Some(n) => {
            use serde::Serialize as _;
            let pad = vec![b' '; n];
            let mut out = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(
                &mut out,
                serde_json::ser::PrettyFormatter::with_indent(&pad),
            );
            json.serialize(&mut ser)
                .map_err(|e| JinjaError::new(JinjaErrorKind::InvalidOperation, e.to_string()))?;
            String::from_utf8_lossy(&out).into_owned()
        }
    };
    // Safe: templates write it into a prompt, never into HTML.
    Ok(JinjaValue::from_safe_string(text))
}

fn raise_exception(message: String) -> Result<JinjaValue, JinjaError> {
    Err(JinjaError::new(JinjaErrorKind::InvalidOperation, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const QWEN: &str = include_str!("../tests/fixtures/qwen2.5-coder.jinja");
    const SMOL: &str = include_str!("../tests/fixtures/smollm2.jinja");
    const TOOLS_INPUT: &str = include_str!("../tests/fixtures/tools_request.json");
    const TOOLS_EXPECTED: &str = include_str!("../tests/fixtures/qwen2.5-coder.tools.prompt.txt");

    #[test]
    fn a_tools_request_renders_as_python_jinja2_does() {
        let t = ChatTemplate::new(QWEN, "<|endoftext|>", "<|im_end|>").unwrap();
        let input: Value = serde_json::from_str(TOOLS_INPUT).unwrap();
        let out = t
            .render_values(&input["messages"], input.get("tools"))
            .unwrap();
        assert_eq!(out, TOOLS_EXPECTED);
    }

    #[test]
    fn typed_requests_render_the_same() {
        let t = ChatTemplate::new(QWEN, "<|endoftext|>", "<|im_end|>").unwrap();
        let mut input: Value = serde_json::from_str(TOOLS_INPUT).unwrap();
        // The wire carries arguments as a JSON string; templates get the object back.
        let args = &mut input["messages"][1]["tool_calls"][0]["function"]["arguments"];
        *args = Value::String(serde_json::to_string(args).unwrap());
        let req: lls_api_inference::ChatCompletionRequest = serde_json::from_value(
            json!({"model": "m", "messages": input["messages"], "tools": input["tools"]}),
        )
        .unwrap();
        assert_eq!(
            t.render(&req.messages, req.tools.as_deref()).unwrap(),
            TOOLS_EXPECTED
        );
    }

    #[test]
    fn smollm2_chat_prompt() {
        let t = ChatTemplate::new(SMOL, "<|im_start|>", "<|im_end|>").unwrap();
        let m = [ChatMessage::text(Role::User, "Hi")];
        assert_eq!(
            t.render(&m, None).unwrap(),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn tool_tags_come_from_the_template() {
        let qwen = ChatTemplate::new(QWEN, "<|endoftext|>", "<|im_end|>").unwrap();
        assert!(qwen.wants_tool_call_tags());
        assert_eq!(qwen.tool_result_marker(), Some("<tool_response>"));
        let smol = ChatTemplate::new(SMOL, "<|im_start|>", "<|im_end|>").unwrap();
        assert!(!smol.wants_tool_call_tags());
        assert_eq!(smol.tool_result_marker(), None);
    }

    #[test]
    fn template_errors_are_messages_not_panics() {
        assert!(ChatTemplate::new("{% if %}", "", "").is_err());
        let t = ChatTemplate::new("{{ raise_exception('no system role') }}", "", "").unwrap();
        let e = t
            .render(&[ChatMessage::text(Role::User, "x")], None)
            .unwrap_err();
        assert!(e.contains("no system role"), "{e}");
    }
}
