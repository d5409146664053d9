//! What an inference provider can do ([`Capabilities`], from
//! [`crate::InferenceProvider::capabilities`]) and what a request needs ([`Capability`]). The
//! router refuses a request its provider cannot serve with a 400 before calling it; the
//! conformance suite runs the scenarios of the same capabilities.

use lls_api_common::{Error, Result};

use crate::{ChatCompletionRequest, CompletionRequest, Logprobs, ResponseFormat, ToolChoice};

/// One thing a request may need from its provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// `/v1/chat/completions`.
    Chat,
    /// `stream: true` (chat or completions).
    Streaming,
    /// `tools` (with a `tool_choice` other than `none`).
    Tools,
    /// `logprobs` on chat (with `top_logprobs`) or completions.
    Logprobs,
    /// `response_format` of type `json_schema`.
    StructuredOutput,
    /// The legacy `/v1/completions`.
    Completions,
    /// `/v1/embeddings`.
    Embeddings,
    /// `encoding_format: "base64"` answered by the provider itself (the router encodes floats
    /// when the provider cannot, so requests never need it).
    EmbeddingsBase64,
}

impl Capability {
    /// How a message names it.
    pub fn describe(self) -> &'static str {
        match self {
            Capability::Chat => "chat completions",
            Capability::Streaming => "streaming",
            Capability::Tools => "tool calling",
            Capability::Logprobs => "logprobs",
            Capability::StructuredOutput => "structured output (response_format json_schema)",
            Capability::Completions => "completions",
            Capability::Embeddings => "embeddings",
            Capability::EmbeddingsBase64 => "base64-encoded embeddings",
        }
    }

    /// The request field that asks for it (OpenAI's `param`).
    pub fn param(self) -> &'static str {
        match self {
            Capability::Chat | Capability::Completions | Capability::Embeddings => "model",
            Capability::Streaming => "stream",
            Capability::Tools => "tools",
            Capability::Logprobs => "logprobs",
            Capability::StructuredOutput => "response_format",
            Capability::EmbeddingsBase64 => "encoding_format",
        }
    }
}

/// What an inference provider supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub chat: bool,
    pub streaming: bool,
    pub tools: bool,
    pub logprobs: bool,
    pub structured_output: bool,
    pub completions: bool,
    pub embeddings: bool,
    pub embeddings_base64: bool,
}

impl Capabilities {
    /// Everything: OpenAI-compatible backends, and the default of a provider that says nothing.
    pub const fn all() -> Self {
        Capabilities {
            chat: true,
            streaming: true,
            tools: true,
            logprobs: true,
            structured_output: true,
            completions: true,
            embeddings: true,
            embeddings_base64: true,
        }
    }

    /// Nothing; the start of a narrower description.
    pub const fn none() -> Self {
        Capabilities {
            chat: false,
            streaming: false,
            tools: false,
            logprobs: false,
            structured_output: false,
            completions: false,
            embeddings: false,
            embeddings_base64: false,
        }
    }

    /// Chat (streamed or not) only.
    pub const fn chat_only() -> Self {
        Capabilities { chat: true, streaming: true, ..Capabilities::none() }
    }

    /// Embeddings (float and base64) only, as `inline::sentence-transformers`.
    pub const fn embeddings_only() -> Self {
        Capabilities { embeddings: true, embeddings_base64: true, ..Capabilities::none() }
    }

    pub fn supports(&self, capability: Capability) -> bool {
        match capability {
            Capability::Chat => self.chat,
            Capability::Streaming => self.streaming,
            Capability::Tools => self.tools,
            Capability::Logprobs => self.logprobs,
            Capability::StructuredOutput => self.structured_output,
            Capability::Completions => self.completions,
            Capability::Embeddings => self.embeddings,
            Capability::EmbeddingsBase64 => self.embeddings_base64,
        }
    }

