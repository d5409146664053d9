//! The shared files conformance suite against `remote::s3` on an S3-compatible server (moto in
//! CI: `scripts/s3.sh`), a fresh bucket per scenario, metadata in in-memory SQLite, a 1 MiB
//! upload cap (so the size scenario runs) and a clock the suite can move (for expiry).
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use lls_api_common::unix_now;
use lls_files_remote_s3::S3Files;
use lls_testkit::FilesHarness;

async fn harness() -> Option<FilesHarness> {
    let endpoint = common::endpoint("remote::s3 files conformance")?;
    let mut config = common::config(&endpoint);
    config.max_file_size_bytes = 1024 * 1024;
    // A frozen clock that only the suite moves (see inline::localfs's conformance test).
    let offset = Arc::new(AtomicI64::new(unix_now()));
    let seen = offset.clone();
    let clock = Arc::new(move || seen.load(Ordering::SeqCst));
    let store = lls_testkit::stores::memory_sql().await.expect("in-memory SQLite");
    let files = S3Files::open_with_clock(&config, store, clock).await.expect("the provider opens on the test S3 server");
    Some(FilesHarness {
        files: Arc::new(files),
        advance_clock: Some(Box::new(move |secs| {
            offset.fetch_add(secs, Ordering::SeqCst);
        })),
        _guard: Box::new(()),
    })
}

lls_testkit::files_conformance!(optional harness());
