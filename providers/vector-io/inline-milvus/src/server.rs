//! [`MilvusLite`]: the Milvus Lite server this provider owns. Started with the provider on a
//! free loopback port, its output forwarded to tracing (the last lines kept for error messages),
//! stopped with SIGTERM when the provider is dropped or the server shuts down (a clean exit
//! keeps its data; SIGKILL only if it lingers).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lls_api_common::{Error, ErrorKind, Result};
use parking_lot::Mutex;

use crate::PROVIDER_TYPE;

/// The executable's name on `PATH`.
pub const EXECUTABLE: &str = "milvus-lite";
/// The env var naming the executable.
pub const EXECUTABLE_ENV: &str = "LLS_MILVUS_LITE";
/// What to install when it is missing.
pub const INSTALL_HINT: &str = "install Milvus Lite 3.2.2 and the pymilvus it imports: \
    `pip install milvus-lite==3.2.2 pymilvus==3.0.2` (then `milvus-lite` is on PATH), or \
    `scripts/milvus.sh install` and `export LLS_MILVUS_LITE=$(scripts/milvus.sh bin)`";
/// How long a SIGTERM'd server gets before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Output lines kept for error messages.
const TAIL_LINES: usize = 30;

fn unavailable(message: String) -> Error {
    Error::new(ErrorKind::UpstreamUnavailable, message).with_provider(PROVIDER_TYPE)
}

