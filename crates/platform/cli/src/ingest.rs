//! `llama-stack ingest DIR --vector-store NAME`: uploads every file under a folder to a running
//! server (`/v1/files`), finds or creates the vector store by name, attaches the files as one file
//! batch and waits until they are indexed, with progress bars and a summary at the end.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// `ingest`'s arguments.
#[derive(clap::Args, Debug)]
pub struct IngestArgs {
    /// The folder whose files are uploaded (subfolders included; names starting with '.' are skipped).
    dir: PathBuf,
    /// The vector store's name: the existing store of that name, else a new one.
    #[arg(long = "vector-store", value_name = "NAME")]
    vector_store: String,
    /// The server's address.
    #[arg(long, env = "LLAMA_STACK_CLIENT_BASE_URL", default_value = "http://localhost:8321")]
    url: String,
    /// Bearer token when the server has authentication on.
    #[arg(long, env = "LLAMA_STACK_CLIENT_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// The vector_io provider of a new store (default: the server's `vector_stores.default_provider_id`).
    #[arg(long)]
    provider_id: Option<String>,
    /// The embedding model of a new store (default: the server's default embedding model).
    #[arg(long)]
    embedding_model: Option<String>,
    /// Files uploaded at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Seconds to wait for indexing before giving up (the server goes on with it).
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
}

/// One file under the folder.
#[derive(Debug, Clone)]
struct LocalFile {
    path: PathBuf,
    /// Its path under the folder, for messages.
    shown: String,
}

/// What went wrong with one file.
#[derive(Debug)]
struct Failure {
    file: String,
    why: String,
}

/// Runs the command on its own small runtime.
pub fn run(args: IngestArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(ingest(args))
}

async fn ingest(args: IngestArgs) -> Result<(), String> {
    let started = Instant::now();
    let files = list_files(&args.dir)?;
    if files.is_empty() {
        return Err(format!("{} holds no files to ingest", args.dir.display()));
    }
    let server = Server::new(&args.url, args.api_key.as_deref())?;
    let store = server.find_or_create_store(&args).await?;
    let store_id = str_field(&store, "id")?;
    let mut err = std::io::stderr();
    let _ = writeln!(err, "vector store '{}' ({store_id}); {} files to upload", args.vector_store, files.len());

    let (uploaded, mut failures) = upload_all(&server, &files, args.concurrency.max(1)).await;
    let bytes: u64 = uploaded.iter().map(|u| u.bytes).sum();
    let (mut indexed, mut chunks) = (0, 0);
    if !uploaded.is_empty() {
        let ids: Vec<&str> = uploaded.iter().map(|u| u.id.as_str()).collect();
        let batch = server.post_json(&format!("/v1/vector_stores/{store_id}/file_batches"), &json!({ "file_ids": ids })).await?;
        let batch = wait_for_batch(&server, &store_id, batch, Duration::from_secs(args.timeout)).await?;
        indexed = batch.pointer("/file_counts/completed").and_then(Value::as_u64).unwrap_or(0);
        let names: HashMap<&str, &str> = uploaded.iter().map(|u| (u.id.as_str(), u.shown.as_str())).collect();
        let failed = server.failed_files(&store_id, &str_field(&batch, "id")?, &names).await?;
        let failed_ids: Vec<&str> = failed.iter().map(|(id, _)| id.as_str()).collect();
        let done: Vec<&str> = ids.iter().copied().filter(|id| !failed_ids.contains(id)).collect();
        chunks = server.count_chunks(&store_id, &done).await;
        failures.extend(failed.into_iter().map(|(_, f)| f));
    }
    let store = server.get_json(&format!("/v1/vector_stores/{store_id}")).await?;
    let summary = Summary {
        store: &args.vector_store,
        store_id: &store_id,
        files: files.len(),
        uploaded: uploaded.len(),
        bytes,
        indexed,
        chunks,
        store_files: store.pointer("/file_counts/total").and_then(Value::as_u64).unwrap_or(0),
        store_bytes: store.get("usage_bytes").and_then(Value::as_u64).unwrap_or(0),
        failures: &failures,
        elapsed: started.elapsed(),
    };
    let _ = write!(std::io::stdout(), "{summary}");
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} of {} files were not ingested", failures.len(), files.len()))
    }
}

