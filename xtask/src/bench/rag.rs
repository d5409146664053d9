//! `cargo xtask bench rag`: retrieval through the HTTP API, on the release server with the mock
//! backend's embeddings, once per vector_io provider (`inline::faiss`, `inline::sqlite-vec`,
//! `remote::pgvector`, `remote::milvus`), each on a server of its own. For each it measures (a)
//! ingestion, files uploaded, attached as one batch and searchable (on the first provider again
//! with the in-process all-MiniLM-L6-v2 when its weights are installed); (b) search at scale:
//! `--chunks` chunks inserted with precomputed embeddings through `/v1/vector-io/insert`, then
//! latency, QPS and recall@10 of `POST /v1/vector_stores/{id}/search` against exact brute force
//! computed here; (c) a restart: how long until the large store answers again. The chunks,
//! queries and exact answers are computed once and are the same for every provider.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use base64::Engine;
use serde_json::{Value, json};

use super::load::HttpClient;
use super::procs::{self, Guard};
use super::rag_corpus::{Corpus, Rng};
use super::rag_providers::{self, Backend, Provider, Sources};
use super::rag_report::{Ingestion, Latencies, ProviderRun, RagReport};

const DIM: usize = 384;
const EMBED_BATCH: usize = 2000;
const INSERT_BATCH: usize = 1000;
/// Words per chunk of the large store.
const CHUNK_WORDS: usize = 60;
/// The mock's embedding model and the in-process one, as the server names them.
const MOCK_MODEL: &str = "mock/mock-embed";
const REAL_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// Sizes of the bench.
#[derive(Debug, Clone)]
pub struct RagOptions {
    /// Chunks in the large store.
    pub chunks: usize,
    /// Files in the ingestion run.
    pub files: usize,
    /// Files in the ingestion run with the real embedding model.
    pub real_files: usize,
    /// Distinct queries (recall is over all of them, unless `time_cap` cuts it short).
    pub queries: usize,
    /// Timed search requests per latency run.
    pub requests: usize,
    /// Each recall and latency run stops early after this long (a slow provider then answers
    /// fewer requests; the report gives the counts).
    pub time_cap: Duration,
    /// `ivf_probe_fraction` for the faiss provider (its default when `None`).
    pub probe_fraction: Option<f64>,
    /// The providers to measure, in order; the first is the baseline of the ratios.
    pub providers: Vec<Provider>,
    /// Where pgvector's and Milvus's servers come from.
    pub sources: Sources,
    pub build: bool,
    pub quick: bool,
}

impl RagOptions {
    pub fn new(quick: bool, chunks: Option<usize>, build: bool) -> Self {
        let (default_chunks, files, real_files, queries, requests, cap_secs) =
            if quick { (25_000, 20, 4, 100, 300, 20) } else { (100_000, 100, 10, 200, 1000, 60) };
        let chunks = chunks.unwrap_or(default_chunks).max(100);
        RagOptions {
            chunks,
            files,
            real_files,
            queries,
            requests,
            time_cap: Duration::from_secs(cap_secs),
            probe_fraction: None,
            providers: Provider::ALL.to_vec(),
            sources: Sources::default(),
            build,
            quick,
        }
    }
}

/// Runs the whole bench; the processes are killed on every way out, Ctrl-C included.
pub fn rag(options: &RagOptions) -> anyhow::Result<RagReport> {
    let binaries = procs::binaries(options.build)?;
    let state = tempfile::Builder::new().prefix("lls-bench-rag-").tempdir().context("creating the state dir")?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async {
        tokio::select! {
            result = measure(&binaries, state.path(), options) => result,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        }
    })
}