    /// Every capability, for checks that walk them all.
    pub const ALL: [Capability; 8] = [
        Capability::Chat,
        Capability::Streaming,
        Capability::Tools,
        Capability::Logprobs,
        Capability::StructuredOutput,
        Capability::Completions,
        Capability::Embeddings,
        Capability::EmbeddingsBase64,
    ];

    /// Whether everything `self` supports, `other` supports too.
    pub fn within(&self, other: &Capabilities) -> bool {
        Self::ALL.iter().all(|c| !self.supports(*c) || other.supports(*c))
    }

    /// A 400 naming the model, its provider and the first capability in `needed` it lacks.
    pub fn require(&self, model: &str, provider_id: &str, needed: &[Capability]) -> Result<()> {
        match needed.iter().find(|c| !self.supports(**c)) {
            None => Ok(()),
            Some(c) => Err(Error::unsupported(format!(
                "Model '{model}' is served by provider '{provider_id}', which does not support {}",
                c.describe()
            ))
            .with_param(c.param())),
        }
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::all()
    }
}

impl ChatCompletionRequest {
    /// What the request needs from its provider.
    pub fn needs(&self) -> Vec<Capability> {
        let mut needs = vec![Capability::Chat];
        if self.is_stream() {
            needs.push(Capability::Streaming);
        }
        let tool_choice_none = matches!(&self.tool_choice, Some(ToolChoice::Mode(m)) if m == "none");
        if self.tools.as_ref().is_some_and(|t| !t.is_empty()) && !tool_choice_none {
            needs.push(Capability::Tools);
        }
        if self.logprobs == Some(true) {
            needs.push(Capability::Logprobs);
        }
        if matches!(self.response_format, Some(ResponseFormat::JsonSchema { .. })) {
            needs.push(Capability::StructuredOutput);
        }
        needs
    }
}

impl CompletionRequest {
    /// What the request needs from its provider.
    pub fn needs(&self) -> Vec<Capability> {
        let mut needs = vec![Capability::Completions];
        if self.is_stream() {
            needs.push(Capability::Streaming);
        }
        if matches!(self.logprobs, Some(Logprobs::Flag(true)) | Some(Logprobs::Count(1..))) {
            needs.push(Capability::Logprobs);
        }
        needs
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lls_api_common::ErrorKind;
    use serde_json::json;

    use super::*;

    #[test]
    fn requests_say_what_they_need() {
        let chat: ChatCompletionRequest = serde_json::from_value(json!({
            "model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true, "logprobs": true,
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "s"}},
        }))
        .unwrap();
        let all = [Capability::Chat, Capability::Streaming, Capability::Tools, Capability::Logprobs, Capability::StructuredOutput];
        assert_eq!(chat.needs(), all);
        let plain: ChatCompletionRequest = serde_json::from_value(json!({
            "model": "m", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "none",
        }))
        .unwrap();
        assert_eq!(plain.needs(), [Capability::Chat]);
        let completion: CompletionRequest = serde_json::from_value(json!({"model": "m", "prompt": "p", "logprobs": 0})).unwrap();
        assert_eq!(completion.needs(), [Capability::Completions]);
    }

    #[test]
    fn a_missing_capability_is_a_400_naming_the_provider() {
        let caps = Capabilities::embeddings_only();
        assert!(caps.require("st/m", "st", &[Capability::Embeddings]).is_ok());
        let e = caps.require("st/m", "st", &[Capability::Chat]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(e.message(), "Model 'st/m' is served by provider 'st', which does not support chat completions");
        assert_eq!(e.param(), Some("model"));
        let e = Capabilities::chat_only().require("m", "p", &[Capability::Chat, Capability::Tools]).unwrap_err();
        assert_eq!(e.param(), Some("tools"));
    }

    #[test]
    fn narrower_descriptions_lie_within_wider_ones() {
        assert!(Capabilities::embeddings_only().within(&Capabilities::all()));
        assert!(!Capabilities::all().within(&Capabilities::chat_only()));
        assert!(Capabilities::none().within(&Capabilities::none()));
    }
}
