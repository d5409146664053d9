//! The load generator: a pooled keep-alive HTTP/1.1 client (hyper), pre-serialised bodies,
//! `concurrency` workers sharing a request budget and a deadline, latencies to the last byte,
//! and the CPU time the watched processes (and the generator itself) spend meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type Body = http_body_util::Either<Full<Bytes>, Empty<Bytes>>;

/// One pooled client for the whole bench (connections are reused across requests).
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpConnector, Body>,
}

impl HttpClient {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let inner = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(1024).build(connector);
        HttpClient { inner }
    }

    /// `GET url`: status and whole body.
    pub async fn get(&self, url: &str) -> anyhow::Result<(u16, Bytes)> {
        let request = Request::get(url).body(Body::Right(Empty::new())).context("building a GET")?;
        self.send(request).await
    }

    /// `POST url` with a JSON body and `authorization` (a header value, `Bearer …`): status
    /// and whole body (to the last byte of a stream).
    pub async fn post_json(&self, url: &str, body: Bytes, authorization: &HeaderValue) -> anyhow::Result<(u16, Bytes)> {
        let request = Request::post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, authorization.clone())
            .body(Body::Left(Full::new(body)))
            .context("building a POST")?;
        self.send(request).await
    }

    async fn send(&self, request: Request<Body>) -> anyhow::Result<(u16, Bytes)> {
        let response = self.inner.request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

/// One run: the same request sent `requests` times by `concurrency` workers.
#[derive(Debug, Clone)]
pub struct Run {
    pub url: String,
    pub body: Bytes,
    pub concurrency: usize,
    /// Requests sent (at the same concurrency) before measuring, not counted.
    pub warmup: usize,
    pub requests: usize,
    /// Workers stop taking new requests after this long.
    pub time_cap: Duration,
    /// The `Authorization` header every request carries: the mock's key, or a JWT when the
    /// server authenticates.
    pub authorization: HeaderValue,
    /// A successful answer contains this (checked on every answer; cheap next to the request).
    pub expect: &'static [u8],
    /// Processes whose CPU time is read before and after the measured requests.
    pub watch: Vec<u32>,
}

/// What a run measured. Latencies are sorted ascending.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub completed: usize,
    pub errors: usize,
    pub elapsed: Duration,
    latencies: Vec<Duration>,
    /// CPU time each process of [`Run::watch`] used during the measured requests, in that order.
    pub cpu: Vec<Duration>,
    /// CPU time the load generator (this process) used during the measured requests.
    pub own_cpu: Duration,
}

impl Stats {
    pub fn requests_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.completed as f64 / secs } else { 0.0 }
    }

    /// Nearest-rank percentile `q` in 0..=1, in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = (q * self.latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len()) - 1;
        self.latencies[index].as_secs_f64() * 1000.0
    }

    /// CPU microseconds per completed request of watched process `i` (NaN when not measured).
    pub fn cpu_us_per_request(&self, i: usize) -> f64 {
        match self.cpu.get(i) {
            Some(cpu) if self.completed > 0 => cpu.as_secs_f64() * 1e6 / self.completed as f64,
            _ => f64::NAN,
        }
    }

    /// The load generator's CPU microseconds per completed request.
    pub fn own_cpu_us_per_request(&self) -> f64 {
        if self.completed > 0 { self.own_cpu.as_secs_f64() * 1e6 / self.completed as f64 } else { f64::NAN }
    }

    /// Whether the run was stopped by its time cap before spending its budget.
    pub fn capped(&self, budget: usize) -> bool {
        self.completed + self.errors < budget
    }
}

/// Runs the warm-up, then the measured requests.
pub async fn run(client: &HttpClient, run: &Run) -> anyhow::Result<Stats> {
    // The first answer is checked in full so a wrong model or route fails loudly, not as a
    // column of errors.
    let (status, body) = client.post_json(&run.url, run.body.clone(), &run.authorization).await.with_context(|| format!("POST {}", run.url))?;
    if status != 200 || !contains(&body, run.expect) {
        let expected = String::from_utf8_lossy(run.expect);
        bail!("POST {} answered {status} without {expected}: {}", run.url, String::from_utf8_lossy(&body[..body.len().min(2000)]));
    }
    if run.warmup > 0 {
        phase(client, run, run.warmup, run.time_cap).await;
    }
    let cpu_before = cpu_times(&run.watch)?;
    let own_before = super::procs::cpu_time(std::process::id())?;
    let mut stats = phase(client, run, run.requests, run.time_cap).await;
    let cpu_after = cpu_times(&run.watch)?;
    stats.own_cpu = super::procs::cpu_time(std::process::id())?.saturating_sub(own_before);
    stats.cpu = cpu_after.iter().zip(&cpu_before).map(|(a, b)| a.saturating_sub(*b)).collect();
    Ok(stats)
}

fn cpu_times(pids: &[u32]) -> anyhow::Result<Vec<Duration>> {
    pids.iter().map(|pid| super::procs::cpu_time(*pid)).collect()
}

async fn phase(client: &HttpClient, run: &Run, budget: usize, time_cap: Duration) -> Stats {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + time_cap;
    let concurrency = run.concurrency.max(1);
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (client, next, url, body, expect) = (client.clone(), next.clone(), run.url.clone(), run.body.clone(), run.expect);
        let authorization = run.authorization.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(budget / concurrency + 1);
            let mut errors = 0;
            while next.fetch_add(1, Ordering::Relaxed) < budget && Instant::now() < deadline {
                let sent = Instant::now();
                match client.post_json(&url, body.clone(), &authorization).await {
                    Ok((200, answer)) if contains(&answer, expect) => latencies.push(sent.elapsed()),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut stats = Stats::default();
    for worker in workers {
        match worker.await {
            Ok((latencies, errors)) => {
                stats.latencies.extend(latencies);
                stats.errors += errors;
            }
            Err(_) => stats.errors += 1,
        }
    }
    stats.elapsed = start.elapsed();
    stats.completed = stats.latencies.len();
    stats.latencies.sort_unstable();
    stats
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
