//! The processes under test: building the release binaries, the run.yaml, spawning on free
//! loopback ports (optionally pinned to a CPU), waiting for health, reading RSS and CPU time,
//! and killing them on every exit path.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::load::HttpClient;

/// How long a process may take to answer its readiness probe before the bench gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often readiness is probed (the startup figure is only as fine as this).
const POLL_EVERY: Duration = Duration::from_millis(2);

/// The release binaries the bench drives.
pub struct Binaries {
    pub server: PathBuf,
    pub mock: PathBuf,
}

/// `cargo build --release` of the server and the mock (unless `build` is false), then their paths.
pub fn binaries(build: bool) -> anyhow::Result<Binaries> {
    if build {
        eprintln!("building release binaries (cargo build --release -p lls-distribution-starter -p lls-testkit --bins)");
        let status = crate::cargo_command()
            .args(["build", "--release", "-p", "lls-distribution-starter", "-p", "lls-testkit", "--bins"])
            .status()
            .context("running cargo build")?;
        if !status.success() {
            bail!("cargo build --release failed ({status})");
        }
    }
    let release = target_directory()?.join("release");
    // Other builds (say, the commit before a change) can be measured with the same bench.
    let from_env = |var: &str, default: PathBuf| std::env::var_os(var).map_or(default, PathBuf::from);
    let binaries = Binaries {
        server: from_env("LLS_BENCH_SERVER_BIN", release.join("llama-stack")),
        mock: from_env("LLS_BENCH_MOCK_BIN", release.join("lls-mock-openai")),
    };
    for path in [&binaries.server, &binaries.mock] {
        if !path.is_file() {
            bail!("{} does not exist (run without --no-build)", path.display());
        }
    }
    Ok(binaries)
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR` and `.cargo/config.toml`).
pub(super) fn target_directory() -> anyhow::Result<PathBuf> {
    let output = crate::cargo_command()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed ({})", output.status);
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
    metadata["target_directory"].as_str().map(PathBuf::from).context("cargo metadata has no target_directory")
}

/// A free port on 127.0.0.1 (bound then released; the spawned process binds it right after).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).context("binding a loopback port")?;
    Ok(listener.local_addr().context("reading the bound port")?.port())
}

/// run.yaml's `storage:` block for the benchmarks: SQLite kv and sql backends under `state`,
/// with the registry and the inference store in them.
pub fn sqlite_storage_yaml(state: &Path) -> String {
    let state = state.display();
    format!(
        r#"storage:
  backends:
    kv_default:
      type: kv_sqlite
      db_path: {state}/kvstore.db
    sql_default:
      type: sql_sqlite
      db_path: {state}/sql_store.db
  stores:
    metadata:
      namespace: registry
      backend: kv_default
    inference:
      table_name: inference_store
      backend: sql_default
"#
    )
}

/// Where the server under test keeps stored chat completions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InferenceStore {
    /// No `storage.stores.inference`: completions are not stored.
    None,
    /// The SQLite sql backend in the state directory.
    Sqlite,
    /// A PostgreSQL sql backend at this `postgres://` URL (a fresh table per run).
    Postgres(String),
}

/// `server.auth` for the authenticated rows: `oauth2_token` over this JWKS.
pub struct Auth {
    pub jwks_uri: String,
    pub issuer: String,
}

/// The server's run config: the mock as `remote::openai` provider `mock`, the registry in SQLite
/// under `state`, stored chat completions where `store` says, authentication when `auth` says.
pub fn run_yaml(mock_port: u16, state: &Path, store: &InferenceStore, auth: Option<&Auth>) -> anyhow::Result<String> {
    let auth = auth.map_or(String::new(), |a| {
        format!(
            "  auth:\n    provider_config:\n      type: oauth2_token\n      issuer: {}\n      audience: llama-stack\n      jwks:\n        uri: {}\n",
            a.issuer, a.jwks_uri
        )
    });
    let dir = state.display();
    let (backend, inference) = match store {
        InferenceStore::None => (String::new(), String::new()),
        InferenceStore::Sqlite => (
            format!("    sql_default:\n      type: sql_sqlite\n      db_path: {dir}/sql_store.db\n"),
            "    inference:\n      table_name: inference_store\n      backend: sql_default\n".to_owned(),
        ),
        InferenceStore::Postgres(url) => {
            let url = reqwest::Url::parse(url).with_context(|| format!("the PostgreSQL URL {url:?} is invalid"))?;
            let db = url.path().trim_start_matches('/');
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let table = format!("bench_inference_{now}_{}", std::process::id());
            (
                format!(
                    "    sql_default:\n      type: sql_postgres\n      host: {}\n      port: {}\n      db: {}\n      user: {}\n      password: {}\n",
                    url.host_str().unwrap_or("127.0.0.1"),
                    url.port().unwrap_or(5432),
                    if db.is_empty() { "postgres" } else { db },
                    if url.username().is_empty() { "postgres" } else { url.username() },
                    url.password().unwrap_or("\"\""),
                ),
                format!("    inference:\n      table_name: {table}\n      backend: sql_default\n"),
            )
        }
    };
    Ok(format!(
        r#"# Written by `cargo xtask bench gateway`.
version: 2
image_name: xtask-bench
apis:
- inference
providers:
  inference:
  - provider_id: mock
    provider_type: remote::openai
    config:
      base_url: http://127.0.0.1:{mock_port}/v1
      api_key: mock-key
storage:
  backends:
    kv_default:
      type: kv_sqlite
      db_path: {dir}/kvstore.db
{backend}  stores:
    metadata:
      namespace: registry
      backend: kv_default
{inference}registered_resources:
  models:
  - model_id: mock-embed
    provider_id: mock
    provider_model_id: mock-embed
    model_type: embedding
    metadata:
      embedding_dimension: 384
  - model_id: fixed-embed
    provider_id: mock
    provider_model_id: fixed-embed
    model_type: embedding
    metadata:
      embedding_dimension: 384
server:
  host: 127.0.0.1
  port: 8321
{auth}"#
    ))
}

