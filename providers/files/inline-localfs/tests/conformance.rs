//! The shared files conformance suite against `inline::localfs` over in-memory SQLite, with a
//! 1 MiB upload cap (so the size scenario runs) and a clock the suite can move (for expiry).
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use lls_api_common::unix_now;
use lls_files_inline_localfs::{LocalFsConfig, LocalFsFiles};
use lls_testkit::FilesHarness;

async fn harness() -> FilesHarness {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = LocalFsConfig::new(dir.path().join("files").display().to_string(), "sql_default");
    config.max_file_size_bytes = 1024 * 1024;
    // A frozen clock that only the suite moves: real seconds ticking between an upload and a
    // check would make expiry boundaries flaky on a loaded machine.
    let offset = Arc::new(AtomicI64::new(unix_now()));
    let seen = offset.clone();
    let clock = Arc::new(move || seen.load(Ordering::SeqCst));
    let store = lls_testkit::stores::memory_sql().await.expect("in-memory SQLite");
    let files = LocalFsFiles::open_with_clock(&config, store, clock).await.expect("provider opens");
    FilesHarness {
        files: Arc::new(files),
        advance_clock: Some(Box::new(move |secs| {
            offset.fetch_add(secs, Ordering::SeqCst);
        })),
        _guard: Box::new(dir),
    }
}

lls_testkit::files_conformance!(harness());
