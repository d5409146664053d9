//! `cargo xtask bench embeddings`: sentences per second of `inline::sentence-transformers`
//! (in-process, through the crate's release-built `embed_bench` example) against PyTorch
//! sentence-transformers on the same machine, model files and sentences, one after the other,
//! plus how closely their vectors agree.
//!
//! The PyTorch side runs in a venv (`$LLS_ST_VENV`, default `~/.cache/llama-stack-rs/st-venv`),
//! created with `pip install sentence-transformers` when missing (about 4 GB with torch).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};
use serde_json::Value;

/// The PyTorch side, written next to the sentences at run time.
const PYTHON_BENCH: &str = include_str!("embeddings_bench.py");

/// How big the run is.
#[derive(Debug, Clone)]
pub struct EmbeddingsOptions {
    /// Sentences embedded per round.
    pub sentences: usize,
    pub batch_size: usize,
    /// Timed rounds per engine (after one warm-up); the best counts.
    pub rounds: usize,
    /// Threads for both engines (`RAYON_NUM_THREADS`, `OMP_NUM_THREADS` + `torch.set_num_threads`);
    /// `None` leaves each engine its default (all cores).
    pub threads: Option<usize>,
    /// Build the release example first.
    pub build: bool,
}

impl EmbeddingsOptions {
    pub fn new(quick: bool, sentences: Option<usize>, batch_size: Option<usize>, threads: Option<usize>, build: bool) -> Self {
        EmbeddingsOptions {
            sentences: sentences.unwrap_or(if quick { 256 } else { 1024 }).max(1),
            batch_size: batch_size.unwrap_or(32).max(1),
            rounds: if quick { 1 } else { 3 },
            threads,
            build,
        }
    }
}

/// One engine's figures.
#[derive(Debug, Clone)]
pub struct EngineRun {
    pub engine: String,
    pub threads: u64,
    pub load_seconds: f64,
    pub seconds: f64,
    pub sentences_per_second: f64,
}

impl EngineRun {
    fn parse(stdout: &[u8]) -> anyhow::Result<EngineRun> {
        let text = String::from_utf8_lossy(stdout);
        let line = text.lines().rev().find(|l| l.trim_start().starts_with('{')).context("no JSON line in the output")?;
        let v: Value = serde_json::from_str(line).with_context(|| format!("parsing {line}"))?;
        let num = |k: &str| v[k].as_f64().with_context(|| format!("no {k} in {line}"));
        Ok(EngineRun {
            engine: v["engine"].as_str().unwrap_or("?").to_owned(),
            threads: v["threads"].as_u64().unwrap_or(0),
            load_seconds: num("load_seconds")?,
            seconds: num("seconds")?,
            sentences_per_second: num("sentences_per_second")?,
        })
    }
}

/// Both engines' figures and how their vectors compare.
#[derive(Debug, Clone)]
pub struct EmbeddingsReport {
    pub sentences: usize,
    pub tokens_note: String,
    pub batch_size: usize,
    pub ours: EngineRun,
    pub torch: EngineRun,
    pub min_cosine: f64,
    /// CPU model and logical core count.
    pub machine: String,
    /// `/proc/loadavg`'s 1-minute figure before and after (other work skews both engines).
    pub load: String,
}

impl EmbeddingsReport {
    /// Ours over PyTorch, in sentences per second (above 1: ours is faster).
    pub fn ratio(&self) -> f64 {
        self.ours.sentences_per_second / self.torch.sentences_per_second
    }

    pub fn markdown(&self) -> String {
        let row = |r: &EngineRun| {
            format!(
                "| {} | {} | {:.0} | {:.2} | {:.2} |\n",
                r.engine, r.threads, r.sentences_per_second, r.seconds, r.load_seconds
            )
        };
        format!(
            "## Embeddings: all-MiniLM-L6-v2, {} sentences ({}), batch {}\n\n{}; load average {}.\n\n\
             | engine | threads | sentences/s | best round (s) | model load (s) |\n|---|---|---|---|---|\n{}{}\n\
             **ratio (ours / PyTorch): {:.2}x**; the two engines' vectors agree to a minimum cosine of 1 - {:.1e}.\n",
            self.sentences,
            self.tokens_note,
            self.batch_size,
            self.machine,
            self.load,
            row(&self.ours),
            row(&self.torch),
            self.ratio(),
            1.0 - self.min_cosine
        )
    }
}

