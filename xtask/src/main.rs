//! `cargo xtask`: the command line over the `xtask` library (bench, codegen, tidy).
//!
//! Printing reports to stdout is this binary's job, so `print_stdout` (denied workspace-wide)
//! is allowed here and only here.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::bench::{self, GatewayOptions, RagOptions};
use xtask::codegen::{self, Outcome};

#[derive(Parser, Debug)]
#[command(name = "cargo xtask", about = "Repository automation for llama-stack-rs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        which: BenchCommand,
    },
    /// Regenerate docs/openapi.json from the server's route table.
    Codegen {
        /// Do not write; exit non-zero if docs/openapi.json is stale.
        #[arg(long)]
        check: bool,
    },
    /// Run the architecture checks (the same ones `cargo test -p xtask` runs).
    Tidy,
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// inline::sentence-transformers vs PyTorch sentence-transformers: sentences/s on this machine.
    Embeddings {
        /// Sentences per round (default 1024; 256 with --quick).
        #[arg(long)]
        sentences: Option<usize>,
        /// Sentences per forward pass, for both engines (default 32).
        #[arg(long)]
        batch_size: Option<usize>,
        /// Threads for both engines (default: each engine's own, all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// One short round.
        #[arg(long)]
        quick: bool,
        /// Also write the Markdown report to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Use the release example already built instead of running `cargo build --release`.
        #[arg(long)]
        no_build: bool,
    },
    /// Gateway overhead: the server in front of the mock backend vs the mock directly.
    Gateway {
        /// Measured requests per run (each workload x concurrency x target is one run).
        #[arg(long)]
        requests: Option<usize>,
        /// Time cap per run, in seconds.
        #[arg(long)]
        duration_secs: Option<u64>,
        /// Small runs (a smoke test of the whole bench in well under a minute of load).
        #[arg(long)]
        quick: bool,
        /// Also write the Markdown report to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Use the release binaries already built instead of running `cargo build --release`.
        #[arg(long)]
        no_build: bool,
        /// Exit non-zero when a figure misses its target.
        #[arg(long)]
        check_targets: bool,
        /// PostgreSQL for the rows with the PostgreSQL inference store (skipped without), e.g.
        /// from `LLS_PG_DIR=/tmp/lls-pg-bench LLS_PG_PORT=54349 scripts/postgres.sh start`.
        #[arg(long, env = "LLS_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
        /// Do not pin the server, the mock and the load generator to separate CPUs.
        #[arg(long)]
        no_pin: bool,
    },
    /// inline::llama-cpp through the server vs llama-server (same ggml kernels): prompt processing,
    /// time to first token, decode, aggregate decode at 1 and 4 streams.
    Llm {
        /// The GGUF file in the models directory (default the starter's Qwen2.5-Coder-0.5B).
        #[arg(long)]
        model: Option<String>,
        /// Threads for both engines (default: the available cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Tokens per decode stream (default 128; 48 with --quick).
        #[arg(long)]
        max_tokens: Option<u64>,
        /// One short round.
        #[arg(long)]
        quick: bool,
        /// Also write the Markdown report to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Use the release server already built instead of running `cargo build --release`.
        #[arg(long)]
        no_build: bool,
        /// Exit non-zero when a figure misses its target.
        #[arg(long)]
        check_targets: bool,
    },
    /// Batches: the same chat requests through one batch vs sent directly, at one concurrency.
    Batches {
        /// Requests (default 10000; 1000 with --quick).
        #[arg(long)]
        requests: Option<usize>,
        /// Requests in flight at once, directly and in the batch (default 10, 0.3.5's default
        /// `max_concurrent_requests_per_batch`).
        #[arg(long)]
        concurrency: Option<usize>,
        /// Smaller runs.
        #[arg(long)]
        quick: bool,
        /// Also write the Markdown report to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Use the release binaries already built instead of running `cargo build --release`.
        #[arg(long)]
        no_build: bool,
        /// Exit non-zero when a figure misses its target.
        #[arg(long)]
        check_targets: bool,
    },
    /// Retrieval: file ingestion, then search latency, QPS and recall at scale, per vector_io
    /// provider (inline::faiss, inline::sqlite-vec, remote::pgvector, remote::milvus).
    Rag {
        /// Chunks in the large store (default 100000; 25000 with --quick).
        #[arg(long)]
        chunks: Option<usize>,
        /// Smaller runs.
        #[arg(long)]
        quick: bool,
        /// The faiss provider's `ivf_probe_fraction` (its default when absent).
        #[arg(long)]
        ivf_probe_fraction: Option<f64>,
        /// The providers to measure, in order (the first is the baseline of the ratios).
        #[arg(long, value_enum, value_delimiter = ',', default_value = "faiss,sqlite-vec,pgvector,milvus")]
        providers: Vec<bench::Provider>,
        /// PostgreSQL with pgvector, where the bench makes (and drops) a database per run; else
        /// LLS_TEST_POSTGRES_URL, else what `scripts/postgres.sh start` prints.
        #[arg(long, env = "LLS_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
        /// A Milvus server; else the bench starts its own Milvus Lite (`scripts/milvus.sh`).
        #[arg(long, env = "LLS_BENCH_MILVUS_URI")]
        milvus_uri: Option<String>,
        /// Also write the Markdown report to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Use the release binaries already built instead of running `cargo build --release`.
        #[arg(long)]
        no_build: bool,
        /// Exit non-zero when a figure misses its target.
        #[arg(long)]
        check_targets: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a bench report, writes it to `out` when given, and fails the exit status for missed
/// targets when asked to.
fn report_out(markdown: &str, out: Option<PathBuf>, missed: &[String], check_targets: bool) -> anyhow::Result<ExitCode> {
    println!("{markdown}");
    if let Some(path) = out {
        std::fs::write(&path, markdown).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if check_targets && !missed.is_empty() {
        eprintln!("missed targets: {}", missed.join("; "));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Bench {
            which: BenchCommand::Gateway { requests, duration_secs, quick, out, no_build, check_targets, postgres_url, no_pin },
        } => {
            let mut options = GatewayOptions::new(quick, requests, duration_secs, !no_build);
            options.postgres_url = postgres_url.filter(|u| !u.is_empty());
            options.pin = !no_pin;
            let report = bench::gateway(&options)?;
            report_out(&report.markdown(), out, &report.missed_targets(), check_targets)
        }
        Command::Bench {
            which: BenchCommand::Rag { chunks, quick, ivf_probe_fraction, providers, postgres_url, milvus_uri, out, no_build, check_targets },
        } => {
            let mut options = RagOptions::new(quick, chunks, !no_build);
            options.probe_fraction = ivf_probe_fraction;
            options.providers = providers;
            options.sources = bench::Sources { postgres_url: postgres_url.filter(|u| !u.is_empty()), milvus_uri: milvus_uri.filter(|u| !u.is_empty()) };
            let report = bench::rag(&options)?;
            report_out(&report.markdown(), out, &report.missed_targets(), check_targets)
        }
        Command::Bench { which: BenchCommand::Batches { requests, concurrency, quick, out, no_build, check_targets } } => {
            let options = bench::BatchesOptions::new(quick, requests, concurrency, !no_build);
            let report = bench::batches(&options)?;
            report_out(&report.markdown(), out, &report.missed_targets(), check_targets)
        }
        Command::Bench { which: BenchCommand::Llm { model, threads, max_tokens, quick, out, no_build, check_targets } } => {
            let options = bench::LlmOptions::new(quick, model, threads, max_tokens, !no_build);
            let report = bench::llm(&options)?;
            report_out(&report.markdown(), out, &report.missed_targets(), check_targets)
        }
        Command::Bench { which: BenchCommand::Embeddings { sentences, batch_size, threads, quick, out, no_build } } => {
            let options = xtask::embeddings_bench::EmbeddingsOptions::new(quick, sentences, batch_size, threads, !no_build);
            let markdown = xtask::embeddings_bench::embeddings(&options)?.markdown();
            println!("{markdown}");
            if let Some(path) = out {
                std::fs::write(&path, &markdown).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Codegen { check } => {
            let path = codegen::openapi_path();
            match codegen::openapi(check)? {
                Outcome::Unchanged => println!("{} is up to date", path.display()),
                Outcome::Written => println!("wrote {}", path.display()),
                Outcome::Stale => {
                    println!("{} is stale: run `cargo xtask codegen`", path.display());
                    return Ok(ExitCode::FAILURE);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tidy => {
            let workspace = xtask::tidy::Workspace::load()?;
            let mut failed = 0;
            for rule in xtask::tidy::RULES {
                match (rule.check)(&workspace) {
                    Ok(violations) if violations.is_empty() => println!("ok    {}", rule.name),
                    Ok(violations) => {
                        failed += 1;
                        println!("FAIL  {}", rule.name);
                        for v in violations {
                            println!("      {v}");
                        }
                    }
                    Err(skip) => println!("skip  {}: {skip}", rule.name),
                }
            }
            Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}
