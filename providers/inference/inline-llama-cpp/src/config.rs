//! `inline::llama-cpp` config: which GGUF file, the id it is listed under, and how much of the
//! machine it may use. Checked without I/O; the file is looked for when the model loads.

use std::path::PathBuf;

use lls_api_common::{Error, ProviderConfig, Result};
use serde::{Deserialize, Serialize};

/// Tokens of context of each sequence (prompt and answer); the one llama.cpp context holds
/// this many for each of the `max_concurrent_sequences`.
pub const DEFAULT_CONTEXT_LENGTH: u32 = 4096;
/// Requests decoded together.
pub const DEFAULT_MAX_CONCURRENT_SEQUENCES: u32 = 4;
/// Requests waiting for a free sequence before more are refused with a 503.
pub const DEFAULT_MAX_QUEUED_REQUESTS: u32 = 32;
/// `max_tokens` when a request gives none.
pub const DEFAULT_MAX_TOKENS: u32 = 512;

/// When the model is read into memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Load {
    /// On the first request (the server starts without the file).
    #[default]
    Lazy,
    /// While the provider is built: a missing or broken file stops the server from starting.
    Startup,
}

/// run.yaml `config:` of an `inline::llama-cpp` provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlamaCppConfig {
    /// The GGUF file, by path. Empty means unset.
    #[serde(default)]
    pub model_path: Option<String>,
    /// The GGUF file, by name, looked for in `$LLS_MODELS_DIR`
    /// (default `~/.cache/llama-stack-rs/models`, what `scripts/models.sh` fills).
    #[serde(default)]
    pub model: Option<String>,
    /// The id the model is listed under; default: the file name without `.gguf` and without a
    /// trailing quantisation tag (`-q4_k_m`).
    #[serde(default)]
    pub model_id: Option<String>,
    #[serde(default = "default_context_length")]
    pub context_length: u32,
    /// CPU threads for llama.cpp; default: the available cores.
    #[serde(default)]
    pub threads: Option<u32>,
    #[serde(default = "default_max_concurrent_sequences")]
    pub max_concurrent_sequences: u32,
    #[serde(default = "default_max_queued_requests")]
    pub max_queued_requests: u32,
    /// `max_tokens` of requests that give none.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    #[serde(default)]
    pub load: Load,
}

fn default_context_length() -> u32 {
    DEFAULT_CONTEXT_LENGTH
}
fn default_max_concurrent_sequences() -> u32 {
    DEFAULT_MAX_CONCURRENT_SEQUENCES
}
fn default_max_queued_requests() -> u32 {
    DEFAULT_MAX_QUEUED_REQUESTS
}
fn default_max_tokens() -> u32 {
    DEFAULT_MAX_TOKENS
}

impl LlamaCppConfig {
    /// A config serving `model_path`, everything else by default.
    pub fn for_path(model_path: impl Into<String>) -> Self {
        LlamaCppConfig {
            model_path: Some(model_path.into()),
            model: None,
            model_id: None,
            context_length: DEFAULT_CONTEXT_LENGTH,
            threads: None,
            max_concurrent_sequences: DEFAULT_MAX_CONCURRENT_SEQUENCES,
            max_queued_requests: DEFAULT_MAX_QUEUED_REQUESTS,
            max_tokens: DEFAULT_MAX_TOKENS,
            load: Load::Lazy,
        }
    }

    fn model_path_set(&self) -> Option<&str> {
        self.model_path.as_deref().filter(|p| !p.is_empty())
    }

    fn model_set(&self) -> Option<&str> {
        self.model.as_deref().filter(|p| !p.is_empty())
    }

    /// The GGUF file: `model_path`, else `model` in the models directory.
    pub fn resolved_path(&self) -> PathBuf {
        self.resolve_with(&|k| std::env::var_os(k).map(PathBuf::from))
    }

    pub(crate) fn resolve_with(&self, env: &dyn Fn(&str) -> Option<PathBuf>) -> PathBuf {
        if let Some(p) = self.model_path_set() {
            return expand_home(p, env);
        }
        let dir = env("LLS_MODELS_DIR")
            .filter(|d| !d.as_os_str().is_empty())
            .or_else(|| env("HOME").map(|h| h.join(".cache/llama-stack-rs/models")))
            .unwrap_or_else(|| PathBuf::from(".cache/llama-stack-rs/models"));
        dir.join(self.model_set().unwrap_or_default())
    }

    /// The listed id: `model_id`, else derived from the file name.
    pub fn model_id(&self) -> String {
        if let Some(id) = self.model_id.as_deref().filter(|i| !i.is_empty()) {
            return id.to_owned();
        }
        let file = self
            .model_set()
            .or(self.model_path_set())
            .unwrap_or_default();
        id_from_file_name(file.rsplit('/').next().unwrap_or(file))
    }

    /// Threads for llama.cpp.
    pub fn threads(&self) -> u32 {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1)
        })
    }
}

fn expand_home(p: &str, env: &dyn Fn(&str) -> Option<PathBuf>) -> PathBuf {
    match (p.strip_prefix("~/"), env("HOME")) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(p),
    }
}

