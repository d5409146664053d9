//! Sentences per second of the in-process encoder, for `cargo xtask bench embeddings` (which
//! builds this in release mode and runs PyTorch sentence-transformers on the same sentences).
//!
//! ```text
//! embed_bench SENTENCES_FILE [--model-dir DIR] [--batch-size N] [--rounds N] [--vectors-out FILE]
//! ```
//! Reads one sentence per line, embeds them all once to warm up, then `rounds` times, and
//! prints one JSON object: `{"engine", "sentences", "seconds", "sentences_per_second", ...}`
//! (the best round); `--vectors-out` writes the vectors as little-endian f32.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use lls_inference_inline_sentence_transformers::{DEFAULT_BATCH_SIZE, DEFAULT_MODEL, Encoder, SearchPaths};

struct Args {
    sentences: PathBuf,
    model_dir: Option<PathBuf>,
    batch_size: usize,
    rounds: usize,
    vectors_out: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed =
        Args { sentences: PathBuf::new(), model_dir: None, batch_size: DEFAULT_BATCH_SIZE, rounds: 3, vectors_out: None };
    let number = |v: Option<String>, flag: &str| -> Result<usize, String> {
        v.and_then(|v| v.parse().ok()).filter(|n| *n > 0).ok_or(format!("{flag} takes a positive number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--model-dir" => parsed.model_dir = Some(args.next().ok_or("--model-dir takes a directory")?.into()),
            "--batch-size" => parsed.batch_size = number(args.next(), "--batch-size")?,
            "--rounds" => parsed.rounds = number(args.next(), "--rounds")?,
            "--vectors-out" => parsed.vectors_out = Some(args.next().ok_or("--vectors-out takes a file")?.into()),
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            path => parsed.sentences = path.into(),
        }
    }
    if parsed.sentences.as_os_str().is_empty() {
        return Err(
            "usage: embed_bench SENTENCES_FILE [--model-dir DIR] [--batch-size N] [--rounds N] [--vectors-out FILE]".into()
        );
    }
    Ok(parsed)
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let text = std::fs::read_to_string(&args.sentences).map_err(|e| format!("{}: {e}", args.sentences.display()))?;
    let sentences: Vec<String> = text.lines().map(str::to_owned).collect();
    let dir = match args.model_dir {
        Some(dir) => dir,
        None => SearchPaths::from_env(None, &[])
            .find(DEFAULT_MODEL, true)
            .map_err(|looked| format!("{DEFAULT_MODEL} not found in {looked:?}; run scripts/models.sh"))?,
    };
    let started = Instant::now();
    let encoder = Encoder::load(&dir).map_err(|e| e.to_string())?;
    let load_seconds = started.elapsed().as_secs_f64();
    encoder.encode(&sentences, args.batch_size).map_err(|e| e.to_string())?;
    let mut best = f64::MAX;
    let mut vectors = Vec::new();
    for _ in 0..args.rounds {
        let t = Instant::now();
        vectors = encoder.encode(&sentences, args.batch_size).map_err(|e| e.to_string())?;
        best = best.min(t.elapsed().as_secs_f64());
        if vectors.len() != sentences.len() {
            return Err(format!("{} vectors for {} sentences", vectors.len(), sentences.len()));
        }
    }
    if let Some(path) = &args.vectors_out {
        let bytes: Vec<u8> = vectors.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let report = serde_json::json!({
        "engine": "llama-stack-rs (inline::sentence-transformers)",
        "sentences": sentences.len(),
        "batch_size": args.batch_size,
        "threads": rayon::current_num_threads(),
        "load_seconds": load_seconds,
        "seconds": best,
        "sentences_per_second": sentences.len() as f64 / best,
    });
    println!("{report}");
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("embed_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
