//! `cargo xtask bench gateway`: what the server adds on top of its backend. It starts the mock
//! OpenAI backend and the server (release builds, loopback, temp state), measures startup and
//! idle RSS, then runs each workload at concurrency 1 and 64 against the mock directly and
//! through the server, and reports throughput, p50/p99 and the differences against targets.

mod load;
mod procs;
mod rag;
mod rag_corpus;
mod rag_report;
mod report;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use bytes::Bytes;
use serde_json::json;

pub use load::{HttpClient, Stats};
pub use procs::Memory;
pub use rag::{RagOptions, rag};
pub use rag_report::RagReport;
pub use report::{GatewayReport, Row};

/// Concurrency levels every workload runs at.
pub const CONCURRENCY: [usize; 2] = [1, 64];

/// How big and how long the runs are.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Measured requests per run.
    pub requests: usize,
    /// Time cap per run (warm-up and measurement each).
    pub time_cap: Duration,
    /// Build the release binaries first.
    pub build: bool,
    pub quick: bool,
}

impl GatewayOptions {
    /// Defaults keep the 12 runs to a few minutes on 2 cores; `quick` to well under one.
    pub fn new(quick: bool, requests: Option<usize>, duration_secs: Option<u64>, build: bool) -> Self {
        let (default_requests, default_secs) = if quick { (300, 5) } else { (2000, 20) };
        GatewayOptions {
            requests: requests.unwrap_or(default_requests).max(1),
            time_cap: Duration::from_secs(duration_secs.unwrap_or(default_secs).max(1)),
            build,
            quick,
        }
    }

    /// Warm-up requests: a tenth of the run, and at least two per connection.
    fn warmup(&self, concurrency: usize) -> usize {
        (self.requests / 10).max(2 * concurrency)
    }
}

/// One kind of request, as sent to the mock and to the server.
struct Workload {
    name: &'static str,
    path: &'static str,
    direct_model: &'static str,
    server_model: &'static str,
    stream: bool,
    expect: &'static [u8],
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "chat",
        path: "/v1/chat/completions",
        direct_model: "mock-llm",
        server_model: "mock/mock-llm",
        stream: false,
        expect: b"\"choices\"",
    },
    Workload {
        name: "chat stream (to last byte)",
        path: "/v1/chat/completions",
        direct_model: "mock-llm",
        server_model: "mock/mock-llm",
        stream: true,
        expect: b"\"finish_reason\":\"stop\"",
    },
    Workload {
        name: "embeddings",
        path: "/v1/embeddings",
        direct_model: "mock-embed",
        server_model: "mock/mock-embed",
        stream: false,
        expect: b"\"embedding\"",
    },
];

impl Workload {
    fn body(&self, model: &str) -> anyhow::Result<Bytes> {
        let value = if self.path == "/v1/embeddings" {
            json!({"model": model, "input": "The quick brown fox jumps over the lazy dog."})
        } else {
            json!({
                "model": model,
                "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
                "max_tokens": 32,
                "stream": self.stream,
            })
        };
        Ok(Bytes::from(serde_json::to_vec(&value).context("serialising a request body")?))
    }
}

/// Runs the whole bench; the two processes are killed on every way out, Ctrl-C included.
pub fn gateway(options: &GatewayOptions) -> anyhow::Result<GatewayReport> {
    let binaries = procs::binaries(options.build)?;
    let state = tempfile::Builder::new().prefix("lls-bench-").tempdir().context("creating the state dir")?;
    // One thread for the load generator: the server and the mock get the other cores.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async {
        tokio::select! {
            result = measure(&binaries, state.path(), options) => result,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        }
    })
}

async fn measure(binaries: &procs::Binaries, state: &Path, options: &GatewayOptions) -> anyhow::Result<GatewayReport> {
    let client = HttpClient::new();

    let mock_port = procs::free_port()?;
    let mock_base = format!("http://127.0.0.1:{mock_port}");
    let mut mock = procs::Guard::spawn(
        "mock backend",
        &binaries.mock,
        &["--host".to_owned(), "127.0.0.1".to_owned(), "--port".to_owned(), mock_port.to_string()],
        state.join("mock.log"),
    )?;
    mock.wait_ready(&client, &format!("{mock_base}/v1/models"), "mock-llm", Instant::now()).await?;

    let config = state.join("run.yaml");
    std::fs::write(&config, procs::run_yaml(mock_port, state)).context("writing run.yaml")?;
    let port = procs::free_port()?;
    let server_base = format!("http://127.0.0.1:{port}");
    let args = [
        "run".to_owned(),
        config.display().to_string(),
        "--port".to_owned(),
        port.to_string(),
        "--host".to_owned(),
        "127.0.0.1".to_owned(),
    ];
    let spawned = Instant::now();
    let mut server = procs::Guard::spawn("llama-stack server", &binaries.server, &args, state.join("server.log"))?;
    let startup = server.wait_ready(&client, &format!("{server_base}/v1/health"), "OK", spawned).await?;
    eprintln!("server healthy after {:.1} ms", startup.as_secs_f64() * 1000.0);

    // Let start-up work that runs after the first healthy answer (model listing) settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = procs::memory(server.pid())?;
    server.wait_ready(&client, &format!("{server_base}/v1/models"), "mock/mock-llm", Instant::now()).await?;

    let mut rows = Vec::new();
    for workload in &WORKLOADS {
        for concurrency in CONCURRENCY {
            let mut run = load::Run {
                url: format!("{mock_base}{}", workload.path),
                body: workload.body(workload.direct_model)?,
                concurrency,
                warmup: options.warmup(concurrency),
                requests: options.requests,
                time_cap: options.time_cap,
                expect: workload.expect,
            };
            let direct = load::run(&client, &run).await.context("direct to the mock")?;
            run.url = format!("{server_base}{}", workload.path);
            run.body = workload.body(workload.server_model)?;
            let through = load::run(&client, &run).await.context("through the server")?;
            mock.ensure_running()?;
            server.ensure_running()?;
            let row = Row { workload: workload.name, concurrency, direct, server: through };
            eprintln!("{}", row.progress_line());
            rows.push(row);
        }
    }
    let after_load = procs::memory(server.pid())?;
    Ok(GatewayReport { requests: options.requests, time_cap: options.time_cap, quick: options.quick, startup, idle, after_load, rows })
}