/// Runs the benchmark.
pub fn embeddings(options: &EmbeddingsOptions) -> anyhow::Result<EmbeddingsReport> {
    let root = crate::workspace_root();
    let status = Command::new("bash").arg(root.join("scripts/models.sh")).status().context("running scripts/models.sh")?;
    ensure!(status.success(), "scripts/models.sh failed ({status})");
    let model_dir = models_dir().join("all-MiniLM-L6-v2");

    let example = build_example(options.build)?;
    let python = st_venv()?;

    let tmp = tempfile::tempdir().context("creating a temp dir")?;
    let sentences = sentences(options.sentences);
    let words: usize = sentences.iter().map(|s| s.split_whitespace().count()).sum();
    let sentences_file = tmp.path().join("sentences.txt");
    std::fs::write(&sentences_file, sentences.join("\n") + "\n").context("writing the sentences")?;
    let script = tmp.path().join("embeddings_bench.py");
    std::fs::write(&script, PYTHON_BENCH).context("writing the python bench")?;
    let (ours_vectors, torch_vectors) = (tmp.path().join("ours.f32"), tmp.path().join("torch.f32"));

    let mut ours = Command::new(&example);
    ours.arg(&sentences_file)
        .args(["--model-dir".as_ref(), model_dir.as_os_str()])
        .args(["--batch-size", &options.batch_size.to_string(), "--rounds", &options.rounds.to_string()])
        .args(["--vectors-out".as_ref(), ours_vectors.as_os_str()]);
    let mut torch = Command::new(&python);
    torch
        .arg(&script)
        .arg(&sentences_file)
        .arg(&model_dir)
        .args([options.batch_size.to_string(), options.rounds.to_string()])
        .arg(&torch_vectors)
        .env("TOKENIZERS_PARALLELISM", "false");
    if let Some(t) = options.threads {
        ours.env("RAYON_NUM_THREADS", t.to_string());
        torch.env("OMP_NUM_THREADS", t.to_string()).env("MKL_NUM_THREADS", t.to_string());
    }
    let load_before = crate::host::load_average();
    eprintln!("embedding {} sentences with llama-stack-rs ...", sentences.len());
    let ours = run_engine(ours)?;
    eprintln!("embedding {} sentences with PyTorch sentence-transformers ...", sentences.len());
    let torch = run_engine(torch)?;
    let min_cosine = min_cosine(&read_f32(&ours_vectors)?, &read_f32(&torch_vectors)?, 384)?;
    Ok(EmbeddingsReport {
        sentences: sentences.len(),
        tokens_note: format!("{:.1} words each on average", words as f64 / sentences.len() as f64),
        batch_size: options.batch_size,
        ours,
        torch,
        min_cosine,
        machine: machine(),
        load: format!("{load_before} before, {} after", crate::host::load_average()),
    })
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{cores} logical cores ({}), release build", crate::host::cpu_model())
}