/// `qwen2.5-coder-0.5b-instruct-q4_k_m.gguf` → `qwen2.5-coder-0.5b-instruct`.
pub fn id_from_file_name(file: &str) -> String {
    let stem = file.strip_suffix(".gguf").unwrap_or(file);
    let quant = stem.rfind(['-', '.']).filter(|&i| {
        let tag = stem[i + 1..].to_ascii_lowercase();
        let mut chars = tag.chars();
        matches!((chars.next(), chars.next()), (Some('q' | 'f' | 'b' | 'i'), Some(c)) if c.is_ascii_digit() || c == 'q')
            && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    match quant {
        Some(i) => stem[..i].to_owned(),
        None => stem.to_owned(),
    }
}

impl ProviderConfig for LlamaCppConfig {
    fn validate(&self) -> Result<()> {
        match (self.model_path_set(), self.model_set()) {
            (None, None) => {
                return Err(Error::invalid("config: set 'model_path' (a GGUF file) or 'model' (a file name in the models directory)")
                    .with_param("model_path"));
            }
            (Some(_), Some(_)) => {
                return Err(
                    Error::invalid("config: set 'model_path' or 'model', not both")
                        .with_param("model"),
                );
            }
            (None, Some(m)) if m.contains('/') || m == ".." => {
                return Err(Error::invalid(format!(
                    "config.model: '{m}' is a file name in the models directory, not a path (use model_path for paths)"
                ))
                .with_param("model"));
            }
            _ => {}
        }
        let positive = [
            ("context_length", self.context_length),
            ("max_concurrent_sequences", self.max_concurrent_sequences),
            ("max_tokens", self.max_tokens),
            ("threads", self.threads.unwrap_or(1)),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(
                    Error::invalid(format!("config.{key}: must be at least 1")).with_param(key)
                );
            }
        }
        if self.max_concurrent_sequences > 64 {
            return Err(
                Error::invalid("config.max_concurrent_sequences: at most 64")
                    .with_param("max_concurrent_sequences"),
            );
        }
        // The context holds context_length tokens for each sequence.
        if !(16..=1 << 20).contains(&self.context_length)
            || self
                .context_length
                .checked_mul(self.max_concurrent_sequences)
                .is_none_or(|n| n > 1 << 22)
        {
            return Err(Error::invalid(format!(
                "config.context_length: {} tokens per request for {} sequences is out of range (16 to 1M per sequence, 4M in all)",
                self.context_length, self.max_concurrent_sequences
            ))
            .with_param("context_length"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::parse_config;
    use serde_json::json;

    #[test]
    fn defaults_and_the_listed_id() {
        let c: LlamaCppConfig =
            parse_config(&json!({"model": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"})).unwrap();
        assert_eq!(
            (
                c.context_length,
                c.max_concurrent_sequences,
                c.max_tokens,
                c.load
            ),
            (4096, 4, 512, Load::Lazy)
        );
        assert_eq!(c.model_id(), "qwen2.5-coder-0.5b-instruct");
        let env = |k: &str| match k {
            "HOME" => Some(PathBuf::from("/h")),
            _ => None,
        };
        assert_eq!(
            c.resolve_with(&env),
            PathBuf::from(
                "/h/.cache/llama-stack-rs/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
            )
        );
        let env2 = |k: &str| (k == "LLS_MODELS_DIR").then(|| PathBuf::from("/m"));
        assert_eq!(
            c.resolve_with(&env2),
            PathBuf::from("/m/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
        );
        let c: LlamaCppConfig = parse_config(&json!({"model_path": "~/x/SmolLM2-135M-Instruct.Q4_1.gguf", "model_id": "", "load": "startup"})).unwrap();
        assert_eq!(
            c.resolve_with(&env),
            PathBuf::from("/h/x/SmolLM2-135M-Instruct.Q4_1.gguf")
        );
        assert_eq!(
            (c.model_id(), c.load),
            ("SmolLM2-135M-Instruct".to_owned(), Load::Startup)
        );
        assert_eq!(
            id_from_file_name("smollm2-135m-instruct-q4_1.gguf"),
            "smollm2-135m-instruct"
        );
        assert_eq!(id_from_file_name("my-model.gguf"), "my-model");
        assert_eq!(id_from_file_name("gemma-3-270m-f16.gguf"), "gemma-3-270m");
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for bad in [
            json!({}),
            json!({"model": "", "model_path": ""}),
            json!({"model": "a.gguf", "model_path": "/b.gguf"}),
            json!({"model": "../a.gguf"}),
            json!({"model": "a.gguf", "context_length": 0}),
            json!({"model": "a.gguf", "context_length": 8}),
            json!({"model": "a.gguf", "context_length": 1048576, "max_concurrent_sequences": 8}),
            json!({"model": "a.gguf", "threads": 0}),
            json!({"model": "a.gguf", "max_concurrent_sequences": 0}),
            json!({"model": "a.gguf", "max_tokens": 0}),
            json!({"model": "a.gguf", "load": "eager"}),
            json!({"model": "a.gguf", "modle": "x"}),
        ] {
            assert!(parse_config::<LlamaCppConfig>(&bad).is_err(), "{bad}");
        }
    }
}
