//! Legacy completion scenarios: whole, streamed, and integer `logprobs` in OpenAI's legacy shape.

use anyhow::{Context, ensure};
use lls_api_inference::InferenceProvider;
use serde_json::{Value, json};

use super::calls::{completion, completion_stream as stream};
use super::{Capabilities, Outcome, ScenarioResult, require};

const PROMPT: &str = "The capital of France is";

/// A prompt completed whole: text and a finish reason.
pub async fn completion_non_stream(
    p: &dyn InferenceProvider,
    llm: &str,
    _embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.completions, "completions");
    let c = completion(p, json!({"model": llm, "prompt": PROMPT, "max_tokens": 16})).await?;
    ensure!(!c.id.is_empty(), "the completion has no id");
    let choice = c.choices.first().context("the completion has no choices")?;
    ensure!(!choice.text.is_empty(), "the completion has no text");
    ensure!(
        choice.finish_reason.is_some(),
        "the choice has no finish_reason"
    );
    Ok(Outcome::Passed)
}

/// The same streamed: the pieces add up to text, the last choice chunk has a finish reason.
pub async fn completion_stream(
    p: &dyn InferenceProvider,
    llm: &str,
    _embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.completions, "completions");
    let chunks = stream(
        p,
        json!({"model": llm, "prompt": PROMPT, "max_tokens": 16, "stream": true}),
    )
    .await?;
    ensure!(!chunks.is_empty(), "the stream had no chunks");
    let text: String = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .map(|c| c.text.as_str())
        .collect();
    ensure!(!text.is_empty(), "the streamed chunks carry no text");
    let last = chunks
        .iter()
        .rev()
        .find_map(|c| c.choices.last())
        .context("no chunk has a choice")?;
    ensure!(
        last.finish_reason.is_some(),
        "the last choice chunk has no finish_reason"
    );
    Ok(Outcome::Passed)
}

/// `logprobs: 2` (an integer, as OpenAI takes it) yields parallel `tokens`, `token_logprobs`,
/// `top_logprobs` (objects) and `text_offset` lists.
pub async fn completion_logprobs(
    p: &dyn InferenceProvider,
    llm: &str,
    _embedding: &str,
    caps: &Capabilities,
) -> ScenarioResult {
    require!(caps.completions && caps.logprobs, "completion logprobs");
    let c = completion(
        p,
        json!({"model": llm, "prompt": PROMPT, "max_tokens": 8, "logprobs": 2}),
    )
    .await?;
    let lp = c
        .choices
        .first()
        .and_then(|c| c.logprobs.as_ref())
        .context("logprobs: 2 but choices[0].logprobs is missing")?;
    let list = |key: &str| {
        lp.get(key)
            .and_then(Value::as_array)
            .with_context(|| format!("logprobs.{key} is not a list: {lp}"))
    };
    let tokens = list("tokens")?;
    ensure!(!tokens.is_empty(), "logprobs.tokens is empty");
    ensure!(
        tokens.iter().all(Value::is_string),
        "logprobs.tokens holds non-strings"
    );
    let token_logprobs = list("token_logprobs")?;
    ensure!(
        token_logprobs.len() == tokens.len(),
        "token_logprobs and tokens differ in length"
    );
    let top = list("top_logprobs")?;
    ensure!(
        top.len() == tokens.len(),
        "top_logprobs and tokens differ in length"
    );
    for entry in top {
        let alternatives = entry
            .as_object()
            .with_context(|| format!("a top_logprobs entry is not an object: {entry}"))?;
        ensure!(
            (1..=3).contains(&alternatives.len()),
            "logprobs: 2 gave {} alternatives",
            alternatives.len()
        );
    }
    ensure!(
        list("text_offset")?.len() == tokens.len(),
        "text_offset and tokens differ in length"
    );
    Ok(Outcome::Passed)
}