fn run_engine(mut cmd: Command) -> anyhow::Result<EngineRun> {
    let output = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !output.status.success() {
        bail!("{cmd:?} failed ({}):\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    EngineRun::parse(&output.stdout)
}

fn models_dir() -> PathBuf {
    match std::env::var_os("LLS_MODELS_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => dir.into(),
        None => home().join(".cache/llama-stack-rs/models"),
    }
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// `cargo build --release` of the provider's `embed_bench` example; its path.
fn build_example(build: bool) -> anyhow::Result<PathBuf> {
    let package = "lls-inference-inline-sentence-transformers";
    if build {
        eprintln!("building cargo build --release -p {package} --example embed_bench");
        let status = crate::cargo_command()
            .args(["build", "--release", "-p", package, "--example", "embed_bench"])
            .status()
            .context("running cargo build")?;
        ensure!(status.success(), "cargo build --release failed ({status})");
    }
    let output = crate::cargo_command()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    ensure!(output.status.success(), "cargo metadata failed ({})", output.status);
    let metadata: Value = serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
    let target = metadata["target_directory"].as_str().context("cargo metadata has no target_directory")?;
    let path = Path::new(target).join("release/examples/embed_bench");
    ensure!(path.is_file(), "{} is missing (drop --no-build)", path.display());
    Ok(path)
}

/// The st-venv's python, creating the venv when it cannot import sentence_transformers.
fn st_venv() -> anyhow::Result<PathBuf> {
    let venv = std::env::var_os("LLS_ST_VENV").map_or_else(|| home().join(".cache/llama-stack-rs/st-venv"), PathBuf::from);
    let python = venv.join("bin/python");
    let works = |python: &Path| {
        Command::new(python).args(["-c", "import sentence_transformers, numpy"]).output().is_ok_and(|o| o.status.success())
    };
    if works(&python) {
        return Ok(python);
    }
    eprintln!("creating {} with sentence-transformers (pip pulls torch, about 4 GB)", venv.display());
    let system = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    let status = Command::new(&system).args(["-m", "venv"]).arg(&venv).status().context("running python3 -m venv")?;
    ensure!(status.success(), "python3 -m venv {} failed ({status})", venv.display());
    let status = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "--disable-pip-version-check", "sentence-transformers"])
        .status()
        .context("running pip install sentence-transformers")?;
    ensure!(status.success(), "pip install sentence-transformers failed ({status})");
    ensure!(works(&python), "{} still cannot import sentence_transformers", python.display());
    Ok(python)
}

fn read_f32(path: &Path) -> anyhow::Result<Vec<f32>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// The lowest cosine between corresponding `dim`-long vectors of `a` and `b`.
pub fn min_cosine(a: &[f32], b: &[f32], dim: usize) -> anyhow::Result<f64> {
    ensure!(
        a.len() == b.len() && !a.is_empty() && a.len().is_multiple_of(dim),
        "vector files differ in size ({} vs {} floats)",
        a.len(),
        b.len()
    );
    Ok(a.chunks_exact(dim)
        .zip(b.chunks_exact(dim))
        .map(|(x, y)| {
            let dot: f64 = x.iter().zip(y).map(|(p, q)| f64::from(*p) * f64::from(*q)).sum();
            let norm = |v: &[f32]| v.iter().map(|p| f64::from(*p).powi(2)).sum::<f64>().sqrt();
            dot / (norm(x) * norm(y))
        })
        .fold(f64::MAX, f64::min))
}

/// `n` deterministic sentences of 6 to 40 words from a fixed vocabulary, built from templates
/// so they read like text (the same every run, so figures compare across runs).
pub fn sentences(n: usize) -> Vec<String> {
    const SUBJECTS: &[&str] = &[
        "the server",
        "a llama",
        "our team",
        "the vector store",
        "this model",
        "the agent",
        "a small river",
        "the city council",
        "the database",
        "every request",
        "the weather service",
        "a new library",
        "the kitchen staff",
        "the orchestra",
    ];
    const VERBS: &[&str] = &[
        "answers",
        "embeds",
        "retrieves",
        "summarises",
        "ignores",
        "measures",
        "crosses",
        "builds",
        "rejects",
        "caches",
        "describes",
        "streams",
        "follows",
        "repairs",
    ];
    const OBJECTS: &[&str] = &[
        "long documents",
        "the mountain trail",
        "user questions",
        "a batch of sentences",
        "the quarterly report",
        "every tool call",
        "the safety policy",
        "fresh bread",
        "an old bridge",
        "the evening concert",
        "search results",
        "a broken pipeline",
        "the latest benchmark",
    ];
    const TAILS: &[&str] = &[
        "before the deadline",
        "with surprising accuracy",
        "while the cores stay busy",
        "during the winter storm",
        "after a short delay",
        "in three languages",
        "for the second time this week",
        "without any network access",
        "because the cache was cold",
        "as the documentation explains",
        "near the old harbour",
        "at the end of the day",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |m: usize| {
        // xorshift64*: deterministic and good enough to vary the sentences.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % m
    };
    (0..n)
        .map(|_| {
            let mut s =
                format!("{} {} {}", SUBJECTS[next(SUBJECTS.len())], VERBS[next(VERBS.len())], OBJECTS[next(OBJECTS.len())]);
            for _ in 0..next(5) {
                s.push(' ');
                s.push_str(TAILS[next(TAILS.len())]);
            }
            let mut c = s.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default() + "."
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_deterministic_and_varied() {
        let a = sentences(200);
        assert_eq!(a, sentences(200));
        let lengths: Vec<usize> = a.iter().map(|s| s.split_whitespace().count()).collect();
        assert!(lengths.iter().min().unwrap() < &8 && lengths.iter().max().unwrap() > &20, "{lengths:?}");
        let distinct: std::collections::BTreeSet<&String> = a.iter().collect();
        assert!(distinct.len() > 190);
    }

    #[test]
    fn engine_output_and_cosines_parse() {
        let run = EngineRun::parse(
            b"noise\n{\"engine\":\"x\",\"threads\":2,\"load_seconds\":0.1,\"seconds\":2.0,\"sentences_per_second\":512.0}\n",
        )
        .unwrap();
        assert_eq!((run.threads, run.sentences_per_second), (2, 512.0));
        assert!(EngineRun::parse(b"no json").is_err());
        let c = min_cosine(&[1.0, 0.0, 0.0, 1.0], &[1.0, 0.0, 1.0, 1.0], 2).unwrap();
        assert!((c - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-12);
        assert!(min_cosine(&[1.0], &[1.0, 2.0], 1).is_err());
    }
}
