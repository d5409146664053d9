//! The `llama-stack` binary as a process: serving under a small file-descriptor limit while
//! hundreds of idle or half-sent connections are held, SIGTERM's graceful shutdown, a busy port,
//! settings that are refused, and plain (colourless) logs when stderr is not a terminal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{SocketAddr, TcpListener as StdListener};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_llama-stack");

struct Running {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Running {
    fn log(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    async fn wait_for_log(&self, needle: &str, within: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < within {
            if self.log().contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// The exit status, once the process ends within `within`.
    async fn exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `llama-stack <args> <run.yaml>` with `server` settings under `ulimit -n fd_limit`.
async fn spawn(command: &str, server: &str, fd_limit: u32) -> Running {
    spawn_on(free_port(), command, server, fd_limit).await
}

async fn spawn_on(port: u16, command: &str, server: &str, fd_limit: u32) -> Running {
    let backend = backend().await;
    let dir = tempfile::tempdir().unwrap();
    let server = format!("  host: 127.0.0.1\n{server}");
    let yaml =
        run_yaml(dir.path(), backend, &server).replace("port: 8321", &format!("port: {port}"));
    let path = dir.path().join("run.yaml");
    std::fs::write(&path, yaml).unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n {fd_limit} && exec \"$0\" {command} \"$1\""
        ))
        .arg(BIN)
        .arg(&path)
        .env("LLAMA_STACK_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = collect_lines(child.stderr.take().unwrap());
    Running {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        stderr,
        _dir: dir,
    }
}

async fn started(server: &str, fd_limit: u32) -> Running {
    let running = spawn("run", server, fd_limit).await;
    assert!(
        running
            .wait_for_log("listening on http://", Duration::from_secs(60))
            .await,
        "{}",
        running.log()
    );
    running
}

#[tokio::test]
async fn health_answers_while_hundreds_of_idle_connections_are_held_under_256_fds() {
    let running = started("  header_read_timeout_s: 2\n  keepalive_timeout_s: 2", 256).await;
    let mut held = Vec::new();
    for i in 0..400 {
        let mut tcp = TcpStream::connect(running.addr).await.unwrap();
        if i % 2 == 1 {
            tcp.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        held.push(tcp);
    }
    let started = Instant::now();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = client
        .get(format!("http://{}/v1/health", running.addr))
        .send()
        .await
        .expect("health answers");
    assert_eq!(response.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "health took {:?}",
        started.elapsed()
    );
    let closed = futures::future::join_all(
        held.iter_mut()
            .map(|tcp| closed_within(tcp, Duration::from_secs(15))),
    )
    .await;
    assert_eq!(
        closed.iter().filter(|c| **c).count(),
        400,
        "every idle or half-sent connection is closed"
    );
    assert!(
        running
            .log()
            .contains("closing idle connections to make room"),
        "the fd limit was reached: {}",
        running.log()
    );
    // A new connection: the pooled one from the first request idled past keepalive_timeout_s and
    // the server closes it, racing a reuse.
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = fresh
        .get(format!("http://{}/v1/health", running.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn sigterm_drains_streams_within_the_grace_period_and_exits_cleanly() {
    let mut running = started("  shutdown_grace_period_s: 1", 1024).await;
    let client = reqwest::Client::new();
    let mut response = client
        .post(format!("http://{}/v1/chat/completions", running.addr))
        .header("content-type", "application/json")
        .body(r#"{"model": "bad/forever", "messages": [{"role": "user", "content": "hi"}], "stream": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.chunk().await.unwrap().unwrap();
    running.signal("TERM");
    let mut rest = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        rest.extend_from_slice(&chunk);
    }
    let events = events(&String::from_utf8_lossy(&rest));
    let last = events.last().unwrap();
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shutting down"),
        "{last}"
    );
    let status = running
        .exit(Duration::from_secs(10))
        .await
        .expect("the process exits");
    assert!(status.success(), "{status:?}\n{}", running.log());
    let log = running.log();
    assert!(log.contains("shutting down: no longer accepting"), "{log}");
    assert!(log.contains("shutdown complete"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "no colour escapes when stderr is not a terminal: {log}"
    );
}

#[tokio::test]
async fn a_busy_port_fails_before_claiming_to_listen() {
    let holder = StdListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let mut running = spawn_on(port, "run", "", 1024).await;
    let status = running.exit(Duration::from_secs(30)).await.expect("exits");
    let log = running.log();
    assert!(!status.success(), "{log}");
    assert!(log.contains("cannot listen on"), "{log}");
    assert!(!log.contains("listening on"), "{log}");
}

#[tokio::test]
async fn validate_refuses_settings_that_are_incomplete_or_not_implemented() {
    for (server, expected) in [
        (
            "  auth:\n    provider_config: {type: oauth2_token}",
            "server.auth.provider_config.jwks: oauth2_token needs one of jwks and introspection",
        ),
        (
            "  quota: {kvstore: {backend: sql_default, namespace: quota}}",
            "server.quota.kvstore.backend: needs a kv_* backend",
        ),
        (
            "  cors: {allow_origins: ['*'], allow_credentials: true}",
            "Cannot use wildcard origins with credentials enabled",
        ),
        (
            "  keepalive_timeout_s: 0",
            "server.keepalive_timeout_s: must be a number of seconds above 0",
        ),
    ] {
        for command in ["validate", "run"] {
            let mut running = spawn(command, server, 1024).await;
            let status = running.exit(Duration::from_secs(30)).await.expect("exits");
            let log = running.log();
            assert!(!status.success(), "{command} {server}: {log}");
            assert!(log.contains(expected), "{command} {server}: {log}");
        }
    }
}