/// Every regular file under `dir`, sorted by path; hidden entries (`.git`, `.DS_Store`) are skipped.
fn list_files(dir: &Path) -> Result<Vec<LocalFile>, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    let hidden = |e: &walkdir::DirEntry| e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.');
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(true).sort_by_file_name().into_iter().filter_entry(|e| !hidden(e)) {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        if entry.file_type().is_file() {
            let shown = entry.path().strip_prefix(dir).unwrap_or(entry.path()).display().to_string();
            files.push(LocalFile { path: entry.into_path(), shown });
        }
    }
    Ok(files)
}

/// A file the server has.
struct Uploaded {
    id: String,
    shown: String,
    bytes: u64,
}

/// Uploads `files`, `concurrency` at a time, with a progress bar; a file that fails is a failure,
/// not the end of the run.
async fn upload_all(server: &Server, files: &[LocalFile], concurrency: usize) -> (Vec<Uploaded>, Vec<Failure>) {
    let bar = bar(files.len() as u64, "uploading");
    let mut results = futures::stream::iter(files.iter().cloned())
        .map(|f| async move {
            let outcome = server.upload(&f).await;
            (f, outcome)
        })
        .buffer_unordered(concurrency);
    let (mut uploaded, mut failures) = (Vec::new(), Vec::new());
    while let Some((file, outcome)) = results.next().await {
        bar.set_message(file.shown.clone());
        match outcome {
            Ok((id, bytes)) => uploaded.push(Uploaded { id, shown: file.shown, bytes }),
            Err(why) => failures.push(Failure { file: file.shown, why }),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let bytes: u64 = uploaded.iter().map(|u| u.bytes).sum();
    let _ = writeln!(std::io::stderr(), "uploaded {} of {} files ({bytes} bytes)", uploaded.len(), files.len());
    (uploaded, failures)
}

/// Polls the batch until it is no longer in progress, moving a progress bar by its file counts.
async fn wait_for_batch(server: &Server, store_id: &str, mut batch: Value, timeout: Duration) -> Result<Value, String> {
    let batch_id = str_field(&batch, "id")?;
    let count = |b: &Value, k: &str| b.pointer(&format!("/file_counts/{k}")).and_then(Value::as_u64).unwrap_or(0);
    let bar = bar(count(&batch, "total"), "indexing");
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(100);
    loop {
        let done = count(&batch, "completed") + count(&batch, "failed") + count(&batch, "cancelled");
        bar.set_position(done);
        bar.set_message(format!("{} failed", count(&batch, "failed")));
        if batch.get("status").and_then(Value::as_str) != Some("in_progress") {
            bar.finish_and_clear();
            let (indexed, failed) = (count(&batch, "completed"), count(&batch, "failed"));
            let _ = writeln!(std::io::stderr(), "indexed {indexed} files, {failed} failed ({batch_id})");
            return Ok(batch);
        }
        if Instant::now() > deadline {
            bar.abandon();
            return Err(format!(
                "the files are still being indexed after {}s (file batch {batch_id}); the server goes on with them",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
        batch = server.get_json(&format!("/v1/vector_stores/{store_id}/file_batches/{batch_id}")).await?;
    }
}

fn bar(len: u64, prefix: &'static str) -> ProgressBar {
    let style = ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    ProgressBar::new(len).with_style(style).with_prefix(prefix)
}

/// The summary printed at the end.
struct Summary<'a> {
    store: &'a str,
    store_id: &'a str,
    files: usize,
    uploaded: usize,
    bytes: u64,
    indexed: u64,
    /// Chunks of the files indexed now.
    chunks: usize,
    store_files: u64,
    store_bytes: u64,
    failures: &'a [Failure],
    elapsed: Duration,
}

impl std::fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "vector store '{}' ({})", self.store, self.store_id)?;
        writeln!(f, "  files:    {} found, {} uploaded ({} bytes), {} indexed, {} failed", self.files, self.uploaded, self.bytes, self.indexed, self.failures.len())?;
        writeln!(f, "  chunks:   {}", self.chunks)?;
        writeln!(f, "  store:    {} files, {} bytes indexed", self.store_files, self.store_bytes)?;
        writeln!(f, "  time:     {:.1} s", self.elapsed.as_secs_f64())?;
        for failure in self.failures {
            writeln!(f, "  failed:   {}: {}", failure.file, failure.why)?;
        }
        Ok(())
    }
}

/// The server's HTTP API, as far as ingestion needs it.
struct Server {
    client: reqwest::Client,
    base: String,
}

impl Server {
    fn new(url: &str, api_key: Option<&str>) -> Result<Server, String> {
        let mut headers = HeaderMap::new();
        if let Some(key) = api_key.filter(|k| !k.is_empty()) {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| "--api-key holds characters a header cannot".to_owned())?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        let base = url.trim_end_matches('/').trim_end_matches("/v1").to_owned();
        Ok(Server { client, base })
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Value, String> {
        let response = request.send().await.map_err(|e| format!("{what}: cannot reach the server at {}: {e}", self.base))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let message = body
            .pointer("/error/message")
            .or_else(|| body.get("detail"))
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        Err(format!("{what}: {status}: {message}"))
    }

    async fn get_json(&self, path: &str) -> Result<Value, String> {
        self.send(self.client.get(format!("{}{path}", self.base)), &format!("GET {path}")).await
    }

    async fn post_json(&self, path: &str, body: &Value) -> Result<Value, String> {
        self.send(self.client.post(format!("{}{path}", self.base)).json(body), &format!("POST {path}")).await
    }

    /// The store named `args.vector_store`, created when there is none; several of that name
    /// are an error (which one is meant is not known).
    async fn find_or_create_store(&self, args: &IngestArgs) -> Result<Value, String> {
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let cursor = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
            let page = self.get_json(&format!("/v1/vector_stores?limit=100{cursor}")).await?;
            let data = page.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
            after = data.last().and_then(|s| s.get("id")).and_then(Value::as_str).map(str::to_owned);
            found.extend(data.into_iter().filter(|s| s.get("name").and_then(Value::as_str) == Some(args.vector_store.as_str())));
            if page.get("has_more").and_then(Value::as_bool) != Some(true) || after.is_none() {
                break;
            }
        }
        match found.len() {
            0 => {
                let mut body = json!({ "name": args.vector_store });
                if let Some(p) = &args.provider_id {
                    body["provider_id"] = json!(p);
                }
                if let Some(m) = &args.embedding_model {
                    body["embedding_model"] = json!(m);
                }
                self.post_json("/v1/vector_stores", &body).await
            }
            1 => Ok(found.remove(0)),
            n => {
                let ids: Vec<&str> = found.iter().filter_map(|s| s.get("id").and_then(Value::as_str)).collect();
                Err(format!("{n} vector stores are named '{}' ({}): rename or delete all but one", args.vector_store, ids.join(", ")))
            }
        }
    }

    /// Uploads one file for `assistants`; its id and size.
    async fn upload(&self, file: &LocalFile) -> Result<(String, u64), String> {
        let bytes = tokio::fs::read(&file.path).await.map_err(|e| format!("cannot read it: {e}"))?;
        let name = file.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| file.shown.clone());
        let mime = mime_guess::from_path(&file.path).first_or_octet_stream();
        let part = Part::bytes(bytes).file_name(name).mime_str(mime.as_ref()).map_err(|e| e.to_string())?;
        let form = Form::new().text("purpose", "assistants").part("file", part);
        let uploaded = self.send(self.client.post(format!("{}/v1/files", self.base)).multipart(form), "upload").await?;
        let id = str_field(&uploaded, "id")?;
        Ok((id, uploaded.get("bytes").and_then(Value::as_u64).unwrap_or(0)))
    }

    /// How many chunks the store holds of `file_ids` (their contents' items), a few files at a time;
    /// a file whose contents cannot be read counts none.
    async fn count_chunks(&self, store_id: &str, file_ids: &[&str]) -> usize {
        futures::stream::iter(file_ids)
            .map(|id| async move {
                let content = self.get_json(&format!("/v1/vector_stores/{store_id}/files/{id}/content")).await;
                content.ok().and_then(|c| c.get("content").and_then(Value::as_array).map(Vec::len)).unwrap_or(0)
            })
            .buffer_unordered(8)
            .fold(0, |sum, n| async move { sum + n })
            .await
    }

    /// The batch's failed files (id, and its name with the server's reason).
    async fn failed_files(&self, store_id: &str, batch_id: &str, names: &HashMap<&str, &str>) -> Result<Vec<(String, Failure)>, String> {
        let mut failures = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let cursor = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
            let path = format!("/v1/vector_stores/{store_id}/file_batches/{batch_id}/files?filter=failed&limit=100{cursor}");
            let page = self.get_json(&path).await?;
            let data = page.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
            after = data.last().and_then(|s| s.get("id")).and_then(Value::as_str).map(str::to_owned);
            for file in &data {
                let id = file.get("id").and_then(Value::as_str).unwrap_or_default();
                let why = file.pointer("/last_error/message").and_then(Value::as_str).unwrap_or("indexing failed");
                let file = names.get(id).map_or_else(|| id.to_owned(), |n| (*n).to_owned());
                failures.push((id.to_owned(), Failure { file, why: why.to_owned() }));
            }
            if page.get("has_more").and_then(Value::as_bool) != Some(true) || after.is_none() {
                return Ok(failures);
            }
        }
    }
}

