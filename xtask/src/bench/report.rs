//! The bench's figures, their targets, and the Markdown report.

use std::fmt::Write as _;
use std::time::Duration;

use super::load::Stats;
use super::procs::Memory;
use super::{GatewayOptions, Placement};

/// Startup to the first healthy `/v1/health`, at most.
pub const STARTUP_TARGET_MS: f64 = 200.0;
/// Idle resident set size after startup, at most.
pub const IDLE_RSS_TARGET_MIB: f64 = 30.0;
/// Server throughput over direct throughput, at least.
pub const THROUGHPUT_RATIO_TARGET: f64 = 0.8;
/// The concurrency the CPU-per-request targets are set at.
pub const CPU_TARGET_CONCURRENCY: usize = 64;
/// A streamed chat may cost at most this many times a whole one (same store, same concurrency).
pub const STREAM_CPU_FACTOR: f64 = 2.0;

/// Added p99 latency allowed at `concurrency`, in ms.
pub fn added_p99_target_ms(concurrency: usize) -> f64 {
    if concurrency <= 1 { 0.3 } else { 1.0 }
}

/// Where the server under test stores chat completions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    None,
    Sqlite,
    Postgres,
    /// No store, `server.auth` on: `oauth2_token` over a JWKS, every request with a bearer JWT
    /// (the default access policy).
    Auth,
}

impl StoreKind {
    pub fn label(self) -> &'static str {
        match self {
            StoreKind::None => "none",
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
            StoreKind::Auth => "none, auth",
        }
    }

    /// Server CPU µs per non-streaming chat request, at most.
    pub fn chat_cpu_target_us(self) -> f64 {
        match self {
            StoreKind::None => 60.0,
            StoreKind::Sqlite => 80.0,
            StoreKind::Postgres => 100.0,
            // Authentication must cost little: a validated token is reused until it expires.
            StoreKind::Auth => 70.0,
        }
    }
}

/// One workload at one concurrency, direct and through the server.
#[derive(Debug, Clone)]
pub struct Row {
    pub workload: &'static str,
    pub store: StoreKind,
    pub concurrency: usize,
    /// Watches the mock.
    pub direct: Stats,
    /// Watches the server, then the mock.
    pub server: Stats,
}

impl Row {
    pub fn added_p50_ms(&self) -> f64 {
        self.server.percentile_ms(0.50) - self.direct.percentile_ms(0.50)
    }

    pub fn added_p99_ms(&self) -> f64 {
        self.server.percentile_ms(0.99) - self.direct.percentile_ms(0.99)
    }

    pub fn throughput_ratio(&self) -> f64 {
        let direct = self.direct.requests_per_sec();
        if direct > 0.0 { self.server.requests_per_sec() / direct } else { f64::NAN }
    }

    /// The server's CPU µs per request.
    pub fn server_cpu_us(&self) -> f64 {
        self.server.cpu_us_per_request(0)
    }

    /// A one-line summary for progress output.
    pub fn progress_line(&self) -> String {
        format!(
            "{} [store {}] c={}: direct {:.0} req/s p50 {:.3} ms p99 {:.3} ms | server {:.0} req/s p50 {:.3} ms p99 {:.3} ms | server CPU {:.1} us/req, mock {:.1} / {:.1}, loadgen {:.1} / {:.1}",
            self.workload,
            self.store.label(),
            self.concurrency,
            self.direct.requests_per_sec(),
            self.direct.percentile_ms(0.5),
            self.direct.percentile_ms(0.99),
            self.server.requests_per_sec(),
            self.server.percentile_ms(0.5),
            self.server.percentile_ms(0.99),
            self.server_cpu_us(),
            self.direct.cpu_us_per_request(0),
            self.server.cpu_us_per_request(1),
            self.direct.own_cpu_us_per_request(),
            self.server.own_cpu_us_per_request(),
        )
    }
}

/// Everything `bench gateway` measured.
#[derive(Debug, Clone)]
pub struct GatewayReport {
    pub requests: usize,
    pub time_cap: Duration,
    pub quick: bool,
    pub placement: Placement,
    pub startup: Duration,
    pub idle: Memory,
    pub after_load: Memory,
    pub rows: Vec<Row>,
    /// Server configurations that were not run (no PostgreSQL URL).
    pub skipped: Vec<StoreKind>,
}

