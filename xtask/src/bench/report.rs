//! The bench's figures, their targets, and the Markdown report.

use std::fmt::Write as _;
use std::time::Duration;

use super::load::Stats;
use super::procs::Memory;

/// Startup to the first healthy `/v1/health`, at most.
pub const STARTUP_TARGET_MS: f64 = 200.0;
/// Idle resident set size after startup, at most.
pub const IDLE_RSS_TARGET_MIB: f64 = 30.0;
/// Server throughput over direct throughput, at least.
pub const THROUGHPUT_RATIO_TARGET: f64 = 0.8;

/// Added p99 latency allowed at `concurrency`, in ms.
pub fn added_p99_target_ms(concurrency: usize) -> f64 {
    if concurrency <= 1 { 0.3 } else { 1.0 }
}

/// One workload at one concurrency, direct and through the server.
#[derive(Debug, Clone)]
pub struct Row {
    pub workload: &'static str,
    pub concurrency: usize,
    pub direct: Stats,
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

    /// A one-line summary for progress output.
    pub fn progress_line(&self) -> String {
        format!(
            "{} c={}: direct {:.0} req/s p50 {:.3} ms p99 {:.3} ms | server {:.0} req/s p50 {:.3} ms p99 {:.3} ms",
            self.workload,
            self.concurrency,
            self.direct.requests_per_sec(),
            self.direct.percentile_ms(0.5),
            self.direct.percentile_ms(0.99),
            self.server.requests_per_sec(),
            self.server.percentile_ms(0.5),
            self.server.percentile_ms(0.99),
        )
    }
}

/// Everything `bench gateway` measured.
#[derive(Debug, Clone)]
pub struct GatewayReport {
    pub requests: usize,
    pub time_cap: Duration,
    pub quick: bool,
    pub startup: Duration,
    pub idle: Memory,
    pub after_load: Memory,
    pub rows: Vec<Row>,
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
    fn startup_ms(&self) -> f64 {
        self.startup.as_secs_f64() * 1000.0
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
            let target = added_p99_target_ms(row.concurrency);
            if !at_most(row.added_p99_ms(), target) {
                missed.push(format!("{} c={}: added p99 {:.3} ms > {target} ms", row.workload, row.concurrency, row.added_p99_ms()));
            }
            if !at_least(row.throughput_ratio(), THROUGHPUT_RATIO_TARGET) {
                missed.push(format!(
                    "{} c={}: throughput ratio {:.2} < {THROUGHPUT_RATIO_TARGET}",
                    row.workload,
                    row.concurrency,
                    row.throughput_ratio()
                ));
            }
            if row.direct.errors + row.server.errors > 0 {
                missed.push(format!(
                    "{} c={}: {} direct / {} server errors",
                    row.workload, row.concurrency, row.direct.errors, row.server.errors
                ));
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
            "| workload | c | direct req/s | server req/s | ratio (>= {THROUGHPUT_RATIO_TARGET}) | direct p50 / p99 ms | server p50 / p99 ms | added p50 ms | added p99 ms (target) | n direct / server | errors |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for row in &self.rows {
            let (d, s) = (&row.direct, &row.server);
            let ratio = row.throughput_ratio();
            let target = added_p99_target_ms(row.concurrency);
            let added_p99 = row.added_p99_ms();
            let capped = if d.capped(self.requests) || s.capped(self.requests) { " (time cap)" } else { "" };
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} | {:.0} | {ratio:.2} {} | {:.3} / {:.3} | {:.3} / {:.3} | {:+.3} | {added_p99:+.3} (<= {target}) {} | {} / {}{capped} | {} / {} |",
                row.workload,
                row.concurrency,
                d.requests_per_sec(),
                s.requests_per_sec(),
                verdict(at_least(ratio, THROUGHPUT_RATIO_TARGET)),
                d.percentile_ms(0.5),
                d.percentile_ms(0.99),
                s.percentile_ms(0.5),
                s.percentile_ms(0.99),
                row.added_p50_ms(),
                verdict(at_most(added_p99, target)),
                d.completed,
                s.completed,
                d.errors,
                s.errors,
            );
        }
        let missed = self.missed_targets();
        let _ = writeln!(md);
        if missed.is_empty() {
            let _ = writeln!(md, "All targets met.");
        } else {
            let _ = writeln!(md, "Missed: {}.", missed.join("; "));
        }
        md
    }

    fn setup_line(&self) -> String {
        let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        format!(
            "`cargo xtask bench gateway{}`: {cores} cores ({cpu}); release builds; loopback; {} measured requests per run \
             (warm-up not counted), at most {} s per run; client: one-thread tokio + pooled keep-alive hyper HTTP/1.1, \
             pre-serialised bodies; latency is to the last byte (streams included). Added = server minus direct. \
             The client, the server and the mock share these cores: when they saturate them (c=64), the ratio \
             compares CPU per request (server + mock vs mock alone) as much as latency.",
            if self.quick { " --quick" } else { "" },
            self.requests,
            self.time_cap.as_secs(),
        )
    }
}