/// The server's run config: the mock's `mock-embed` as embedding model, `vector_io` (one
/// provider's entry, its default for new stores) and `inline::localfs`, all state under `state`.
fn run_yaml(mock_port: u16, state: &Path, provider: Provider, vector_io: &str) -> String {
    let storage = procs::sqlite_storage_yaml(state);
    let state = state.display();
    let provider_id = provider.id();
    format!(
        r#"# Written by `cargo xtask bench rag`.
version: 2
image_name: xtask-bench-rag
apis: [files, inference, vector_io]
providers:
  inference:
  - provider_id: mock
    provider_type: remote::openai
    config:
      base_url: http://127.0.0.1:{mock_port}/v1
      api_key: mock-key
  - provider_id: sentence-transformers
    provider_type: inline::sentence-transformers
  vector_io:
{vector_io}  files:
  - provider_id: localfs
    provider_type: inline::localfs
    config:
      storage_dir: {state}/files
      metadata_store:
        table_name: files_metadata
        backend: sql_default
{storage}vector_stores:
  default_provider_id: {provider_id}
registered_resources:
  models:
  - model_id: mock-embed
    provider_id: mock
    provider_model_id: mock-embed
    model_type: embedding
    metadata:
      embedding_dimension: {DIM}
server:
  host: 127.0.0.1
  port: 8321
"#
    )
}

/// A JSON client for the bench's setup calls (the timed calls use it too: reqwest keeps
/// connections alive and sets `TCP_NODELAY`).
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let response = request.send().await.with_context(|| what.to_owned())?;
        let status = response.status();
        let body = response.bytes().await.with_context(|| format!("{what}: reading the body"))?;
        if !status.is_success() {
            bail!("{what} answered {status}: {}", String::from_utf8_lossy(&body[..body.len().min(2000)]));
        }
        serde_json::from_slice(&body).with_context(|| format!("{what}: the answer is not JSON"))
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body), &format!("POST {path}")).await
    }

    async fn post_raw(&self, path: &str, body: String) -> anyhow::Result<Value> {
        let request = self.http.post(format!("{}{path}", self.base)).header("content-type", "application/json").body(body);
        self.send(request, &format!("POST {path}")).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.base)), &format!("GET {path}")).await
    }

    async fn upload(&self, name: &str, text: &str) -> anyhow::Result<String> {
        let boundary = "lls-bench-rag-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nassistants\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: text/plain\r\n\r\n{text}\r\n--{boundary}--\r\n"
        );
        let request = self
            .http
            .post(format!("{}/v1/files", self.base))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        let file = self.send(request, "POST /v1/files").await?;
        file["id"].as_str().map(str::to_owned).context("the uploaded file has no id")
    }

    async fn create_store(&self, name: &str, model: &str, provider: Provider) -> anyhow::Result<String> {
        let body = json!({"name": name, "embedding_model": model, "embedding_dimension": DIM, "provider_id": provider.id()});
        let store = self.post("/v1/vector_stores", &body).await?;
        store["id"].as_str().map(str::to_owned).context("the vector store has no id")
    }
}

/// What every provider's run shares: the mock's port, the large store's chunks, the queries and
/// their exact answers.
struct Workload {
    mock_port: u16,
    corpus: Corpus,
    texts: Vec<String>,
    vectors: Vec<f32>,
    truth: ExactTruth,
    bodies: Vec<String>,
}

