//! How much work one inference request may ask for, each bound with OpenAI's documented limit
//! where it has one. Past a bound the request is a 400 naming the field, before any provider
//! is called (`n: 100000` once cost 200 MB of memory that was never given back).

use lls_api_common::Result;
use lls_api_common::limits::{check_chars, check_len};

use crate::{ChatCompletionRequest, CompletionRequest, EmbeddingInput, EmbeddingsRequest, Prompt, Stop};

/// `n`, choices per request: OpenAI accepts 1..=128.
pub const MAX_N: u32 = 128;

/// `messages` per chat request: OpenAI refuses more than 2048 ("array too long").
pub const MAX_MESSAGES: usize = 2048;

/// `tools` per chat request: OpenAI documents "a max of 128 functions".
pub const MAX_TOOLS: usize = 128;

/// `stop` sequences: OpenAI documents "up to 4"; self-hosted backends (vLLM) take more, so
/// requests that worked through them keep working up to 16.
pub const MAX_STOP_SEQUENCES: usize = 16;

/// Characters of one stop sequence (no OpenAI limit; a stop sequence is a few tokens).
pub const MAX_STOP_CHARS: usize = 1024;

/// `input` items per embeddings request: OpenAI documents "2048 dimensions or less" for the
/// array of inputs.
pub const MAX_EMBEDDING_INPUTS: usize = 2048;

/// `prompt` items per legacy completions request: no OpenAI limit, so the embeddings one.
pub const MAX_PROMPTS: usize = 2048;

fn check_n(n: Option<u32>) -> Result<()> {
    match n {
        Some(n) if n > MAX_N => Err(lls_api_common::Error::invalid(format!("'n' must be between 1 and {MAX_N} (got {n})")).with_param("n")),
        _ => Ok(()),
    }
}

fn check_stop(stop: Option<&Stop>) -> Result<()> {
    match stop {
        Some(Stop::One(s)) => check_chars("stop", s, MAX_STOP_CHARS),
        Some(Stop::Many(list)) => {
            check_len("stop", list.len(), MAX_STOP_SEQUENCES)?;
            list.iter().try_for_each(|s| check_chars("stop", s, MAX_STOP_CHARS))
        }
        None => Ok(()),
    }
}

/// The bounds of a chat request (called by its `validate`).
pub fn check_chat(r: &ChatCompletionRequest) -> Result<()> {
    check_len("messages", r.messages.len(), MAX_MESSAGES)?;
    check_len("tools", r.tools.as_ref().map_or(0, Vec::len), MAX_TOOLS)?;
    check_n(r.n)?;
    check_stop(r.stop.as_ref())
}

/// The bounds of a legacy completions request (called by its `validate`).
pub fn check_completion(r: &CompletionRequest) -> Result<()> {
    let prompts = match &r.prompt {
        Prompt::Text(_) | Prompt::Tokens(_) => 1,
        Prompt::Texts(v) => v.len(),
        Prompt::TokenLists(v) => v.len(),
    };
    check_len("prompt", prompts, MAX_PROMPTS)?;
    check_n(r.n)?;
    check_n(r.best_of).map_err(|_| {
        lls_api_common::Error::invalid(format!("'best_of' must be between 1 and {MAX_N}")).with_param("best_of")
    })?;
    check_stop(r.stop.as_ref())
}

/// The bounds of an embeddings request (called by its `validate`).
pub fn check_embeddings(r: &EmbeddingsRequest) -> Result<()> {
    let inputs = match &r.input {
        EmbeddingInput::Text(_) | EmbeddingInput::Tokens(_) => 1,
        EmbeddingInput::Texts(v) => v.len(),
        EmbeddingInput::TokenLists(v) => v.len(),
    };
    check_len("input", inputs, MAX_EMBEDDING_INPUTS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn chat(extra: Value) -> ChatCompletionRequest {
        let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap());
        serde_json::from_value(body).unwrap()
    }

    fn param(r: Result<()>) -> Option<String> {
        r.err().and_then(|e| e.param().map(str::to_owned))
    }

    #[test]
    fn chat_requests_are_bounded() {
        assert!(chat(json!({"n": 128, "stop": ["a", "b", "c", "d", "e"]})).validate().is_ok());
        assert_eq!(param(chat(json!({"n": 100000})).validate()).as_deref(), Some("n"));
        let messages: Vec<Value> = (0..=MAX_MESSAGES).map(|_| json!({"role": "user", "content": "hi"})).collect();
        assert_eq!(param(chat(json!({"messages": messages})).validate()).as_deref(), Some("messages"));
        let tool = json!({"type": "function", "function": {"name": "f"}});
        let tools: Vec<Value> = (0..=MAX_TOOLS).map(|_| tool.clone()).collect();
        assert_eq!(param(chat(json!({"tools": tools})).validate()).as_deref(), Some("tools"));
        let stops: Vec<String> = (0..=MAX_STOP_SEQUENCES).map(|i| i.to_string()).collect();
        assert_eq!(param(chat(json!({"stop": stops})).validate()).as_deref(), Some("stop"));
        assert_eq!(param(chat(json!({"stop": "x".repeat(MAX_STOP_CHARS + 1)})).validate()).as_deref(), Some("stop"));
    }

    #[test]
    fn completions_and_embeddings_are_bounded() {
        let completion = |extra: Value| {
            let mut body = json!({"model": "m", "prompt": "hi"});
            body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap());
            serde_json::from_value::<CompletionRequest>(body).unwrap()
        };
        assert!(completion(json!({"n": 2})).validate().is_ok());
        assert_eq!(param(completion(json!({"n": 129})).validate()).as_deref(), Some("n"));
        assert_eq!(param(completion(json!({"best_of": 129})).validate()).as_deref(), Some("best_of"));
        let prompts: Vec<String> = (0..=MAX_PROMPTS).map(|_| "p".to_owned()).collect();
        assert_eq!(param(completion(json!({"prompt": prompts})).validate()).as_deref(), Some("prompt"));

        let embeddings = |input: Value| serde_json::from_value::<EmbeddingsRequest>(json!({"model": "m", "input": input})).unwrap();
        let inputs: Vec<String> = (0..MAX_EMBEDDING_INPUTS).map(|_| "x".to_owned()).collect();
        assert!(embeddings(json!(inputs)).validate().is_ok());
        let inputs: Vec<String> = (0..=MAX_EMBEDDING_INPUTS).map(|_| "x".to_owned()).collect();
        let e = embeddings(json!(inputs)).validate().unwrap_err();
        assert_eq!(e.message(), "'input' must have at most 2048 items (got 2049)");
    }
}
