//! Legacy text completions of the deterministic model: one choice per prompt and `n`, integer
//! `logprobs` in OpenAI's legacy shape, `echo`, and chunks of object `text_completion`.

use lls_api_common::Result;
use lls_api_inference::{Completion, CompletionChoice, CompletionRequest, Logprobs, Prompt, Usage};
use serde_json::{Map, Value, json};

use super::{alternatives, logprob, pieces, shape};
use crate::embedding::token_count;

/// The answer to a completion request; `id` and `created` are the caller's.
pub fn completion(req: &CompletionRequest, id: &str, created: i64) -> Result<Completion> {
    let n = req.n.unwrap_or(1).max(1);
    let top = match req.logprobs {
        Some(Logprobs::Count(k)) => Some(k),
        Some(Logprobs::Flag(true)) => Some(1),
        Some(Logprobs::Flag(false)) | None => None,
    };
    let echo = req.echo.unwrap_or(false);
    let prompts = prompt_texts(&req.prompt);
    let mut choices = Vec::new();
    let mut completion_tokens = 0;
    for (p, prompt) in prompts.iter().enumerate() {
        let words = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
        let about = if words.is_empty() {
            "nothing".to_owned()
        } else {
            words
        };
        let full = format!(" This is a deterministic mock completion about {about}.");
        let (generated, finish) = shape(&full, req.stop.as_ref(), req.max_tokens);
        for j in 0..n {
            completion_tokens += token_count(&generated);
            let text = if echo {
                format!("{prompt}{generated}")
            } else {
                generated.clone()
            };
            let offset = if echo { 0 } else { prompt.len() };
            let logprobs = top.map(|k| legacy_logprobs(&pieces(&text), offset, k));
            choices.push(CompletionChoice {
                index: (p as u32) * n + j,
                text,
                finish_reason: Some(finish.into()),
                logprobs,
                extra: Map::new(),
            });
        }
    }
    let prompt_tokens: usize = prompts.iter().map(|p| token_count(p)).sum();
    Ok(Completion {
        id: id.to_owned(),
        object: "text_completion".into(),
        created,
        model: req.model.clone(),
        choices,
        usage: Some(Usage {
            prompt_tokens: prompt_tokens as i64,
            completion_tokens: completion_tokens as i64,
            total_tokens: (prompt_tokens + completion_tokens) as i64,
            extra: Map::new(),
        }),
        extra: Map::new(),
    })
}