async fn measure(binaries: &procs::Binaries, state: &Path, options: &RagOptions) -> anyhow::Result<RagReport> {
    let linked = linked_vector_io(&binaries.server)?;
    let probe = HttpClient::new();
    let mock_port = procs::free_port()?;
    let mock = Api { http: reqwest::Client::new(), base: format!("http://127.0.0.1:{mock_port}") };
    let mut mock_proc = Guard::spawn(
        "mock backend",
        &binaries.mock,
        &["--host".to_owned(), "127.0.0.1".to_owned(), "--port".to_owned(), mock_port.to_string()],
        state.join("mock.log"),
        None,
    )?;
    mock_proc.wait_ready(&probe, &format!("{}/v1/models", mock.base), "mock-embed", Instant::now()).await?;
    let mut report = RagReport::new(options);

    eprintln!("embedding {} chunks through the mock", options.chunks);
    let corpus = Corpus::new();
    let mut rng = Rng::new(11);
    let texts: Vec<String> = (0..options.chunks).map(|_| corpus.passage(rng.below(corpus.topics()), CHUNK_WORDS, &mut rng)).collect();
    let vectors = embed(&mock, &texts).await?;
    let queries: Vec<String> = (0..options.queries).map(|_| corpus.query(&mut rng)).collect();
    let query_vectors = embed(&mock, &queries).await?;
    eprintln!("exact top-10 of {} queries by brute force", queries.len());
    let truth = ExactTruth::new(&vectors, &query_vectors);
    let bodies = queries.iter().map(|q| json!({"query": q, "max_num_results": 10}).to_string()).collect();
    report.embed_c1 = embed_latency(&mock, &queries, options.requests.min(500)).await?;
    let workload = Workload { mock_port, corpus, texts, vectors, truth, bodies };

    for &provider in &options.providers {
        eprintln!("== {}", provider.provider_type());
        let dir = state.join(provider.id());
        std::fs::create_dir_all(&dir).context("creating a state dir")?;
        let held = match rag_providers::acquire(provider, &linked, &options.sources, &dir) {
            Ok(held) => held,
            Err(why) => {
                eprintln!("NOT RUN: {} ({why})", provider.id());
                report.not_run.push((provider, why));
                continue;
            }
        };
        let first = report.runs.is_empty();
        let run = run_provider(binaries, &dir, options, &workload, provider, &held.backend, first).await;
        drop(held);
        match run {
            Ok(run) => report.runs.push(run),
            Err(e) => {
                eprintln!("FAILED: {} ({e:#})", provider.id());
                report.failed.push((provider, format!("{e:#}")));
            }
        }
        mock_proc.ensure_running()?;
    }
    drop(mock_proc);
    Ok(report)
}