/// `value <= max`; a missing figure (NaN) never meets a target.
fn at_most(value: f64, max: f64) -> bool {
    value <= max
}

/// `value >= min`; a missing figure (NaN) never meets a target.
fn at_least(value: f64, min: f64) -> bool {
    value >= min
}

fn verdict(ok: bool) -> &'static str {
    if ok { "pass" } else { "**MISS**" }
}

impl GatewayReport {
    pub fn new(options: &GatewayOptions, placement: Placement) -> Self {
        GatewayReport {
            requests: options.requests,
            time_cap: options.time_cap,
            quick: options.quick,
            placement,
            startup: Duration::ZERO,
            idle: Memory::default(),
            after_load: Memory::default(),
            rows: Vec::new(),
            skipped: Vec::new(),
        }
    }

    fn startup_ms(&self) -> f64 {
        self.startup.as_secs_f64() * 1000.0
    }

    /// The server CPU target of `row`, if it has one (at [`CPU_TARGET_CONCURRENCY`] only: one
    /// request at a time pays a wake-up per request): chat by store; a stream at most
    /// [`STREAM_CPU_FACTOR`] times the whole chat of the same store and concurrency.
    pub fn cpu_target_us(&self, row: &Row) -> Option<f64> {
        if row.concurrency != CPU_TARGET_CONCURRENCY {
            return None;
        }
        match row.workload {
            "chat" => Some(row.store.chat_cpu_target_us()),
            "chat stream" => self
                .rows
                .iter()
                .find(|r| r.workload == "chat" && r.store == row.store && r.concurrency == row.concurrency)
                .map(|chat| STREAM_CPU_FACTOR * chat.server_cpu_us()),
            _ => None,
        }
    }

    /// Each figure that misses its target, described.
    pub fn missed_targets(&self) -> Vec<String> {
        let mut missed = Vec::new();
        if self.startup_ms() > STARTUP_TARGET_MS {
            missed.push(format!("startup {:.1} ms > {STARTUP_TARGET_MS} ms", self.startup_ms()));
        }
        if self.idle.rss_mib > IDLE_RSS_TARGET_MIB {
            missed.push(format!("idle RSS {:.1} MiB > {IDLE_RSS_TARGET_MIB} MiB", self.idle.rss_mib));
        }
        for row in &self.rows {
            let name = format!("{} [store {}] c={}", row.workload, row.store.label(), row.concurrency);
            if let Some(target) = self.cpu_target_us(row)
                && !at_most(row.server_cpu_us(), target)
            {
                missed.push(format!("{name}: server CPU {:.1} us/request > {target:.1}", row.server_cpu_us()));
            }
            let target = added_p99_target_ms(row.concurrency);
            if !at_most(row.added_p99_ms(), target) {
                missed.push(format!("{name}: added p99 {:.3} ms > {target} ms", row.added_p99_ms()));
            }
            if !at_least(row.throughput_ratio(), THROUGHPUT_RATIO_TARGET) {
                missed.push(format!("{name}: throughput ratio {:.2} < {THROUGHPUT_RATIO_TARGET}", row.throughput_ratio()));
            }
            if row.direct.errors + row.server.errors > 0 {
                missed.push(format!("{name}: {} direct / {} server errors", row.direct.errors, row.server.errors));
            }
        }
        missed
    }