/// The executable: `configured`, else `$LLS_MILVUS_LITE`, else `milvus-lite` on `PATH`.
pub fn find_executable(configured: Option<&Path>) -> Result<PathBuf> {
    let (candidate, from) = match (configured, std::env::var_os(EXECUTABLE_ENV).filter(|v| !v.is_empty())) {
        (Some(p), _) => (Some(p.to_path_buf()), "config.milvus_lite_command"),
        (None, Some(p)) => (Some(PathBuf::from(p)), EXECUTABLE_ENV),
        (None, None) => (None, "PATH"),
    };
    if let Some(p) = candidate {
        let p = crate::config::expand_home(&p);
        return if is_executable(&p) {
            Ok(p)
        } else {
            Err(unavailable(format!("inline::milvus: {from} names {}, which is not an executable file; {INSTALL_HINT}", p.display())))
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(EXECUTABLE))
        .find(|p| is_executable(p))
        .ok_or_else(|| {
            unavailable(format!(
                "inline::milvus: Milvus Lite is not installed (no `{EXECUTABLE}` in config.milvus_lite_command, ${EXECUTABLE_ENV} or PATH); {INSTALL_HINT}"
            ))
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A running Milvus Lite.
pub struct MilvusLite {
    child: Mutex<Option<Child>>,
    uri: String,
    data_dir: PathBuf,
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl std::fmt::Debug for MilvusLite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MilvusLite").field("uri", &self.uri).field("data_dir", &self.data_dir).finish_non_exhaustive()
    }
}

impl MilvusLite {
    /// Starts `executable` serving `data_dir` and waits until it accepts connections, up to
    /// `timeout`. A server still holding the directory's lock (a previous one exiting) is waited
    /// for within the same time.
    pub async fn start(executable: &Path, data_dir: &Path, timeout: Duration) -> Result<MilvusLite> {
        if data_dir.is_file() {
            return Err(Error::invalid(format!(
                "inline::milvus: db_path {} is a file (a Milvus Lite 2.x database?); Milvus Lite 3 keeps a directory there: choose a new db_path",
                data_dir.display()
            ))
            .with_param("db_path"));
        }
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::internal(format!("inline::milvus: cannot create db_path {}: {e}", data_dir.display())))?;
        let deadline = Instant::now() + timeout;
        loop {
            let server = Self::spawn(executable, data_dir)?;
            match server.wait_ready(deadline).await {
                Ok(()) => return Ok(server),
                Err(e) => {
                    server.stop();
                    let locked = server.output().to_ascii_lowercase().contains("lock");
                    if !(locked && Instant::now() < deadline) {
                        return Err(e);
                    }
                    tracing::info!(dir = %data_dir.display(), "Milvus Lite's data directory is still locked; starting again");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        }
    }

    fn spawn(executable: &Path, data_dir: &Path) -> Result<MilvusLite> {
        let port = free_port()?;
        let mut child = Command::new(executable)
            .arg("server")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| unavailable(format!("inline::milvus: cannot run {}: {e}; {INSTALL_HINT}", executable.display())))?;
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        if let Some(out) = child.stdout.take() {
            forward(out, tail.clone());
        }
        if let Some(err) = child.stderr.take() {
            forward(err, tail.clone());
        }
        tracing::info!(pid = child.id(), port, dir = %data_dir.display(), "started Milvus Lite");
        Ok(MilvusLite { child: Mutex::new(Some(child)), uri: format!("http://127.0.0.1:{port}"), data_dir: data_dir.to_path_buf(), tail })
    }

    async fn wait_ready(&self, deadline: Instant) -> Result<()> {
        let addr: SocketAddr = self.uri.trim_start_matches("http://").parse().map_err(|e| Error::internal(format!("{e}")))?;
        loop {
            if let Some(status) = self.exited() {
                // Let the output readers catch up with the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(unavailable(format!(
                    "inline::milvus: Milvus Lite exited ({status}) before it was ready; its last output:\n{}",
                    self.output()
                )));
            }
            if tokio::task::spawn_blocking(move || TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok())
                .await
                .unwrap_or(false)
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("inline::milvus: Milvus Lite did not answer on {} within config.startup_timeout; its last output:\n{}", self.uri, self.output()),
                )
                .with_provider(PROVIDER_TYPE));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The exit status, once it has exited.
    pub fn exited(&self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.lock();
        match child.as_mut().map(Child::try_wait) {
            Some(Ok(Some(status))) => Some(status),
            Some(_) => None,
            None => Some(std::process::ExitStatus::default()),
        }
    }

    /// The last lines it printed.
    pub fn output(&self) -> String {
        self.tail.lock().iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Stops it: SIGTERM, then SIGKILL after [`STOP_GRACE`]; waits for the exit (blocking, at
    /// most that long), so its lock on the data directory is gone when this returns.
    pub fn stop(&self) {
        let Some(mut child) = self.child.lock().take() else { return };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = rustix::process::kill_process(rustix::process::Pid::from_child(&child), rustix::process::Signal::TERM);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                tracing::info!(dir = %self.data_dir.display(), "stopped Milvus Lite");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::warn!(dir = %self.data_dir.display(), "Milvus Lite ignored SIGTERM; killing it");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for MilvusLite {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nobody listens on now (the kernel's pick; released for the child to bind).
fn free_port() -> Result<u16> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::internal(format!("inline::milvus: no free loopback port: {e}")))
}

/// Forwards a child's output to tracing on its own thread, keeping the last lines.
fn forward(stream: impl Read + Send + 'static, tail: Arc<Mutex<VecDeque<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(std::result::Result::ok) {
            tracing::debug!(target: "milvus_lite", "{line}");
            let mut tail = tail.lock();
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_executable_says_what_to_install() {
        let e = find_executable(Some(Path::new("/nonexistent/milvus-lite"))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
        assert!(e.message().contains("pip install milvus-lite==3.2.2 pymilvus==3.0.2"), "{e}");
        assert!(e.message().contains("config.milvus_lite_command"), "{e}");
        // A directory or a plain file is not an executable either.
        assert!(find_executable(Some(Path::new("/"))).is_err());
        assert_eq!(find_executable(Some(Path::new("/bin/sh"))).unwrap(), PathBuf::from("/bin/sh"));
    }

    #[tokio::test]
    async fn a_server_that_exits_at_once_is_reported_with_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fake-milvus-lite");
        std::fs::write(&script, "#!/bin/sh\necho \"cannot start: $*\" >&2\nexit 3\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = MilvusLite::start(&script, &dir.path().join("data"), Duration::from_secs(20)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable, "{e}");
        assert!(e.message().contains("cannot start: server --data-dir"), "{e}");
    }

    #[tokio::test]
    async fn a_file_where_the_directory_goes_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("milvus.db");
        std::fs::write(&file, b"old").unwrap();
        let e = MilvusLite::start(Path::new("/bin/sh"), &file, Duration::from_secs(1)).await.unwrap_err();
        assert_eq!((e.kind(), e.param()), (ErrorKind::InvalidRequest, Some("db_path")));
    }
}