/// `llama-stack list-providers vector_io` of the server under test.
fn linked_vector_io(server: &Path) -> anyhow::Result<String> {
    let output = std::process::Command::new(server)
        .args(["list-providers", "vector_io"])
        .output()
        .with_context(|| format!("running {} list-providers", server.display()))?;
    ensure!(output.status.success(), "{} list-providers failed: {}", server.display(), String::from_utf8_lossy(&output.stderr));
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The whole workload on one provider, on a server of its own: (a) ingestion, (b) insertion and
/// search of the large store, (c) a restart.
async fn run_provider(
    binaries: &procs::Binaries,
    dir: &Path,
    options: &RagOptions,
    w: &Workload,
    provider: Provider,
    backend: &Backend,
    first: bool,
) -> anyhow::Result<ProviderRun> {
    let mut run = ProviderRun::new(provider);
    let started_load = crate::host::load_average();
    let entry = rag_providers::vector_io_yaml(provider, backend, dir, options.probe_fraction)?;
    let config = dir.join("run.yaml");
    std::fs::write(&config, run_yaml(w.mock_port, dir, provider, &entry)).context("writing run.yaml")?;
    let probe = HttpClient::new();
    let port = procs::free_port()?;
    let api = Api { http: reqwest::Client::new(), base: format!("http://127.0.0.1:{port}") };
    let args = ["run".to_owned(), config.display().to_string(), "--port".to_owned(), port.to_string(), "--host".to_owned(), "127.0.0.1".to_owned()];
    let start_server = || Guard::spawn("llama-stack server", &binaries.server, &args, dir.join("server.log"), None);
    let mut server = start_server()?;
    server.wait_ready(&probe, &format!("{}/v1/health", api.base), "OK", Instant::now()).await?;

    eprintln!("(a) ingesting {} files", options.files);
    run.ingest = Some(ingest(&api, &w.corpus, options.files, MOCK_MODEL, provider).await?);
    server.ensure_running()?;
    if first && options.real_files > 0 {
        match api.post("/v1/embeddings", &json!({"model": REAL_MODEL, "input": "probe"})).await {
            Ok(_) => {
                eprintln!("(a) ingesting {} files with {REAL_MODEL}", options.real_files);
                run.ingest_real = Some(ingest(&api, &w.corpus, options.real_files, REAL_MODEL, provider).await?);
            }
            Err(e) => eprintln!("(a) skipping {REAL_MODEL} (scripts/models.sh installs its weights): {e:#}"),
        }
    }

    let store = api.create_store("bench-search", MOCK_MODEL, provider).await?;
    eprintln!("(b) inserting {} chunks through /v1/vector-io/insert", w.texts.len());
    run.insert = insert(&api, &store, &w.texts, &w.vectors).await?;
    if provider == Provider::Pgvector {
        // Searches are timed on the index: pgvector takes bulk writes in by a build in one pass
        // once the store is quiet, and searches them exactly until then.
        let inserted = Instant::now();
        let wanted = w.texts.len() as u64;
        while rag_providers::pgvector_indexed_rows(&server.log_tail(usize::MAX), &store).is_none_or(|n| n < wanted) {
            ensure!(inserted.elapsed() < Duration::from_secs(900), "pgvector built no index over the {wanted} chunks in 900 s");
            server.ensure_running()?;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        run.index_ready = Some(inserted.elapsed());
        eprintln!("(b) pgvector's index took every chunk in {:.1} s after the last insert", inserted.elapsed().as_secs_f64());
    }
    let path = format!("/v1/vector_stores/{store}/search");
    run.recall = recall(&api, &path, &w.bodies, &w.truth, options.time_cap).await?;
    eprintln!("(b) recall@10 {:.3} over {} queries", run.recall.0, run.recall.1);
    run.search_c1 = search_load(&api, &path, &w.bodies, options.requests, 1, options.time_cap).await?;
    run.search_c4 = search_load(&api, &path, &w.bodies, options.requests, 4, options.time_cap).await?;
    run.rss_mib = procs::memory(server.pid())?.rss_mib;
    eprintln!("(b) search c=1 p50 {:.2} ms p99 {:.2} ms", run.search_c1.percentile_ms(0.5), run.search_c1.percentile_ms(0.99));
    // The whole log: the provider's lines come before every search's access line.
    let log = server.log_tail(usize::MAX);
    log.lines().filter(|l| l.contains(provider.provider_type())).for_each(|l| eprintln!("    server: {l}"));
    run.index = rag_providers::index_description(provider, &log, options.probe_fraction);

    eprintln!("(c) stopping the server (SIGTERM) and starting it again");
    run.stop = server.stop(Duration::from_secs(60))?;
    let restarted = Instant::now();
    let mut server = start_server()?;
    server.wait_ready(&probe, &format!("{}/v1/health", api.base), "OK", restarted).await?;
    let first_latency = first_answer(&api, &path, &w.bodies[0], &mut server).await?;
    run.restart_first_search = restarted.elapsed();
    run.restart_first_latency = first_latency;
    run.restart_recall = recall(&api, &path, &w.bodies, &w.truth, options.time_cap).await?;
    run.restart_rss_mib = procs::memory(server.pid())?.rss_mib;
    drop(server);
    run.load = (started_load, crate::host::load_average());
    Ok(run)
}

/// Uploads `files` generated files, attaches them to a new store embedding with `model` as one
/// batch and waits until it completes.
async fn ingest(api: &Api, corpus: &Corpus, files: usize, model: &str, provider: Provider) -> anyhow::Result<Ingestion> {
    let mut rng = Rng::new(5);
    let docs: Vec<String> = (0..files).map(|_| corpus.document(40, 300, &mut rng)).collect();
    let bytes = docs.iter().map(String::len).sum();
    let started = Instant::now();
    let mut file_ids = Vec::with_capacity(docs.len());
    for (i, doc) in docs.iter().enumerate() {
        file_ids.push(api.upload(&format!("doc-{i}.txt"), doc).await?);
    }
    let upload = started.elapsed();
    let store = api.create_store("bench-ingest", model, provider).await?;
    let batch = api.post(&format!("/v1/vector_stores/{store}/file_batches"), &json!({"file_ids": file_ids})).await?;
    let batch_id = batch["id"].as_str().context("the file batch has no id")?.to_owned();
    let deadline = Instant::now() + Duration::from_secs(1800);
    let status = loop {
        let b = api.get(&format!("/v1/vector_stores/{store}/file_batches/{batch_id}")).await?;
        if b["status"] != "in_progress" {
            break b;
        }
        ensure!(Instant::now() < deadline, "the file batch did not complete within 30 minutes");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let total = started.elapsed();
    ensure!(status["status"] == "completed" && status["file_counts"]["completed"] == json!(files), "the file batch ended as {status}");
    let mut chunks = 0;
    for id in &file_ids {
        let contents = api.get(&format!("/v1/vector_stores/{store}/files/{id}/content")).await?;
        chunks += contents["content"].as_array().map_or(0, Vec::len);
    }
    eprintln!("(a) {chunks} chunks searchable after {:.2} s ({:.0} chunks/s)", total.as_secs_f64(), chunks as f64 / total.as_secs_f64());
    Ok(Ingestion { model: model.to_owned(), files, bytes, chunks, upload, total })
}

/// The mock's embeddings of `texts` (base64 on the wire), row after row.
async fn embed(mock: &Api, texts: &[String]) -> anyhow::Result<Vec<f32>> {
    let mut out = Vec::with_capacity(texts.len() * DIM);
    for batch in texts.chunks(EMBED_BATCH) {
        let answer = mock.post("/v1/embeddings", &json!({"model": "mock-embed", "input": batch, "encoding_format": "base64"})).await?;
        let data = answer["data"].as_array().context("embeddings without data")?;
        ensure!(data.len() == batch.len(), "asked for {} embeddings, got {}", batch.len(), data.len());
        for item in data {
            let b64 = item["embedding"].as_str().context("an embedding is not base64")?;
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64).context("decoding an embedding")?;
            ensure!(bytes.len() == DIM * 4, "an embedding has {} bytes, not {}", bytes.len(), DIM * 4);
            out.extend(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
        }
    }
    Ok(out)
}

/// Inserts every chunk with its embedding; the figure is chunks over the summed request time.
async fn insert(api: &Api, store: &str, texts: &[String], vectors: &[f32]) -> anyhow::Result<(usize, Duration)> {
    let mut spent = Duration::ZERO;
    for (b, batch) in texts.chunks(INSERT_BATCH).enumerate() {
        let mut chunks = Vec::with_capacity(batch.len());
        for (j, text) in batch.iter().enumerate() {
            let i = b * INSERT_BATCH + j;
            let embedding: Vec<String> = vectors[i * DIM..(i + 1) * DIM].iter().map(f32::to_string).collect();
            chunks.push(format!(
                r#"{{"content":{},"chunk_id":"b{i}","metadata":{{"document_id":"bench","bench_id":{i}}},"embedding":[{}]}}"#,
                Value::String(text.clone()),
                embedding.join(",")
            ));
        }
        let body = format!(r#"{{"vector_db_id":"{store}","chunks":[{}]}}"#, chunks.join(","));
        let sent = Instant::now();
        api.post_raw("/v1/vector-io/insert", body).await?;
        spent += sent.elapsed();
        if b % 20 == 19 {
            eprintln!("    {} chunks in {:.1} s", (b + 1) * INSERT_BATCH, spent.as_secs_f64());
        }
    }
    Ok((texts.len(), spent))
}

/// Exact squared L2 distances of every query to every chunk (the mock's vectors are sparse, so
/// a query's dot products only visit its non-zero dimensions).
struct ExactTruth {
    /// Per query: every chunk's distance.
    distances: Vec<Vec<f32>>,
}

impl ExactTruth {
    fn new(vectors: &[f32], queries: &[f32]) -> Self {
        let norms: Vec<f32> = vectors.chunks_exact(DIM).map(|v| v.iter().map(|x| x * x).sum()).collect();
        let distances = queries
            .chunks_exact(DIM)
            .map(|q| {
                let nz: Vec<(usize, f32)> = q.iter().copied().enumerate().filter(|(_, x)| *x != 0.0).collect();
                let qn: f32 = q.iter().map(|x| x * x).sum();
                vectors
                    .chunks_exact(DIM)
                    .zip(&norms)
                    .map(|(v, n)| n - 2.0 * nz.iter().map(|(j, x)| v[*j] * x).sum::<f32>() + qn)
                    .collect()
            })
            .collect();
        ExactTruth { distances }
    }

    /// The 10th smallest distance of query `q`.
    fn tenth(&self, q: usize) -> f32 {
        let mut d = self.distances[q].clone();
        let k = 9.min(d.len().saturating_sub(1));
        d.select_nth_unstable_by(k, f32::total_cmp);
        d[k]
    }
}

/// recall@10 over the queries in turn, all of them or as many as `cap` allows (at least 10): a
/// result counts when its exact distance is within the true top 10's (ties at the 10th place
/// count for whichever chunk the index returns). Returns the recall and the queries asked.
async fn recall(api: &Api, path: &str, bodies: &[String], truth: &ExactTruth, cap: Duration) -> anyhow::Result<(f64, usize)> {
    let started = Instant::now();
    let mut hits = 0usize;
    let mut asked = 0usize;
    for (q, body) in bodies.iter().enumerate() {
        if asked >= 10 && started.elapsed() > cap {
            break;
        }
        let page = api.post_raw(path, body.clone()).await?;
        asked += 1;
        let tenth = truth.tenth(q);
        let slack = 1e-4 * tenth.abs().max(1.0);
        for result in page["data"].as_array().context("search answered without data")? {
            let id = result["attributes"]["bench_id"].as_u64().context("a result has no bench_id")? as usize;
            let d = *truth.distances[q].get(id).context("a result's bench_id is out of range")?;
            if d <= tenth + slack {
                hits += 1;
            }
        }
    }
    Ok((hits as f64 / (asked * 10) as f64, asked))
}

/// `requests` searches (queries in turn) by `concurrency` workers, after a short warm-up (20
/// searches, or fewer within a tenth of `cap`); no search starts after `cap`.
async fn search_load(api: &Api, path: &str, bodies: &[String], requests: usize, concurrency: usize, cap: Duration) -> anyhow::Result<Latencies> {
    let warming = Instant::now();
    for body in bodies.iter().take(20) {
        api.post_raw(path, body.clone()).await?;
        if warming.elapsed() > cap / 10 {
            break;
        }
    }
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (http, url, bodies, next) = (api.http.clone(), format!("{}{path}", api.base), bodies.to_vec(), next.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests || started.elapsed() > cap {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let body = bodies[i % bodies.len()].clone();
                let sent = Instant::now();
                let response = http.post(&url).header("content-type", "application/json").body(body).send().await?;
                ensure!(response.status().is_success(), "search answered {}", response.status());
                response.bytes().await?;
                latencies.push(sent.elapsed());
            }
        });
    }
    let mut all = Vec::with_capacity(requests);
    while let Some(joined) = workers.join_next().await {
        all.extend(joined.context("a search worker panicked")??);
    }
    Ok(Latencies::new(all, started.elapsed()))
}

/// Latency of embedding one query at the mock directly: the part of a search that is not the
/// server's.
async fn embed_latency(mock: &Api, queries: &[String], requests: usize) -> anyhow::Result<Latencies> {
    let started = Instant::now();
    let mut all = Vec::with_capacity(requests);
    for i in 0..requests {
        let body = json!({"model": "mock-embed", "input": queries[i % queries.len()]});
        let sent = Instant::now();
        mock.post("/v1/embeddings", &body).await?;
        all.push(sent.elapsed());
    }
    Ok(Latencies::new(all, started.elapsed()))
}

/// Retries the search until it answers; returns the latency of the answering request.
async fn first_answer(api: &Api, path: &str, body: &str, server: &mut Guard) -> anyhow::Result<Duration> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let sent = Instant::now();
        if api.post_raw(path, body.to_owned()).await.is_ok() {
            return Ok(sent.elapsed());
        }
        server.ensure_running()?;
        ensure!(Instant::now() < deadline, "the restarted server did not answer a search within 10 minutes");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
