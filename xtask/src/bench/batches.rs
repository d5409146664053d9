//! `cargo xtask bench batches`: the Batches API's throughput. The same chat request, `requests`
//! times, first sent directly through `POST /v1/chat/completions` by `concurrency` workers,
//! then as one batch (a JSONL file of `requests` lines through the files API, created, polled
//! until completed) whose provider runs `concurrency` requests at a time; both against the
//! in-repo mock backend's `fixed-llm` (answers built once), on a release server with SQLite
//! state. The figure is the batch's throughput over the direct one (target >= 0.9), each run
//! twice, the better run of each kept.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use hyper::header::HeaderValue;
use serde_json::{Value, json};

use super::load::{self, HttpClient, Run};
use super::procs;

/// The batch's throughput must be at least this share of the direct requests'.
pub const RATIO_TARGET: f64 = 0.9;

/// How big the runs are.
#[derive(Debug, Clone)]
pub struct BatchesOptions {
    pub requests: usize,
    /// Requests in flight at once, directly and in the batch (`max_concurrent_requests_per_batch`).
    pub concurrency: usize,
    pub build: bool,
}

impl BatchesOptions {
    pub fn new(quick: bool, requests: Option<usize>, concurrency: Option<usize>, build: bool) -> Self {
        BatchesOptions {
            requests: requests.unwrap_or(if quick { 1000 } else { 10_000 }).max(1),
            concurrency: concurrency.unwrap_or(10).max(1),
            build,
        }
    }
}

/// One way of sending the requests, measured.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub seconds: f64,
    pub requests_per_sec: f64,
    /// The server's CPU time per request.
    pub server_cpu_us: f64,
}

/// What the bench found.
#[derive(Debug, Clone)]
pub struct BatchesReport {
    pub options: BatchesOptions,
    pub direct: Measured,
    pub batch: Measured,
    /// The batch's time from created to `in_progress` (reading and checking its input).
    pub validation_seconds: f64,
    /// Its time in `finalizing` (writing the output file).
    pub finalizing_seconds: f64,
    pub output_bytes: u64,
    pub load_average: String,
}

impl BatchesReport {
    pub fn ratio(&self) -> f64 {
        self.batch.requests_per_sec / self.direct.requests_per_sec
    }

    pub fn missed_targets(&self) -> Vec<String> {
        if self.ratio() >= RATIO_TARGET {
            Vec::new()
        } else {
            vec![format!("batch throughput {:.2} of direct, target >= {RATIO_TARGET}", self.ratio())]
        }
    }

    pub fn markdown(&self) -> String {
        let o = &self.options;
        let verdict = if self.ratio() >= RATIO_TARGET { "pass" } else { "**MISS**" };
        format!(
            "### Batches: {n} chat requests through one batch vs directly (concurrency {c})\n\n\
             | figure | direct `POST /v1/chat/completions` | one batch (`inline::reference`) |\n\
             |---|---|---|\n\
             | wall time | {ds:.2} s | {bs:.2} s (created → completed, polled every 20 ms) |\n\
             | throughput | {dr:.0} req/s | {br:.0} req/s (×{ratio:.2}; >= {RATIO_TARGET}: {verdict}) |\n\
             | server CPU per request | {dc:.0} µs | {bc:.0} µs |\n\
             | of which input check / output file | - | {v:.2} s / {f:.2} s ({out:.1} MB of results) |\n\n\
             Mock backend `fixed-llm`, release server, SQLite state; load average (1 min) {load}.\n",
            n = o.requests,
            c = o.concurrency,
            ds = self.direct.seconds,
            bs = self.batch.seconds,
            dr = self.direct.requests_per_sec,
            br = self.batch.requests_per_sec,
            ratio = self.ratio(),
            dc = self.direct.server_cpu_us,
            bc = self.batch.server_cpu_us,
            v = self.validation_seconds,
            f = self.finalizing_seconds,
            out = self.output_bytes as f64 / 1e6,
            load = self.load_average,
        )
    }
}

