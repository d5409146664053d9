//! The RAG bench's figures, their targets, and the Markdown report.

use std::fmt::Write as _;
use std::time::Duration;

use super::rag::RagOptions;

/// Files to searchable with mock embeddings, chunks per second, at least.
pub const INGEST_TARGET_CHUNKS_PER_SEC: f64 = 5_000.0;
/// Search p99 at concurrency 1, at most.
pub const SEARCH_P99_TARGET_MS: f64 = 5.0;
/// recall@10 against exact search, at least.
pub const RECALL_TARGET: f64 = 0.95;

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
        if secs > 0.0 { self.sorted.len() as f64 / secs } else { 0.0 }
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

    fn row(&self, target: &str, verdict: &str) -> String {
        format!(
            "| ingestion with `{}`: {} files ({:.1} MB) uploaded, attached as one batch, completed | {:.0} chunks/s ({} chunks in {:.2} s; uploads {:.2} s) | {target} | {verdict} |",
            self.model,
            self.files,
            self.bytes as f64 / 1e6,
            self.chunks_per_sec(),
            self.chunks,
            self.total.as_secs_f64(),
            self.upload.as_secs_f64(),
        )
    }
}

/// Everything `bench rag` measured.
#[derive(Debug, Clone)]
pub struct RagReport {
    pub chunks: usize,
    pub probe_fraction: Option<f64>,
    pub quick: bool,
    /// With the mock's embeddings.
    pub ingest: Option<Ingestion>,
    /// With the in-process model, when its weights are installed.
    pub ingest_real: Option<Ingestion>,
    /// Chunks inserted and the summed request time.
    pub insert: (usize, Duration),
    pub index_kind: &'static str,
    pub recall: f64,
    pub search_c1: Latencies,
    pub search_c4: Latencies,
    pub embed_c1: Latencies,
    pub rss_mib: f64,
    pub restart_first_search: Duration,
    pub restart_first_latency: Duration,
    pub restart_recall: f64,
    pub restart_rss_mib: f64,
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

impl RagReport {
    pub fn new(options: &RagOptions) -> Self {
        RagReport {
            chunks: options.chunks,
            probe_fraction: options.probe_fraction,
            quick: options.quick,
            ingest: None,
            ingest_real: None,
            insert: (0, Duration::ZERO),
            index_kind: "flat",
            recall: f64::NAN,
            search_c1: Latencies::default(),
            search_c4: Latencies::default(),
            embed_c1: Latencies::default(),
            rss_mib: f64::NAN,
            restart_first_search: Duration::ZERO,
            restart_first_latency: Duration::ZERO,
            restart_recall: f64::NAN,
            restart_rss_mib: f64::NAN,
        }
    }

    fn ingest_rate(&self) -> f64 {
        self.ingest.as_ref().map_or(f64::NAN, Ingestion::chunks_per_sec)
    }

    /// Each figure that misses its target, described.
    pub fn missed_targets(&self) -> Vec<String> {
        let mut missed = Vec::new();
        if !at_least(self.ingest_rate(), INGEST_TARGET_CHUNKS_PER_SEC) {
            missed.push(format!("ingestion {:.0} chunks/s < {INGEST_TARGET_CHUNKS_PER_SEC}", self.ingest_rate()));
        }
        let p99 = self.search_c1.percentile_ms(0.99);
        if !at_most(p99, SEARCH_P99_TARGET_MS) {
            missed.push(format!("search p99 {p99:.2} ms > {SEARCH_P99_TARGET_MS} ms"));
        }
        if !at_least(self.recall, RECALL_TARGET) {
            missed.push(format!("recall@10 {:.3} < {RECALL_TARGET}", self.recall));
        }
        missed
    }

    /// The report as Markdown (what `--out` writes).
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "### RAG: ingestion and search through the HTTP API (inline::faiss)\n");
        let _ = writeln!(md, "{}\n", self.setup_line());
        let _ = writeln!(md, "| figure | measured | target | |");
        let _ = writeln!(md, "|---|---|---|---|");
        if let Some(ingest) = &self.ingest {
            let ok = at_least(ingest.chunks_per_sec(), INGEST_TARGET_CHUNKS_PER_SEC);
            let _ = writeln!(md, "{}", ingest.row(&format!(">= {INGEST_TARGET_CHUNKS_PER_SEC:.0} chunks/s"), verdict(ok)));
        }
        match &self.ingest_real {
            Some(real) => {
                let _ = writeln!(md, "{}", real.row("-", ""));
            }
            None => {
                let _ = writeln!(md, "| ingestion with all-MiniLM-L6-v2 | skipped: weights not installed (`scripts/models.sh`) | - | |");
            }
        }
        let (n, spent) = self.insert;
        let _ = writeln!(
            md,
            "| `/v1/vector-io/insert` with precomputed embeddings, batches of 1000 | {:.0} chunks/s ({n} chunks in {:.1} s) | - | |",
            rate(n, spent),
            spent.as_secs_f64()
        );
        let (p50, p99) = (self.search_c1.percentile_ms(0.5), self.search_c1.percentile_ms(0.99));
        let _ = writeln!(
            md,
            "| search at {} chunks × 384 ({} index), c=1: p50 / p99 | {p50:.2} / {p99:.2} ms ({:.0} QPS, n={}) | p99 <= {SEARCH_P99_TARGET_MS} ms | {} |",
            self.chunks,
            self.index_kind,
            self.search_c1.per_sec(),
            self.search_c1.count(),
            verdict(at_most(p99, SEARCH_P99_TARGET_MS))
        );
        let _ = writeln!(
            md,
            "| search, c=4: p50 / p99 | {:.2} / {:.2} ms ({:.0} QPS) | - | |",
            self.search_c4.percentile_ms(0.5),
            self.search_c4.percentile_ms(0.99),
            self.search_c4.per_sec()
        );
        let _ = writeln!(
            md,
            "| of which: embedding one query at the mock directly, p50 / p99 | {:.2} / {:.2} ms | - | |",
            self.embed_c1.percentile_ms(0.5),
            self.embed_c1.percentile_ms(0.99)
        );
        let _ = writeln!(
            md,
            "| recall@10 vs exact brute force (ties at the 10th place count) | {:.3} | >= {RECALL_TARGET} | {} |",
            self.recall,
            verdict(at_least(self.recall, RECALL_TARGET))
        );
        let _ = writeln!(
            md,
            "| server RSS with every store loaded: after the runs / after a restart | {:.0} / {:.0} MiB | - | |",
            self.rss_mib, self.restart_rss_mib
        );
        let _ = writeln!(
            md,
            "| restart: spawn to the large store's first answered search (that search) | {:.2} s ({:.0} ms); recall after {:.3} | - | |",
            self.restart_first_search.as_secs_f64(),
            self.restart_first_latency.as_secs_f64() * 1000.0,
            self.restart_recall
        );
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
        format!(
            "`cargo xtask bench rag{}{}`: {cores} cores; release server with `inline::faiss` and `inline::localfs` on \
             SQLite; embeddings from the mock backend (`remote::openai` → `lls-mock-openai`, hashed bag-of-words, \
             384-d) unless named; synthetic topical text (500 topics, 20k-word vocabulary); default chunking (800 \
             tokens, 400 overlap). Searches: `POST /v1/vector_stores/{{id}}/search` with `max_num_results: 10` (the \
             service asks the index for 50) cycling over the queries, latency to the last byte through reqwest, the \
             query embedded by the server through the mock on every request.",
            if self.quick { " --quick" } else { "" },
            self.probe_fraction.map(|f| format!(" --ivf-probe-fraction {f}")).unwrap_or_default(),
        )
    }
}