fn str_field(v: &Value, key: &str) -> Result<String, String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| format!("the server's answer has no '{key}': {v}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn files_are_listed_sorted_without_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        for name in ["b.txt", "a.md", "sub/c.txt", ".hidden", ".git/config"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let shown: Vec<String> = list_files(dir.path()).unwrap().into_iter().map(|f| f.shown).collect();
        assert_eq!(shown, ["a.md", "b.txt", "sub/c.txt"]);
    }

    #[test]
    fn a_missing_folder_is_an_error() {
        let err = list_files(Path::new("/nonexistent/folder")).unwrap_err();
        assert!(err.contains("is not a folder"), "{err}");
    }

    #[test]
    fn the_base_url_takes_a_trailing_v1() {
        assert_eq!(Server::new("http://h:1/v1/", None).unwrap().base, "http://h:1");
        assert_eq!(Server::new("http://h:1", Some("k")).unwrap().base, "http://h:1");
    }

    #[test]
    fn the_summary_names_failures() {
        let failures = [Failure { file: "bad.pdf".into(), why: "no text".into() }];
        let s = Summary {
            store: "docs",
            store_id: "vs_1",
            files: 3,
            uploaded: 3,
            bytes: 30,
            indexed: 2,
            chunks: 7,
            store_files: 3,
            store_bytes: 20,
            failures: &failures,
            elapsed: Duration::from_millis(1500),
        }
        .to_string();
        assert!(s.contains("3 found, 3 uploaded (30 bytes), 2 indexed, 1 failed"), "{s}");
        assert!(s.contains("failed:   bad.pdf: no text"), "{s}");
        assert!(s.contains("chunks:   7"), "{s}");
    }
}