fn run_yaml(mock_port: u16, state: &Path, concurrency: usize) -> String {
    let storage = procs::sqlite_storage_yaml(state);
    let dir = state.display();
    format!(
        r#"# Written by `cargo xtask bench batches`.
version: 2
image_name: xtask-bench-batches
apis: [batches, files, inference]
providers:
  inference:
  - provider_id: mock
    provider_type: remote::openai
    config:
      base_url: http://127.0.0.1:{mock_port}/v1
      api_key: mock-key
  files:
  - provider_id: localfs
    provider_type: inline::localfs
    config:
      storage_dir: {dir}/files
      metadata_store:
        table_name: files_metadata
        backend: sql_default
  batches:
  - provider_id: reference
    provider_type: inline::reference
    config:
      kvstore:
        namespace: batches
        backend: kv_default
      max_concurrent_requests_per_batch: {concurrency}
{storage}server:
  host: 127.0.0.1
  port: 8321
"#
    )
}

/// Runs the bench.
pub fn batches(options: &BatchesOptions) -> anyhow::Result<BatchesReport> {
    let binaries = procs::binaries(options.build)?;
    let state = tempfile::Builder::new().prefix("lls-bench-batches-").tempdir().context("creating the state dir")?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async {
        tokio::select! {
            result = measure(&binaries, state.path(), options) => result,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        }
    })
}

const BODY: &str = r#"{"model": "mock/fixed-llm", "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 16}"#;

async fn measure(binaries: &procs::Binaries, state: &Path, options: &BatchesOptions) -> anyhow::Result<BatchesReport> {
    let client = HttpClient::new();
    let mock_port = procs::free_port()?;
    let mock_args = ["--host", "127.0.0.1", "--port", &mock_port.to_string(), "--models", "mock-llm,fixed-llm"].map(str::to_owned);
    let mut mock = procs::Guard::spawn("mock backend", &binaries.mock, &mock_args, state.join("mock.log"), None)?;
    mock.wait_ready(&client, &format!("http://127.0.0.1:{mock_port}/v1/models"), "fixed-llm", Instant::now()).await?;

    let config = state.join("run.yaml");
    std::fs::write(&config, run_yaml(mock_port, state, options.concurrency)).context("writing run.yaml")?;
    let port = procs::free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let args = ["run", &config.display().to_string(), "--port", &port.to_string(), "--host", "127.0.0.1"].map(str::to_owned);
    let mut server = procs::Guard::spawn("llama-stack server", &binaries.server, &args, state.join("server.log"), None)?;
    server.wait_ready(&client, &format!("{base}/v1/health"), "OK", Instant::now()).await?;
    server.wait_ready(&client, &format!("{base}/v1/models"), "mock/fixed-llm", Instant::now()).await?;
    let http = reqwest::Client::new();
    let file_id = upload(&http, &base, options.requests).await?;

    let mut direct: Option<Measured> = None;
    let mut batch: Option<(Measured, f64, f64, u64)> = None;
    for round in 0..2 {
        let d = send_directly(&client, &base, options, server.pid()).await?;
        eprintln!("round {round}: direct {:.0} req/s", d.requests_per_sec);
        if direct.is_none_or(|best| d.requests_per_sec > best.requests_per_sec) {
            direct = Some(d);
        }
        let b = run_batch(&http, &base, &file_id, options, server.pid()).await?;
        eprintln!("round {round}: batch {:.0} req/s", b.0.requests_per_sec);
        if batch.is_none_or(|best| b.0.requests_per_sec > best.0.requests_per_sec) {
            batch = Some(b);
        }
        server.ensure_running()?;
    }
    let (direct, (batch, validation_seconds, finalizing_seconds, output_bytes)) =
        (direct.context("no direct run")?, batch.context("no batch run")?);
    let load_average = std::fs::read_to_string("/proc/loadavg").map_or("?".into(), |l| l.split_whitespace().next().unwrap_or("?").to_owned());
    Ok(BatchesReport { options: options.clone(), direct, batch, validation_seconds, finalizing_seconds, output_bytes, load_average })
}

