//! `cargo xtask bench gateway`: what the server adds on top of its backend. It starts the mock
//! OpenAI backend and the server (release builds, loopback, temp state; the server alone on one
//! CPU), measures startup and idle RSS, then runs each workload at concurrency 1 and 64 against
//! the mock directly and through the server — once per inference store (none, SQLite,
//! PostgreSQL) — and reports throughput, p50/p99, CPU time per request of each process, and
//! the differences against targets.

mod batches;
mod llm;
mod load;
mod procs;
mod rag;
mod rag_corpus;
mod rag_providers;
mod rag_report;
mod report;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use bytes::Bytes;
use hyper::header::HeaderValue;
use lls_testkit::issuers::{JwksIssuer, SigningKey, now_secs};
use serde_json::json;

pub use batches::{BatchesOptions, BatchesReport, batches};
pub use llm::{LlmOptions, LlmReport, llm};
pub use load::{HttpClient, Stats};
pub use procs::Memory;
pub use rag::{RagOptions, rag};
pub use rag_providers::{Provider, Sources};
pub use rag_report::RagReport;
pub use report::{GatewayReport, Row, StoreKind};

/// Concurrency levels every workload runs at.
pub const CONCURRENCY: [usize; 2] = [1, 64];

/// How big and how long the runs are, and where the processes run.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Measured requests per run.
    pub requests: usize,
    /// Time cap per run (warm-up and measurement each).
    pub time_cap: Duration,
    /// Build the release binaries first.
    pub build: bool,
    pub quick: bool,
    /// A `postgres://` URL for the rows with the PostgreSQL inference store (skipped without).
    pub postgres_url: Option<String>,
    /// Pin the server to one CPU and the mock and the load generator to others.
    pub pin: bool,
}