    /// The report as Markdown (what `--out` writes).
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "## Gateway overhead: llama-stack-rs in front of the mock backend vs the mock directly\n");
        let _ = writeln!(md, "{}\n", self.setup_line());
        let _ = writeln!(md, "| figure | measured | target | |");
        let _ = writeln!(md, "|---|---|---|---|");
        let startup = self.startup_ms();
        let _ = writeln!(
            md,
            "| startup (spawn to first healthy `/v1/health`) | {startup:.1} ms | <= {STARTUP_TARGET_MS:.0} ms | {} |",
            verdict(startup <= STARTUP_TARGET_MS)
        );
        let idle = self.idle.rss_mib;
        let _ = writeln!(
            md,
            "| idle RSS after startup (VmRSS) | {idle:.1} MiB | <= {IDLE_RSS_TARGET_MIB:.0} MiB | {} |",
            verdict(idle <= IDLE_RSS_TARGET_MIB)
        );
        let _ = writeln!(
            md,
            "| RSS after the load / peak (VmRSS / VmHWM) | {:.1} / {:.1} MiB | - | |",
            self.after_load.rss_mib, self.after_load.peak_mib
        );
        let _ = writeln!(md);
        let _ = writeln!(
            md,
            "| workload | store | c | server CPU µs/req (target) | mock CPU µs/req direct / via server | loadgen CPU µs/req direct / via server | direct req/s | server req/s | ratio (>= {THROUGHPUT_RATIO_TARGET}) | direct p50 / p99 ms | server p50 / p99 ms | added p50 / p99 ms (p99 target) | n direct / server | errors |"
        );
        let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for row in &self.rows {
            let _ = writeln!(md, "{}", self.markdown_row(row));
        }
        let missed = self.missed_targets();
        let _ = writeln!(md);
        for kind in &self.skipped {
            let _ = writeln!(md, "Not run: the rows with the {} store (no URL given).", kind.label());
        }
        if missed.is_empty() {
            let _ = writeln!(md, "All targets met.");
        } else {
            let _ = writeln!(md, "Missed: {}.", missed.join("; "));
        }
        md
    }

    fn markdown_row(&self, row: &Row) -> String {
        let (d, s) = (&row.direct, &row.server);
        let ratio = row.throughput_ratio();
        let p99_target = added_p99_target_ms(row.concurrency);
        let cpu = row.server_cpu_us();
        let cpu_cell = match self.cpu_target_us(row) {
            Some(target) => format!("{cpu:.1} (<= {target:.0}) {}", verdict(at_most(cpu, target))),
            None => format!("{cpu:.1}"),
        };
        let capped = if d.capped(self.requests) || s.capped(self.requests) { " (time cap)" } else { "" };
        format!(
            "| {} | {} | {} | {cpu_cell} | {:.1} / {:.1} | {:.1} / {:.1} | {:.0} | {:.0} | {ratio:.2} {} | {:.3} / {:.3} | {:.3} / {:.3} | {:+.3} / {:+.3} (<= {p99_target}) {} | {} / {}{capped} | {} / {} |",
            row.workload,
            row.store.label(),
            row.concurrency,
            d.cpu_us_per_request(0),
            s.cpu_us_per_request(1),
            d.own_cpu_us_per_request(),
            s.own_cpu_us_per_request(),
            d.requests_per_sec(),
            s.requests_per_sec(),
            verdict(at_least(ratio, THROUGHPUT_RATIO_TARGET)),
            d.percentile_ms(0.5),
            d.percentile_ms(0.99),
            s.percentile_ms(0.5),
            s.percentile_ms(0.99),
            row.added_p50_ms(),
            row.added_p99_ms(),
            verdict(at_most(row.added_p99_ms(), p99_target)),
            d.completed,
            s.completed,
            d.errors,
            s.errors,
        )
    }

    fn setup_line(&self) -> String {
        // The machine's, not this (pinned) process's.
        let cores = std::fs::read_to_string("/proc/cpuinfo").map_or(0, |info| info.lines().filter(|l| l.starts_with("processor")).count());
        let cpu = crate::host::cpu_model();
        let pinning = match (self.placement.server, self.placement.mock, self.placement.loadgen) {
            (Some(server), Some(mock), Some(loadgen)) => format!(
                "pinned with taskset: server on CPU {server} (so its tokio runtime has one worker), mock on CPU {mock}, load generator on CPU {loadgen}"
            ),
            _ => "not pinned (the three processes share every core)".to_owned(),
        };
        format!(
            "`cargo xtask bench gateway{}`: {cores} cores ({cpu}); release builds; loopback; {pinning}; \
             {} measured requests per run (warm-up not counted), at most {} s per run; backend: the in-repo mock's \
             fixed answers (`fixed-llm`, `fixed-embed`: bytes built once, OpenAI's full response shape, a 10-chunk stream); \
             client: one-thread tokio + pooled keep-alive hyper HTTP/1.1, pre-serialised bodies; latency is to the last \
             byte (streams included). CPU µs/req: user + system time from `/proc/PID/stat` over the measured requests \
             (10 ms ticks) divided by the requests. Added = server minus direct. The direct row of each line was \
             measured just before it, under the same conditions.",
            if self.quick { " --quick" } else { "" },
            self.requests,
            self.time_cap.as_secs(),
        )
    }
}