/// A spawned process that is killed (and reaped) when dropped, on success, error or Ctrl-C.
pub struct Guard {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Guard {
    /// Spawns `program args` with stdout and stderr going to `log`; with `cpu`, pinned to that
    /// CPU (`taskset -c`, which execs the program, so the pid is the program's).
    pub fn spawn(name: &'static str, program: &Path, args: &[String], log: PathBuf, cpu: Option<usize>) -> anyhow::Result<Guard> {
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone().context("duplicating the log handle")?;
        let mut command = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(program);
                c
            }
            None => Command::new(program),
        };
        let child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("spawning {}", program.display()))?;
        Ok(Guard { name, child, log })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the process as an operator would (SIGTERM, so it can release what it holds) and
    /// waits for it to exit; killed if it has not within `grace`. Returns how long it took.
    pub fn stop(mut self, grace: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().context("running kill")?;
        if !status.success() {
            bail!("kill -TERM {} failed ({status})", self.child.id());
        }
        while started.elapsed() < grace {
            if self.child.try_wait().context("polling the child")?.is_some() {
                return Ok(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        bail!("{} did not exit within {grace:?} of SIGTERM (killed); last log lines:\n{}", self.name, self.log_tail(30))
    }

    /// Fails with the log's tail if the process has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait().context("polling the child")? {
            bail!("{} exited early ({status}); last log lines:\n{}", self.name, self.log_tail(30));
        }
        Ok(())
    }

    /// The last `lines` lines of the process's output.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Polls `url` every 2 ms until it answers 200 with a body containing `expect`; returns the
    /// time since `since`.
    pub async fn wait_ready(&mut self, client: &HttpClient, url: &str, expect: &str, since: Instant) -> anyhow::Result<Duration> {
        let deadline = since + READY_TIMEOUT;
        loop {
            if let Ok((200, body)) = client.get(url).await
                && String::from_utf8_lossy(&body).contains(expect)
            {
                return Ok(since.elapsed());
            }
            self.ensure_running()?;
            if Instant::now() > deadline {
                bail!("{} did not answer {url} within {READY_TIMEOUT:?}; last log lines:\n{}", self.name, self.log_tail(30));
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        if let Err(e) = self.child.kill() {
            eprintln!("could not kill {} (pid {}): {e}", self.name, self.child.id());
        }
        let _ = self.child.wait();
    }
}

/// The CPU time (user + system, every thread, living or exited) `pid` has used so far, from
/// `/proc/PID/stat` (`utime` + `stime`, in clock ticks of 10 ms: Linux's `USER_HZ` is 100).
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).with_context(|| format!("{path} has no ')'"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<u64> {
        fields.get(i).and_then(|v| v.parse().ok()).with_context(|| format!("{path}: cannot read field {}", i + 3))
    };
    // Fields 14 (utime) and 15 (stime); field 3 is index 0 here.
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

/// The CPUs this process may run on (`Cpus_allowed_list` of `/proc/self/status`), ascending.
pub fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let Some(list) = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")) else {
        return Vec::new();
    };
    let mut cpus = Vec::new();
    for part in list.trim().split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
                    cpus.extend(a..=b);
                }
            }
            None => cpus.extend(part.trim().parse::<usize>().ok()),
        }
    }
    cpus
}

/// Pins every thread of this process to `cpu` (`taskset -a -p`); call it before starting threads.
pub fn pin_self(cpu: usize) -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu.to_string(), &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .context("running taskset (util-linux); pass --no-pin to run without it")?;
    if !status.success() {
        bail!("taskset could not pin the load generator to CPU {cpu} ({status})");
    }
    Ok(())
}

/// Memory figures of a running process, in MiB, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// Resident set size now (`VmRSS`).
    pub rss_mib: f64,
    /// Peak resident set size so far (`VmHWM`).
    pub peak_mib: f64,
}

pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status.lines().find(|l| l.starts_with(name)).with_context(|| format!("{path} has no {name}"))?;
        let kib: f64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).with_context(|| format!("cannot parse {line:?}"))?;
        Ok(kib / 1024.0)
    };
    Ok(Memory { rss_mib: field("VmRSS:")?, peak_mib: field("VmHWM:")? })
}