/// The chunks that stream `completion`: its pieces choice after choice, a finish chunk per
/// choice, and with `include_usage` a last chunk with no choices carrying the usage.
pub fn completion_chunks(completion: &Completion, include_usage: bool) -> Vec<Completion> {
    let chunk = |choices: Vec<CompletionChoice>| Completion {
        id: completion.id.clone(),
        object: "text_completion".into(),
        created: completion.created,
        model: completion.model.clone(),
        choices,
        usage: None,
        extra: Map::new(),
    };
    let mut out = Vec::new();
    for choice in &completion.choices {
        for (i, piece) in pieces(&choice.text).into_iter().enumerate() {
            let logprobs = choice.logprobs.as_ref().map(|l| slice_logprobs(l, i));
            out.push(chunk(vec![CompletionChoice {
                index: choice.index,
                text: piece.to_owned(),
                finish_reason: None,
                logprobs,
                extra: Map::new(),
            }]));
        }
        out.push(chunk(vec![CompletionChoice {
            index: choice.index,
            text: String::new(),
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

/// The prompts as text; token ids are written out as numbers.
fn prompt_texts(prompt: &Prompt) -> Vec<String> {
    let tokens = |t: &[i64]| t.iter().map(i64::to_string).collect::<Vec<_>>().join(" ");
    match prompt {
        Prompt::Text(t) => vec![t.clone()],
        Prompt::Texts(ts) => ts.clone(),
        Prompt::Tokens(t) => vec![tokens(t)],
        Prompt::TokenLists(ls) => ls.iter().map(|t| tokens(t)).collect(),
    }
}

/// OpenAI's legacy logprobs: parallel lists, `top_logprobs` holding `top` alternatives per token.
fn legacy_logprobs(tokens: &[&str], offset: usize, top: u32) -> Value {
    let mut text_offset = Vec::with_capacity(tokens.len());
    let mut at = offset;
    for t in tokens {
        text_offset.push(at);
        at += t.len();
    }
    let top_logprobs: Vec<Value> = tokens
        .iter()
        .map(|t| {
            Value::Object(
                alternatives(t, top)
                    .into_iter()
                    .map(|(tok, lp)| (tok, json!(lp)))
                    .collect(),
            )
        })
        .collect();
    json!({
        "tokens": tokens,
        "token_logprobs": tokens.iter().map(|t| logprob(t)).collect::<Vec<_>>(),
        "top_logprobs": top_logprobs,
        "text_offset": text_offset,
    })
}

/// Entry `i` of each parallel list, as the logprobs of the chunk that carries token `i`.
fn slice_logprobs(logprobs: &Value, i: usize) -> Value {
    let pick = |key: &str| {
        logprobs
            .get(key)
            .and_then(|v| v.get(i))
            .cloned()
            .map_or_else(Vec::new, |v| vec![v])
    };
    json!({
        "tokens": pick("tokens"),
        "token_logprobs": pick("token_logprobs"),
        "top_logprobs": pick("top_logprobs"),
        "text_offset": pick("text_offset"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: Value) -> CompletionRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn text_n_prompts_and_limits() {
        let c = completion(
            &req(json!({"model": "m", "prompt": "Once upon"})),
            "cmpl-1",
            1,
        )
        .unwrap();
        assert_eq!(
            c.choices[0].text,
            " This is a deterministic mock completion about Once upon."
        );
        assert_eq!(c.usage.as_ref().unwrap().prompt_tokens, 2);
        let c = completion(
            &req(json!({"model": "m", "prompt": ["a", "b"], "n": 2, "max_tokens": 2})),
            "x",
            1,
        )
        .unwrap();
        assert_eq!(c.choices.len(), 4);
        assert_eq!(c.choices[2].text, " This is");
        assert_eq!(c.choices[3].index, 3);
        assert_eq!(c.choices[3].finish_reason.as_deref(), Some("length"));
        let c = completion(
            &req(json!({"model": "m", "prompt": "Hi", "echo": true, "stop": "mock"})),
            "x",
            1,
        )
        .unwrap();
        assert_eq!(c.choices[0].text, "Hi This is a deterministic ");
    }

    #[test]
    fn integer_logprobs_in_legacy_shape() {
        let c = completion(
            &req(json!({"model": "m", "prompt": "abc", "logprobs": 2, "max_tokens": 3})),
            "x",
            1,
        )
        .unwrap();
        let lp = c.choices[0].logprobs.as_ref().unwrap();
        assert_eq!(lp["tokens"], json!([" This", " is", " a"]));
        assert_eq!(lp["text_offset"], json!([3, 8, 11]));
        assert_eq!(lp["token_logprobs"].as_array().unwrap().len(), 3);
        assert_eq!(lp["top_logprobs"][0].as_object().unwrap().len(), 2);
        assert!(lp["top_logprobs"][0].get(" This").is_some());
    }

    #[test]
    fn chunks_concatenate() {
        let c = completion(
            &req(json!({"model": "m", "prompt": "go", "logprobs": 1})),
            "x",
            1,
        )
        .unwrap();
        let chunks = completion_chunks(&c, true);
        let text: String = chunks
            .iter()
            .flat_map(|ch| ch.choices.iter().map(|c| c.text.as_str()))
            .collect();
        assert_eq!(text, c.choices[0].text);
        assert_eq!(
            chunks[0].choices[0].logprobs.as_ref().unwrap()["tokens"],
            json!([" This"])
        );
        let last_choice = &chunks[chunks.len() - 2].choices[0];
        assert_eq!(last_choice.finish_reason.as_deref(), Some("stop"));
        assert!(
            chunks.last().unwrap().choices.is_empty() && chunks.last().unwrap().usage.is_some()
        );
    }
}
