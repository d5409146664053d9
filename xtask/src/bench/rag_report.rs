//! The RAG bench's figures per provider, their targets, and the Markdown report: one column per
//! provider, each figure also as a ratio to the baseline's (faiss's) in the same run.

use std::fmt::Write as _;
use std::time::Duration;

use super::rag::RagOptions;
use super::rag_providers::Provider;

/// Files to searchable with mock embeddings, chunks per second, at least.
pub const INGEST_TARGET_CHUNKS_PER_SEC: f64 = 5_000.0;
/// recall@10 against exact search, at least.
pub const RECALL_TARGET: f64 = 0.95;

/// What a provider's figures must meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Targets {
    pub ingest_chunks_per_sec: f64,
    /// Search p99 at concurrency 1, at most.
    pub search_p99_ms: f64,
    pub recall: f64,
}

/// The targets of `provider`; the others are measured against the baseline only.
pub fn targets(provider: Provider) -> Option<Targets> {
    let search_p99_ms = match provider {
        Provider::Faiss => 5.0,
        Provider::Pgvector => 10.0,
        Provider::SqliteVec | Provider::Milvus => return None,
    };
    Some(Targets { ingest_chunks_per_sec: INGEST_TARGET_CHUNKS_PER_SEC, search_p99_ms, recall: RECALL_TARGET })
}

/// Request latencies of one run, sorted, and its wall time.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    sorted: Vec<Duration>,
    elapsed: Duration,
}

impl Latencies {
    pub fn new(mut all: Vec<Duration>, elapsed: Duration) -> Self {
        all.sort_unstable();
        Latencies { sorted: all, elapsed }
    }

    /// Nearest-rank percentile `q` in 0..=1, in milliseconds (NaN when empty).
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.sorted.is_empty() {
            return f64::NAN;
        }
        let rank = (q * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1].as_secs_f64() * 1000.0
    }

    pub fn per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.sorted.len() as f64 / secs } else { f64::NAN }
    }

    pub fn count(&self) -> usize {
        self.sorted.len()
    }
}

/// One ingestion run: files uploaded, attached as one batch, completed.
#[derive(Debug, Clone)]
pub struct Ingestion {
    pub model: String,
    pub files: usize,
    pub bytes: usize,
    pub chunks: usize,
    pub upload: Duration,
    /// From the first upload to the batch's completion.
    pub total: Duration,
}

impl Ingestion {
    pub fn chunks_per_sec(&self) -> f64 {
        rate(self.chunks, self.total)
    }

    fn cell(&self) -> String {
        format!(
            "{:.0} chunks/s ({} chunks in {:.2} s; uploads {:.2} s)",
            self.chunks_per_sec(),
            self.chunks,
            self.total.as_secs_f64(),
            self.upload.as_secs_f64()
        )
    }
}

/// Everything measured on one provider.
#[derive(Debug, Clone)]
pub struct ProviderRun {
    pub provider: Provider,
    /// The index searched, in words.
    pub index: String,
    /// With the mock's embeddings.
    pub ingest: Option<Ingestion>,
    /// With the in-process model (the first provider only, when its weights are installed).
    pub ingest_real: Option<Ingestion>,
    /// Chunks inserted and the summed request time.
    pub insert: (usize, Duration),
    /// From the last insert until the index covered every chunk, where the provider indexes
    /// bulk writes later (pgvector).
    pub index_ready: Option<Duration>,
    /// recall@10 and the queries it is over.
    pub recall: (f64, usize),
    pub search_c1: Latencies,
    pub search_c4: Latencies,
    /// The server's, after the runs and after the restart (a remote provider's own server is
    /// not counted).
    pub rss_mib: f64,
    /// SIGTERM to exit, before the restart.
    pub stop: Duration,
    pub restart_first_search: Duration,
    pub restart_first_latency: Duration,
    pub restart_recall: (f64, usize),
    pub restart_rss_mib: f64,
    /// 1-minute load average when the provider's run started and ended.
    pub load: (String, String),
}

impl ProviderRun {
    pub fn new(provider: Provider) -> Self {
        ProviderRun {
            provider,
            index: String::new(),
            ingest: None,
            ingest_real: None,
            insert: (0, Duration::ZERO),
            index_ready: None,
            recall: (f64::NAN, 0),
            search_c1: Latencies::default(),
            search_c4: Latencies::default(),
            rss_mib: f64::NAN,
            stop: Duration::ZERO,
            restart_first_search: Duration::ZERO,
            restart_first_latency: Duration::ZERO,
            restart_recall: (f64::NAN, 0),
            restart_rss_mib: f64::NAN,
            load: ("?".into(), "?".into()),
        }
    }

