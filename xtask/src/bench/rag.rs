//! `cargo xtask bench rag`: retrieval through the HTTP API, on the release server with the
//! `inline::faiss` provider and the mock backend's embeddings. It measures (a) ingestion, files
//! uploaded, attached as one batch and searchable (again with the in-process all-MiniLM-L6-v2
//! when its weights are installed); (b) search at scale: `--chunks` chunks
//! inserted with precomputed embeddings through `/v1/vector-io/insert`, then latency, QPS and
//! recall@10 of `POST /v1/vector_stores/{id}/search` against exact brute force computed here;
//! (c) a restart: how long until the large store answers again.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use base64::Engine;
use serde_json::{Value, json};

use super::load::HttpClient;
use super::procs::{self, Guard};
use super::rag_corpus::{Corpus, Rng};
use super::rag_report::{Ingestion, Latencies, RagReport};

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
    /// Distinct queries (recall is over all of them).
    pub queries: usize,
    /// Timed search requests per latency run.
    pub requests: usize,
    /// `ivf_probe_fraction` for the faiss provider (its default when `None`).
    pub probe_fraction: Option<f64>,
    pub build: bool,
    pub quick: bool,
}

impl RagOptions {
    pub fn new(quick: bool, chunks: Option<usize>, build: bool) -> Self {
        let (default_chunks, files, real_files, queries, requests) =
            if quick { (25_000, 20, 4, 100, 300) } else { (100_000, 100, 10, 200, 1000) };
        let chunks = chunks.unwrap_or(default_chunks).max(100);
        RagOptions { chunks, files, real_files, queries, requests, probe_fraction: None, build, quick }
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

/// The server's run config: the mock's `mock-embed` as embedding model, `inline::faiss` and
/// `inline::localfs`, all state under `state`.
fn run_yaml(mock_port: u16, state: &Path, probe_fraction: Option<f64>) -> String {
    let storage = procs::sqlite_storage_yaml(state);
    let state = state.display();
    let probe = probe_fraction.map(|f| format!("\n      ivf_probe_fraction: {f}")).unwrap_or_default();
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
  - provider_id: faiss
    provider_type: inline::faiss
    config:
      persistence:
        namespace: vector_io::faiss
        backend: kv_default{probe}
  files:
  - provider_id: localfs
    provider_type: inline::localfs
    config:
      storage_dir: {state}/files
      metadata_store:
        table_name: files_metadata
        backend: sql_default
{storage}vector_stores:
  default_provider_id: faiss
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

    async fn create_store(&self, name: &str, model: &str) -> anyhow::Result<String> {
        let body = json!({"name": name, "embedding_model": model, "embedding_dimension": DIM, "provider_id": "faiss"});
        let store = self.post("/v1/vector_stores", &body).await?;
        store["id"].as_str().map(str::to_owned).context("the vector store has no id")
    }
}

async fn measure(binaries: &procs::Binaries, state: &Path, options: &RagOptions) -> anyhow::Result<RagReport> {
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

    let config = state.join("run.yaml");
    std::fs::write(&config, run_yaml(mock_port, state, options.probe_fraction)).context("writing run.yaml")?;
    let port = procs::free_port()?;
    let api = Api { http: reqwest::Client::new(), base: format!("http://127.0.0.1:{port}") };
    let args = ["run".to_owned(), config.display().to_string(), "--port".to_owned(), port.to_string(), "--host".to_owned(), "127.0.0.1".to_owned()];
    let start_server = || Guard::spawn("llama-stack server", &binaries.server, &args, state.join("server.log"), None);
    let mut server = start_server()?;
    server.wait_ready(&probe, &format!("{}/v1/health", api.base), "OK", Instant::now()).await?;

    let corpus = Corpus::new();
    let mut report = RagReport::new(options);

    eprintln!("(a) ingesting {} files", options.files);
    report.ingest = Some(ingest(&api, &corpus, options.files, MOCK_MODEL).await?);
    server.ensure_running()?;
    let real_ready = api.post("/v1/embeddings", &json!({"model": REAL_MODEL, "input": "probe"})).await;
    match real_ready {
        Ok(_) => {
            eprintln!("(a) ingesting {} files with {REAL_MODEL}", options.real_files);
            report.ingest_real = Some(ingest(&api, &corpus, options.real_files, REAL_MODEL).await?);
        }
        Err(e) => eprintln!("(a) skipping {REAL_MODEL} (scripts/models.sh installs its weights): {e:#}"),
    }

    eprintln!("(b) embedding {} chunks through the mock", options.chunks);
    let mut rng = Rng::new(11);
    let texts: Vec<String> = (0..options.chunks).map(|_| corpus.passage(rng.below(corpus.topics()), CHUNK_WORDS, &mut rng)).collect();
    let vectors = embed(&mock, &texts).await?;
    let store = api.create_store("bench-search", MOCK_MODEL).await?;
    eprintln!("(b) inserting {} chunks through /v1/vector-io/insert", options.chunks);
    report.insert = insert(&api, &store, &texts, &vectors).await?;
    drop(texts);
    report.index_kind = index_kind(&server);

    let queries: Vec<String> = (0..options.queries).map(|_| corpus.query(&mut rng)).collect();
    let query_vectors = embed(&mock, &queries).await?;
    eprintln!("(b) exact top-10 of {} queries by brute force", queries.len());
    let truth = ExactTruth::new(&vectors, &query_vectors);
    let bodies: Vec<String> = queries.iter().map(|q| json!({"query": q, "max_num_results": 10}).to_string()).collect();
    let path = format!("/v1/vector_stores/{store}/search");
    report.recall = recall(&api, &path, &bodies, &truth).await?;
    eprintln!("(b) recall@10 {:.3}", report.recall);
    report.search_c1 = search_load(&api, &path, &bodies, options.requests, 1).await?;
    report.search_c4 = search_load(&api, &path, &bodies, options.requests, 4).await?;
    report.embed_c1 = embed_latency(&mock, &queries, options.requests.min(500)).await?;
    report.rss_mib = procs::memory(server.pid())?.rss_mib;
    eprintln!("(b) search c=1 p50 {:.2} ms p99 {:.2} ms", report.search_c1.percentile_ms(0.5), report.search_c1.percentile_ms(0.99));

    eprintln!("(c) restarting the server");
    drop(server);
    let restarted = Instant::now();
    let mut server = start_server()?;
    server.wait_ready(&probe, &format!("{}/v1/health", api.base), "OK", restarted).await?;
    let first = first_answer(&api, &path, &bodies[0], &mut server).await?;
    report.restart_first_search = restarted.elapsed();
    report.restart_first_latency = first;
    report.restart_recall = recall(&api, &path, &bodies, &truth).await?;
    report.restart_rss_mib = procs::memory(server.pid())?.rss_mib;
    drop(server);
    drop(mock_proc);
    Ok(report)
}

/// Uploads `files` generated files, attaches them to a new store embedding with `model` as one
/// batch and waits until it completes.
async fn ingest(api: &Api, corpus: &Corpus, files: usize, model: &str) -> anyhow::Result<Ingestion> {
    let mut rng = Rng::new(5);
    let docs: Vec<String> = (0..files).map(|_| corpus.document(40, 300, &mut rng)).collect();
    let bytes = docs.iter().map(String::len).sum();
    let started = Instant::now();
    let mut file_ids = Vec::with_capacity(docs.len());
    for (i, doc) in docs.iter().enumerate() {
        file_ids.push(api.upload(&format!("doc-{i}.txt"), doc).await?);
    }
    let upload = started.elapsed();
    let store = api.create_store("bench-ingest", model).await?;
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

/// Which index the server reports having built (its log names the move to IVF); the
/// provider's log lines go to stderr.
fn index_kind(server: &Guard) -> &'static str {
    let log = server.log_tail(400);
    log.lines().filter(|l| l.contains("inline::faiss")).for_each(|l| eprintln!("    server: {l}"));
    if log.contains("moved a vector store to an IVF index") { "ivf" } else { "flat" }
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

/// recall@10 over every query: a result counts when its exact distance is within the true top
/// 10's (ties at the 10th place count for whichever chunk the index returns).
async fn recall(api: &Api, path: &str, bodies: &[String], truth: &ExactTruth) -> anyhow::Result<f64> {
    let mut hits = 0usize;
    for (q, body) in bodies.iter().enumerate() {
        let page = api.post_raw(path, body.clone()).await?;
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
    Ok(hits as f64 / (bodies.len() * 10) as f64)
}

/// `requests` searches (queries in turn) by `concurrency` workers, after a short warm-up.
async fn search_load(api: &Api, path: &str, bodies: &[String], requests: usize, concurrency: usize) -> anyhow::Result<Latencies> {
    for body in bodies.iter().take(20) {
        api.post_raw(path, body.clone()).await?;
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
                if i >= requests {
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