/// The input file: `requests` lines of the same chat request.
async fn upload(http: &reqwest::Client, base: &str, requests: usize) -> anyhow::Result<String> {
    let mut jsonl = String::with_capacity(requests * 160);
    for i in 0..requests {
        jsonl.push_str(&format!(r#"{{"custom_id": "r{i}", "method": "POST", "url": "/v1/chat/completions", "body": {BODY}}}"#));
        jsonl.push('\n');
    }
    let boundary = "lls-bench-batches-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"input.jsonl\"\r\n\
         Content-Type: application/jsonl\r\n\r\n{jsonl}\r\n--{boundary}--\r\n"
    );
    let response = http
        .post(format!("{base}/v1/files"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .context("uploading the input file")?;
    let status = response.status();
    let value: Value = response.json().await.context("reading the upload's answer")?;
    if !status.is_success() {
        bail!("uploading the input file answered {status}: {value}");
    }
    value["id"].as_str().map(str::to_owned).context("the upload's answer has no id")
}

async fn send_directly(client: &HttpClient, base: &str, options: &BatchesOptions, server: u32) -> anyhow::Result<Measured> {
    let run = Run {
        url: format!("{base}/v1/chat/completions"),
        body: Bytes::from_static(BODY.as_bytes()),
        concurrency: options.concurrency,
        warmup: (options.requests / 10).max(2 * options.concurrency),
        requests: options.requests,
        time_cap: Duration::from_secs(600),
        authorization: HeaderValue::from_static("Bearer unused"),
        expect: b"choices",
        watch: vec![server],
    };
    let stats = load::run(client, &run).await?;
    if stats.errors > 0 {
        bail!("{} of the direct requests failed", stats.errors);
    }
    Ok(Measured {
        seconds: stats.elapsed.as_secs_f64(),
        requests_per_sec: stats.requests_per_sec(),
        server_cpu_us: stats.cpu_us_per_request(0),
    })
}

/// One batch over the input: created, polled until it ends. Answers what it measured, its
/// validation and finalizing seconds and the size of its output file.
async fn run_batch(http: &reqwest::Client, base: &str, file_id: &str, options: &BatchesOptions, server: u32) -> anyhow::Result<(Measured, f64, f64, u64)> {
    let cpu_before = procs::cpu_time(server)?;
    let started = Instant::now();
    let created: Value = http
        .post(format!("{base}/v1/batches"))
        .json(&json!({"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}))
        .send()
        .await
        .context("creating the batch")?
        .json()
        .await?;
    let id = created["id"].as_str().with_context(|| format!("creating the batch answered {created}"))?.to_owned();
    let (mut in_progress, mut finalizing) = (None, None);
    let done = loop {
        let batch: Value = http.get(format!("{base}/v1/batches/{id}")).send().await?.json().await?;
        match batch["status"].as_str() {
            Some("in_progress") if in_progress.is_none() => in_progress = Some(started.elapsed()),
            Some("finalizing") if finalizing.is_none() => finalizing = Some(started.elapsed()),
            Some("completed") => break batch,
            Some(s @ ("failed" | "cancelled" | "expired")) => bail!("the batch ended {s}: {batch}"),
            _ => {}
        }
        if started.elapsed() > Duration::from_secs(900) {
            bail!("the batch did not end within 15 minutes: {batch}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed();
    let cpu = procs::cpu_time(server)?.saturating_sub(cpu_before);
    let completed = done["request_counts"]["completed"].as_u64().unwrap_or(0);
    if completed != options.requests as u64 {
        bail!("the batch completed {completed} of {} requests: {done}", options.requests);
    }
    let output = done["output_file_id"].as_str().context("no output file")?;
    let file: Value = http.get(format!("{base}/v1/files/{output}")).send().await?.json().await?;
    let seconds = elapsed.as_secs_f64();
    let in_progress = in_progress.map_or(0.0, |d| d.as_secs_f64());
    let finalizing = finalizing.map_or(0.0, |d| seconds - d.as_secs_f64());
    Ok((
        Measured {
            seconds,
            requests_per_sec: options.requests as f64 / seconds,
            server_cpu_us: cpu.as_secs_f64() * 1e6 / options.requests as f64,
        },
        in_progress,
        finalizing,
        file["bytes"].as_u64().unwrap_or(0),
    ))
}