    fn ingest_rate(&self) -> f64 {
        self.ingest.as_ref().map_or(f64::NAN, Ingestion::chunks_per_sec)
    }

    fn insert_rate(&self) -> f64 {
        rate(self.insert.0, self.insert.1)
    }

    fn p99(&self) -> f64 {
        self.search_c1.percentile_ms(0.99)
    }

    /// Each of its figures that misses its target, described.
    fn missed(&self) -> Vec<String> {
        let Some(t) = targets(self.provider) else {
            return Vec::new();
        };
        let name = self.provider.provider_type();
        let mut missed = Vec::new();
        if !at_least(self.ingest_rate(), t.ingest_chunks_per_sec) {
            missed.push(format!("{name} ingestion {:.0} chunks/s < {}", self.ingest_rate(), t.ingest_chunks_per_sec));
        }
        if !at_most(self.p99(), t.search_p99_ms) {
            missed.push(format!("{name} search p99 {:.2} ms > {} ms", self.p99(), t.search_p99_ms));
        }
        if !at_least(self.recall.0, t.recall) {
            missed.push(format!("{name} recall@10 {:.3} < {}", self.recall.0, t.recall));
        }
        missed
    }
}

/// Everything `bench rag` measured.
#[derive(Debug, Clone)]
pub struct RagReport {
    pub chunks: usize,
    pub probe_fraction: Option<f64>,
    pub quick: bool,
    pub requests: usize,
    pub time_cap: Duration,
    /// Embedding one query at the mock directly: the part of every search that is not the
    /// server's.
    pub embed_c1: Latencies,
    /// In the order run; the first is the baseline of the ratios.
    pub runs: Vec<ProviderRun>,
    /// Providers that could not be run, and why.
    pub not_run: Vec<(Provider, String)>,
    /// Providers whose run failed, and the error.
    pub failed: Vec<(Provider, String)>,
}

/// `value >= min`; a missing figure (NaN) never meets a target.
fn at_least(value: f64, min: f64) -> bool {
    value >= min
}

/// `value <= max`; a missing figure (NaN) never meets a target.
fn at_most(value: f64, max: f64) -> bool {
    value <= max
}

fn verdict(ok: bool) -> &'static str {
    if ok { "pass" } else { "**MISS**" }
}

fn rate(n: usize, d: Duration) -> f64 {
    let secs = d.as_secs_f64();
    if secs > 0.0 { n as f64 / secs } else { f64::NAN }
}

/// ` (×r)`: `value` over the baseline's, when both are figures.
fn ratio(value: f64, base: f64) -> String {
    let r = value / base;
    if r.is_finite() { format!(" (×{})", two_digits(r)) } else { String::new() }
}

/// A figure with two decimals, or with two significant digits below 0.1 (so 1/300 is not 0.00).
fn two_digits(x: f64) -> String {
    if x == 0.0 || x.abs() >= 0.1 {
        return format!("{x:.2}");
    }
    let decimals = (1.0 - x.abs().log10().floor()) as usize;
    format!("{x:.decimals$}")
}

/// Requests per second: whole numbers, one decimal below 10.
fn qps(x: f64) -> String {
    if x < 10.0 { format!("{x:.1}") } else { format!("{x:.0}") }
}

impl RagReport {
    pub fn new(options: &RagOptions) -> Self {
        RagReport {
            chunks: options.chunks,
            probe_fraction: options.probe_fraction,
            quick: options.quick,
            requests: options.requests,
            time_cap: options.time_cap,
            embed_c1: Latencies::default(),
            runs: Vec::new(),
            not_run: Vec::new(),
            failed: Vec::new(),
        }
    }

    /// Each figure that misses its target, and each provider whose run failed.
    pub fn missed_targets(&self) -> Vec<String> {
        let mut missed: Vec<String> = self.runs.iter().flat_map(ProviderRun::missed).collect();
        missed.extend(self.failed.iter().map(|(p, e)| format!("{} failed: {e}", p.provider_type())));
        missed
    }

    /// A table row: `label`, then a cell per run, given the run and the baseline (`None` for the
    /// baseline itself).
    fn row(&self, label: &str, cell: impl Fn(&ProviderRun, Option<&ProviderRun>) -> String) -> String {
        let base = self.runs.first();
        let cells: Vec<String> =
            self.runs.iter().enumerate().map(|(i, run)| cell(run, if i == 0 { None } else { base })).collect();
        format!("| {label} | {} |", cells.join(" | "))
    }

