//! Decode throughput of the provider: one request alone, then `N` at once (decoded together in
//! one batch per step), greedy, each generating `TOKENS` tokens.
//!
//! ```text
//! chat_bench [GGUF_FILE] [--concurrent N] [--tokens TOKENS] [--threads T]
//! ```
//! GGUF_FILE defaults to Qwen2.5-Coder-0.5B-Instruct in the models directory. Prints one JSON
//! object per run: `{"concurrent", "tokens", "seconds", "tokens_per_second"}`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use lls_api_common::RequestContext;
use lls_api_inference::{ChatCompletion, ChatCompletionRequest, Inference, Output};
use lls_inference_inline_llama_cpp::{LlamaCppConfig, LlamaCppProvider};
use serde_json::json;

const PROMPT: &str = "Write a long story about a lighthouse keeper who befriends a whale.";

async fn one(p: &LlamaCppProvider, tokens: u32) -> Result<i64, String> {
    let body = json!({"model": p.model_id(), "messages": [{"role": "user", "content": PROMPT}], "max_tokens": tokens,
        "temperature": 0, "stop": []});
    let req: ChatCompletionRequest = serde_json::from_value(body).map_err(|e| e.to_string())?;
    match p
        .chat_completion(&RequestContext::default(), req)
        .await
        .map_err(|e| e.to_string())?
    {
        Output::Complete(a) => {
            let c: ChatCompletion = a.into_typed().map_err(|e| e.to_string())?;
            Ok(c.usage.map_or(0, |u| u.completion_tokens))
        }
        Output::Stream(_) => Err("a stream".into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut file, mut concurrent, mut tokens, mut threads) = (None, 4u32, 64u32, None);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--concurrent" => concurrent = value()?.parse().map_err(|e| format!("{e}"))?,
            "--tokens" => tokens = value()?.parse().map_err(|e| format!("{e}"))?,
            "--threads" => threads = Some(value()?.parse().map_err(|e| format!("{e}"))?),
            other => file = Some(other.to_owned()),
        }
    }
    let mut config = LlamaCppConfig {
        model: file
            .is_none()
            .then(|| "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf".to_owned()),
        max_concurrent_sequences: concurrent.max(1),
        context_length: 1024,
        threads,
        ..LlamaCppConfig::for_path(file.unwrap_or_default())
    };
    if config.model.is_some() {
        config.model_path = None;
    }
    let p = LlamaCppProvider::new("bench", config);
    one(&p, 4).await?; // load and warm up
    for n in [1, concurrent] {
        let start = Instant::now();
        let counts = futures::future::join_all((0..n).map(|_| one(&p, tokens))).await;
        let seconds = start.elapsed().as_secs_f64();
        let total: i64 = counts
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .sum();
        println!(
            "{}",
            json!({"concurrent": n, "tokens": total, "seconds": seconds, "tokens_per_second": total as f64 / seconds})
        );
    }
    Ok(())
}
