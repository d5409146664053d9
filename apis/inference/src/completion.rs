//! `POST /v1/completions`: the legacy text completion request and response.

use lls_api_common::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Stop, StreamOptions, Usage};

/// A text completion request. `logprobs` is OpenAI's integer (0.3.5 typed it as a bool by
/// mistake; both are accepted here, `true` meaning 1).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CompletionRequest {
    pub model: String,
    pub prompt: Prompt,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub n: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_of: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Logprobs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CompletionRequest {
    pub fn is_stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    pub fn validate(&self) -> Result<()> {
        crate::limits::check_completion(self)?;
        if self.prompt.is_empty() {
            return Err(Error::invalid("'prompt' must not be empty").with_param("prompt"));
        }
        if let Some(Logprobs::Count(n)) = self.logprobs
            && n > 20
        {
            return Err(Error::invalid("'logprobs' must be between 0 and 20").with_param("logprobs"));
        }
        if self.n == Some(0) {
            return Err(Error::invalid("'n' must be at least 1").with_param("n"));
        }
        if self.stream_options.is_some() && !self.is_stream() {
            return Err(Error::invalid("'stream_options' is only allowed when 'stream' is true").with_param("stream_options"));
        }
        Ok(())
    }

    /// The request as a backend expects it: `logprobs: true` becomes 1 and `false` disappears.
    pub fn normalize_logprobs(&mut self) {
        self.logprobs = match self.logprobs.take() {
            Some(Logprobs::Flag(true)) => Some(Logprobs::Count(1)),
            Some(Logprobs::Flag(false)) | None => None,
            other => other,
        };
    }
}

/// `logprobs`: an integer count, or (0.3.5 compatibility) a flag.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Logprobs {
    Flag(bool),
    Count(u32),
}

/// `prompt`: a string, several strings, tokens, or several token lists.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Prompt {
    Text(String),
    Texts(#[schemars(length(min = 1))] Vec<String>),
    Tokens(#[schemars(length(min = 1))] Vec<i64>),
    TokenLists(#[schemars(length(min = 1), inner(length(min = 1)))] Vec<Vec<i64>>),
}

impl Prompt {
    fn is_empty(&self) -> bool {
        match self {
            Prompt::Text(_) => false,
            Prompt::Texts(v) => v.is_empty(),
            Prompt::Tokens(v) => v.is_empty(),
            Prompt::TokenLists(v) => v.is_empty() || v.iter().any(Vec::is_empty),
        }
    }
}

/// A completion, and also each streamed chunk (same shape).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Completion {
    pub id: String,
    #[serde(default = "text_completion_object")]
    pub object: String,
    pub created: i64,
    pub model: String,
    pub choices: Vec<CompletionChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn text_completion_object() -> String {
    "text_completion".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CompletionChoice {
    pub index: u32,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(default)]
    pub logprobs: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn logprobs_accepts_int_and_bool() {
        let mut r: CompletionRequest = serde_json::from_value(json!({"model": "m", "prompt": "x", "logprobs": 5})).unwrap();
        assert_eq!(r.logprobs, Some(Logprobs::Count(5)));
        r.validate().unwrap();
        let mut b: CompletionRequest = serde_json::from_value(json!({"model": "m", "prompt": "x", "logprobs": true})).unwrap();
        b.normalize_logprobs();
        assert_eq!(serde_json::to_value(&b).unwrap()["logprobs"], json!(1));
        r.normalize_logprobs();
        assert_eq!(serde_json::to_value(&r).unwrap()["logprobs"], json!(5));
    }

    #[test]
    fn prompt_shapes() {
        for p in [json!("a"), json!(["a", "b"]), json!([1, 2]), json!([[1], [2]])] {
            let r: CompletionRequest = serde_json::from_value(json!({"model": "m", "prompt": p})).unwrap();
            r.validate().unwrap();
        }
        let r: CompletionRequest = serde_json::from_value(json!({"model": "m", "prompt": []})).unwrap();
        assert!(r.validate().is_err());
        assert!(serde_json::from_value::<CompletionRequest>(json!({"model": "m", "prompt": {"a": 1}})).is_err());
    }
}