impl GatewayOptions {
    /// Defaults make each measured window hold seconds of server CPU (the kernel counts CPU
    /// time in 10 ms ticks); `quick` is a smoke test.
    pub fn new(quick: bool, requests: Option<usize>, duration_secs: Option<u64>, build: bool) -> Self {
        let (default_requests, default_secs) = if quick { (2000, 5) } else { (20_000, 15) };
        GatewayOptions {
            requests: requests.unwrap_or(default_requests).max(1),
            time_cap: Duration::from_secs(duration_secs.unwrap_or(default_secs).max(1)),
            build,
            quick,
            postgres_url: None,
            pin: true,
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

/// The mock answers `fixed-*` models from bytes built once, so the mock is not what is measured.
const CHAT: Workload = Workload {
    name: "chat",
    path: "/v1/chat/completions",
    direct_model: "fixed-llm",
    server_model: "mock/fixed-llm",
    stream: false,
    expect: b"\"choices\"",
};
const CHAT_STREAM: Workload = Workload {
    name: "chat stream",
    path: "/v1/chat/completions",
    direct_model: "fixed-llm",
    server_model: "mock/fixed-llm",
    stream: true,
    expect: b"\"finish_reason\":\"stop\"",
};
const EMBEDDINGS: Workload = Workload {
    name: "embeddings",
    path: "/v1/embeddings",
    direct_model: "fixed-embed",
    server_model: "mock/fixed-embed",
    stream: false,
    expect: b"\"embedding\"",
};

/// The server configurations, each with the workloads it runs.
const PLAN: [(StoreKind, &[&Workload]); 4] = [
    (StoreKind::None, &[&CHAT, &CHAT_STREAM, &EMBEDDINGS]),
    (StoreKind::Auth, &[&CHAT]),
    (StoreKind::Sqlite, &[&CHAT, &CHAT_STREAM]),
    (StoreKind::Postgres, &[&CHAT]),
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

/// Which CPUs the processes run on: `None` everywhere when not pinned.
#[derive(Debug, Clone, Copy, Default)]
pub struct Placement {
    pub server: Option<usize>,
    pub mock: Option<usize>,
    pub loadgen: Option<usize>,
}

impl Placement {
    /// The server alone on the first allowed CPU; the mock on the second; the load generator on
    /// the third, or beside the mock when there are only two.
    fn new(pin: bool) -> Self {
        let cpus = procs::allowed_cpus();
        if !pin || cpus.len() < 2 {
            return Placement::default();
        }
        Placement { server: Some(cpus[0]), mock: Some(cpus[1]), loadgen: Some(*cpus.get(2).unwrap_or(&cpus[1])) }
    }
}

/// Runs the whole bench; the processes are killed on every way out, Ctrl-C included.
pub fn gateway(options: &GatewayOptions) -> anyhow::Result<GatewayReport> {
    let binaries = procs::binaries(options.build)?;
    let state = tempfile::Builder::new().prefix("lls-bench-").tempdir().context("creating the state dir")?;
    let placement = Placement::new(options.pin);
    if let Some(cpu) = placement.loadgen {
        procs::pin_self(cpu)?;
    }
    // One thread for the load generator: the server and the mock get the other cores.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async {
        tokio::select! {
            result = measure(&binaries, state.path(), options, placement) => result,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        }
    })
}

async fn measure(binaries: &procs::Binaries, state: &Path, options: &GatewayOptions, placement: Placement) -> anyhow::Result<GatewayReport> {
    let client = HttpClient::new();

    let mock_port = procs::free_port()?;
    let mock_base = format!("http://127.0.0.1:{mock_port}");
    let mock_args = ["--host", "127.0.0.1", "--port", &mock_port.to_string(), "--models", "mock-llm,mock-embed,fixed-llm,fixed-embed"]
        .map(str::to_owned);
    let mut mock = procs::Guard::spawn("mock backend", &binaries.mock, &mock_args, state.join("mock.log"), placement.mock)?;
    mock.wait_ready(&client, &format!("{mock_base}/v1/models"), "fixed-llm", Instant::now()).await?;

    // The issuer of the authenticated rows' tokens: a JWKS served from here (fetched once by the
    // server, which then reuses each validated token until it expires).
    let key = SigningKey::rs256("bench").map_err(|e| anyhow!("making a signing key: {e}"))?;
    let issuer = JwksIssuer::start(&[&key]).await.context("starting the JWKS endpoint")?;
    let claims = json!({"sub": "bench", "iss": issuer.issuer(), "aud": "llama-stack", "exp": now_secs() + 24 * 3600});
    let jwt = HeaderValue::from_str(&format!("Bearer {}", key.sign(&claims))).context("a JWT header")?;
    let mock_key = HeaderValue::from_static("Bearer mock-key");

    let mut report = GatewayReport::new(options, placement);
    for (kind, workloads) in PLAN {
        let store = match kind {
            StoreKind::None | StoreKind::Auth => procs::InferenceStore::None,
            StoreKind::Sqlite => procs::InferenceStore::Sqlite,
            StoreKind::Postgres => match &options.postgres_url {
                Some(url) => procs::InferenceStore::Postgres(url.clone()),
                None => {
                    eprintln!("no PostgreSQL URL (--postgres-url or LLS_BENCH_POSTGRES_URL): skipping the PostgreSQL rows");
                    report.skipped.push(kind);
                    continue;
                }
            },
        };
        let dir = state.join(kind.label());
        std::fs::create_dir_all(&dir).context("creating a state dir")?;
        let config = dir.join("run.yaml");
        let auth = (kind == StoreKind::Auth).then(|| procs::Auth { jwks_uri: issuer.uri(), issuer: issuer.issuer() });
        std::fs::write(&config, procs::run_yaml(mock_port, &dir, &store, auth.as_ref())?).context("writing run.yaml")?;
        let server_authorization = if auth.is_some() { jwt.clone() } else { mock_key.clone() };
        let port = procs::free_port()?;
        let server_base = format!("http://127.0.0.1:{port}");
        let args = ["run", &config.display().to_string(), "--port", &port.to_string(), "--host", "127.0.0.1"].map(str::to_owned);
        let spawned = Instant::now();
        let mut server = procs::Guard::spawn("llama-stack server", &binaries.server, &args, dir.join("server.log"), placement.server)?;
        let startup = server.wait_ready(&client, &format!("{server_base}/v1/health"), "OK", spawned).await?;
        eprintln!("server ({}) healthy after {:.1} ms", kind.label(), startup.as_secs_f64() * 1000.0);
        if kind == StoreKind::None {
            // Let start-up work that runs after the first healthy answer (model listing) settle.
            tokio::time::sleep(Duration::from_millis(500)).await;
            report.startup = startup;
            report.idle = procs::memory(server.pid())?;
        }
        // (The probe sends no token; with authentication on, `mock/fixed-llm` is served by the
        // provider fallback until the listing registers it, which costs the same.)
        if auth.is_none() {
            server.wait_ready(&client, &format!("{server_base}/v1/models"), "mock/fixed-llm", Instant::now()).await?;
        }

        for workload in workloads {
            for concurrency in CONCURRENCY {
                let mut run = load::Run {
                    url: format!("{mock_base}{}", workload.path),
                    body: workload.body(workload.direct_model)?,
                    concurrency,
                    warmup: options.warmup(concurrency),
                    requests: options.requests,
                    time_cap: options.time_cap,
                    expect: workload.expect,
                    watch: vec![mock.pid()],
                    authorization: mock_key.clone(),
                };
                let direct = load::run(&client, &run).await.context("direct to the mock")?;
                run.url = format!("{server_base}{}", workload.path);
                run.body = workload.body(workload.server_model)?;
                run.watch = vec![server.pid(), mock.pid()];
                run.authorization = server_authorization.clone();
                let through = load::run(&client, &run).await.context("through the server")?;
                mock.ensure_running()?;
                server.ensure_running()?;
                let row = Row { workload: workload.name, store: kind, concurrency, direct, server: through };
                eprintln!("{}", row.progress_line());
                report.rows.push(row);
            }
        }
        if kind == StoreKind::None {
            report.after_load = procs::memory(server.pid())?;
        }
    }
    Ok(report)
}