    /// The report as Markdown (what `--out` writes).
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "### RAG: ingestion and search through the HTTP API, per vector_io provider\n");
        let _ = writeln!(md, "{}\n", self.setup_line());
        if !self.runs.is_empty() {
            self.table(&mut md);
        }
        let _ = writeln!(md);
        let _ = writeln!(md, "{}", self.targets_line());
        let _ = writeln!(
            md,
            "Of every search's time, embedding the query at the mock directly takes {:.2} / {:.2} ms (p50 / p99).",
            self.embed_c1.percentile_ms(0.5),
            self.embed_c1.percentile_ms(0.99)
        );
        for (provider, why) in &self.not_run {
            let _ = writeln!(md, "\nNOT RUN: {} ({why}).", provider.id());
        }
        for (provider, error) in &self.failed {
            let _ = writeln!(md, "\nFAILED: {} ({error}).", provider.id());
        }
        let missed = self.missed_targets();
        let _ = writeln!(md);
        if missed.is_empty() {
            let _ = writeln!(md, "All targets of the providers run were met.");
        } else {
            let _ = writeln!(md, "Missed: {}.", missed.join("; "));
        }
        md
    }

    fn table(&self, md: &mut String) {
        let names: Vec<String> = self.runs.iter().map(|r| format!("`{}`", r.provider.provider_type())).collect();
        let _ = writeln!(md, "| figure | {} |", names.join(" | "));
        let _ = writeln!(md, "|---|{}", "---|".repeat(self.runs.len()));
        let _ = writeln!(md, "{}", self.row("index searched", |r, _| r.index.clone()));
        let label = match self.runs.iter().find_map(|r| r.ingest.as_ref()) {
            Some(i) => format!(
                "ingestion, mock embeddings: {} files ({:.1} MB) uploaded, attached as one batch, completed",
                i.files,
                i.bytes as f64 / 1e6
            ),
            None => "ingestion, mock embeddings".to_owned(),
        };
        let _ = writeln!(
            md,
            "{}",
            self.row(&label, |r, base| {
                let Some(ingest) = &r.ingest else { return "-".to_owned() };
                let mut cell = ingest.cell() + &base.map_or(String::new(), |b| ratio(r.ingest_rate(), b.ingest_rate()));
                if let Some(t) = targets(r.provider) {
                    let _ = write!(cell, "; >= {:.0}: {}", t.ingest_chunks_per_sec, verdict(at_least(r.ingest_rate(), t.ingest_chunks_per_sec)));
                }
                cell
            })
        );
        match self.runs.iter().find_map(|r| r.ingest_real.as_ref()) {
            Some(real) => {
                let label = format!("ingestion, `{}` in-process: {} files", real.model, real.files);
                let _ = writeln!(md, "{}", self.row(&label, |r, _| r.ingest_real.as_ref().map_or("-".to_owned(), Ingestion::cell)));
            }
            None => {
                let cells = vec!["-"; self.runs.len()].join(" | ");
                let _ = writeln!(md, "| ingestion with all-MiniLM-L6-v2: skipped, weights not installed (`scripts/models.sh`) | {cells} |");
            }
        }
        let _ = writeln!(
            md,
            "{}",
            self.row("`/v1/vector-io/insert` with precomputed embeddings, batches of 1000", |r, base| {
                let (n, spent) = r.insert;
                format!("{:.0} chunks/s ({n} in {:.1} s)", r.insert_rate(), spent.as_secs_f64())
                    + &base.map_or(String::new(), |b| ratio(r.insert_rate(), b.insert_rate()))
                    + &r.index_ready.map_or(String::new(), |t| format!("; HNSW index over all {n} ready {:.1} s after the last insert", t.as_secs_f64()))
            })
        );
        let label = format!("search at {} chunks × 384, c=1: p50 / p99", self.chunks);
        let _ = writeln!(
            md,
            "{}",
            self.row(&label, |r, base| {
                let (p50, p99) = (r.search_c1.percentile_ms(0.5), r.p99());
                let mut cell = format!("{p50:.2} / {p99:.2} ms");
                if let Some(b) = base {
                    let _ = write!(cell, " (×{} / ×{})", two_digits(p50 / b.search_c1.percentile_ms(0.5)), two_digits(p99 / b.p99()));
                }
                if let Some(t) = targets(r.provider) {
                    let _ = write!(cell, "; p99 <= {} ms: {}", t.search_p99_ms, verdict(at_most(p99, t.search_p99_ms)));
                }
                cell
            })
        );
        let _ = writeln!(
            md,
            "{}",
            self.row("search, c=1: QPS", |r, base| {
                format!("{} (n={})", qps(r.search_c1.per_sec()), r.search_c1.count())
                    + &base.map_or(String::new(), |b| ratio(r.search_c1.per_sec(), b.search_c1.per_sec()))
            })
        );
        let _ = writeln!(
            md,
            "{}",
            self.row("search, c=4: p50 / p99, QPS", |r, base| {
                let c4 = &r.search_c4;
                format!("{:.2} / {:.2} ms, {} QPS (n={})", c4.percentile_ms(0.5), c4.percentile_ms(0.99), qps(c4.per_sec()), c4.count())
                    + &base.map_or(String::new(), |b| ratio(r.search_c4.per_sec(), b.search_c4.per_sec()))
            })
        );
        let _ = writeln!(
            md,
            "{}",
            self.row("recall@10 vs exact brute force (ties at the 10th place count)", |r, _| {
                let mut cell = format!("{:.3} ({} queries)", r.recall.0, r.recall.1);
                if let Some(t) = targets(r.provider) {
                    let _ = write!(cell, "; >= {}: {}", t.recall, verdict(at_least(r.recall.0, t.recall)));
                }
                cell
            })
        );
        let _ = writeln!(
            md,
            "{}",
            self.row("server RSS with every store loaded: after the runs / after a restart (the server process only)", |r, _| {
                format!("{:.0} / {:.0} MiB", r.rss_mib, r.restart_rss_mib)
            })
        );
        let _ = writeln!(
            md,
            "{}",
            self.row("restart: SIGTERM to exit; spawn to the large store's first answered search (that search); recall after", |r, _| {
                format!(
                    "{:.2} s; {:.2} s ({:.0} ms); {:.3}",
                    r.stop.as_secs_f64(),
                    r.restart_first_search.as_secs_f64(),
                    r.restart_first_latency.as_secs_f64() * 1000.0,
                    r.restart_recall.0
                )
            })
        );
        let _ = writeln!(md, "{}", self.row("load average (1 min) at the provider's start → end", |r, _| format!("{} → {}", r.load.0, r.load.1)));
    }

    fn targets_line(&self) -> String {
        let mut parts = Vec::new();
        for provider in Provider::ALL {
            if let Some(t) = targets(provider) {
                parts.push(format!(
                    "`{}`: ingestion >= {:.0} chunks/s, search p99 (c=1) <= {} ms, recall@10 >= {}",
                    provider.provider_type(),
                    t.ingest_chunks_per_sec,
                    t.search_p99_ms,
                    t.recall
                ));
            }
        }
        let base = self.runs.first().map_or("the first provider run".to_owned(), |r| format!("`{}`", r.provider.provider_type()));
        format!("Targets: {}; the others have none. (×r): the figure over {base}'s in this run.", parts.join("; "))
    }

    fn setup_line(&self) -> String {
        let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
        format!(
            "`cargo xtask bench rag{}{}`: {cores} cores ({}); one release server per provider, each with `inline::localfs` \
             and SQLite for the rest; PostgreSQL (pgvector) and Milvus Lite on the same machine. Embeddings from the mock \
             backend (`remote::openai` → `lls-mock-openai`, hashed bag-of-words, 384-d, unit length, so cosine and L2 \
             rank alike) unless named; synthetic topical text (500 topics, 20k-word vocabulary); default chunking (800 \
             tokens, 400 overlap). The large store's chunks, queries and exact answers are the same for every provider. \
             Searches: `POST /v1/vector_stores/{{id}}/search` with `max_num_results: 10` (the service asks the index for \
             50) cycling over the queries, latency to the last byte through reqwest, the query embedded by the server \
             through the mock on every request; {} per latency run, or fewer when {} s have passed (n: the count).",
            if self.quick { " --quick" } else { "" },
            self.probe_fraction.map(|f| format!(" --ivf-probe-fraction {f}")).unwrap_or_default(),
            crate::host::cpu_model(),
            self.requests,
            self.time_cap.as_secs(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(provider: Provider, ingest_secs: f64, p99_ms: u64, recall: f64) -> ProviderRun {
        let mut run = ProviderRun::new(provider);
        run.index = "some index".into();
        run.ingest = Some(Ingestion {
            model: "mock/mock-embed".into(),
            files: 100,
            bytes: 9_100_000,
            chunks: 10_000,
            upload: Duration::from_millis(200),
            total: Duration::from_secs_f64(ingest_secs),
        });
        run.insert = (100_000, Duration::from_secs(20));
        run.recall = (recall, 200);
        let ms = |n| Duration::from_millis(n);
        run.search_c1 = Latencies::new(vec![ms(2); 98].into_iter().chain([ms(p99_ms); 2]).collect(), Duration::from_secs(1));
        run.search_c4 = run.search_c1.clone();
        run.load = ("1.20".into(), "1.50".into());
        run
    }

    fn report() -> RagReport {
        let mut report = RagReport::new(&RagOptions::new(false, None, false));
        report.runs = vec![run(Provider::Faiss, 1.0, 4, 1.0), run(Provider::SqliteVec, 4.0, 40, 1.0), run(Provider::Pgvector, 2.5, 12, 0.9)];
        report.not_run.push((Provider::Milvus, "this server build does not link remote::milvus".into()));
        report
    }

    #[test]
    fn small_ratios_keep_two_significant_digits() {
        assert_eq!(ratio(1.0, 365.0), " (×0.0027)");
        assert_eq!(ratio(2.0, 4.0), " (×0.50)");
        assert_eq!(ratio(0.095, 1.0), " (×0.095)");
        assert_eq!(ratio(250.0, 1.0), " (×250.00)");
        assert_eq!(ratio(1.0, 0.0), "");
        assert_eq!((qps(1.37), qps(365.4)), ("1.4".to_owned(), "365".to_owned()));
    }

    #[test]
    fn targets_are_per_provider() {
        let missed = report().missed_targets();
        // faiss meets its own; sqlite-vec has none (40 ms is not a miss); pgvector misses all three.
        assert_eq!(
            missed,
            vec![
                "remote::pgvector ingestion 4000 chunks/s < 5000",
                "remote::pgvector search p99 12.00 ms > 10 ms",
                "remote::pgvector recall@10 0.900 < 0.95",
            ]
        );
        let mut failed = report();
        failed.runs.truncate(1);
        failed.failed.push((Provider::Pgvector, "the server exited".into()));
        assert_eq!(failed.missed_targets(), vec!["remote::pgvector failed: the server exited"]);
    }

    #[test]
    fn the_table_has_a_column_per_provider_with_ratios_to_the_first() {
        let md = report().markdown();
        assert!(md.contains("| figure | `inline::faiss` | `inline::sqlite-vec` | `remote::pgvector` |\n|---|---|---|---|\n"), "{md}");
        let ingestion = md.lines().find(|l| l.starts_with("| ingestion, mock embeddings: 100 files (9.1 MB)")).unwrap();
        assert!(ingestion.contains("| 10000 chunks/s (10000 chunks in 1.00 s; uploads 0.20 s); >= 5000: pass |"), "{ingestion}");
        assert!(ingestion.contains("| 2500 chunks/s (10000 chunks in 4.00 s; uploads 0.20 s) (×0.25) |"), "{ingestion}");
        assert!(ingestion.ends_with("(×0.40); >= 5000: **MISS** |"), "{ingestion}");
        let search = md.lines().find(|l| l.starts_with("| search at 100000 chunks × 384, c=1")).unwrap();
        assert!(search.contains("| 2.00 / 4.00 ms; p99 <= 5 ms: pass |"), "{search}");
        assert!(search.contains("| 2.00 / 40.00 ms (×1.00 / ×10.00) |"), "{search}");
        assert!(search.ends_with("| 2.00 / 12.00 ms (×1.00 / ×3.00); p99 <= 10 ms: **MISS** |"), "{search}");
        assert!(md.contains("| load average (1 min) at the provider's start → end | 1.20 → 1.50 | 1.20 → 1.50 | 1.20 → 1.50 |"), "{md}");
        assert!(md.contains("\nNOT RUN: milvus (this server build does not link remote::milvus).\n"), "{md}");
        assert!(md.contains("Missed: remote::pgvector ingestion 4000 chunks/s < 5000;"), "{md}");
        // Every table row has as many cells as the header.
        for line in md.lines().filter(|l| l.starts_with("| ")) {
            assert_eq!(line.matches(" | ").count() + 2, 5, "{line}");
        }
    }

    #[test]
    fn without_runs_there_is_no_table_and_nothing_is_faked() {
        let mut report = report();
        report.runs.clear();
        let md = report.markdown();
        assert!(!md.contains("| figure"), "{md}");
        assert!(md.contains("NOT RUN: milvus"), "{md}");
    }
}
