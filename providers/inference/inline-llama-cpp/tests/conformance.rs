//! The shared inference conformance suite against the real SmolLM2-135M-Instruct: chat (whole,
//! streamed, `n`, `max_tokens`), tool calls and structured output (both forced by grammars:
//! SmolLM2 knows no tools), completions, model listing and unknown models. Without the file
//! these fail (see `common`), unless `LLS_TEST_NO_MODELS=1`.

mod common;

use std::sync::Arc;

use lls_inference_inline_llama_cpp::LlamaCppProvider;
use lls_testkit::{Capabilities, Harness};

async fn harness() -> Harness {
    let config = common::config(common::SMOLLM2, "conformance");
    let present = config.is_some();
    // Opted out without the file: a stand-in file (not a model) is listed; nothing generates.
    let config = config.unwrap_or_else(|| {
        let stand_in = std::env::temp_dir().join(format!(
            "lls-llama-cpp-stand-in-{}.gguf",
            std::process::id()
        ));
        let _ = std::fs::write(&stand_in, b"");
        lls_inference_inline_llama_cpp::LlamaCppConfig::for_path(stand_in.display().to_string())
    });
    let provider = LlamaCppProvider::new("llama-cpp", config);
    let llm = provider.model_id().to_owned();
    let caps = Capabilities::of(&provider).except(|c| {
        // Without the file nothing generates.
        c.tools &= present;
        c.structured_output &= present;
        c.chat &= present;
        c.streaming &= present;
        c.completions &= present;
    });
    Harness {
        provider: Arc::new(provider),
        llm,
        embedding: String::new(),
        caps,
        _guard: Box::new(()),
    }
}

lls_testkit::inference_conformance!(harness());
