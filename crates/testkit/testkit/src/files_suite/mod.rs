//! The one conformance suite of the files API: scenario functions taking a [`FilesHarness`], and
//! [`files_conformance!`](crate::files_conformance) to turn them into one test each inside a
//! files provider crate.
//!
//! ```ignore
//! // providers/files/inline-foo/tests/conformance.rs
//! lls_testkit::files_conformance!(async {
//!     let dir = tempfile::tempdir().unwrap();
//!     let files = FooFiles::open(dir.path(), lls_testkit::stores::memory_sql().await).await.unwrap();
//!     FilesHarness { files: Arc::new(files), advance_clock: None, _guard: Box::new(dir) }
//! });
//! ```

mod crud;
mod limits;
mod listing;
mod owners;

pub use crud::{
    content_round_trip, delete, filename_is_metadata, unknown_id, upload_and_retrieve,
    upload_stream_chunks,
};
pub use limits::{expires_after_honoured, expiry, failed_stream_leaves_nothing, upload_too_large};
pub use listing::{list_order, list_pagination, list_purpose_filter};
pub use owners::{owners_admin_policy, owners_default_policy, owners_pages_fill};

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, ensure};
use bytes::Bytes;
use lls_api_common::{ErrorKind, RequestContext};
use lls_api_files::{FileObject, FilePurpose, Files, UploadFile};

pub use crate::scenario::{Outcome, ScenarioResult, TestResult};
use crate::scenario::{Runtime, Scenario, Suite};

/// What a provider crate's setup gives the suite; built anew (empty) for every scenario.
pub struct FilesHarness {
    pub files: Arc<dyn Files>,
    /// Moves the provider's clock forward by that many seconds; `None` when the provider only
    /// knows the wall clock (the scenarios that wait for expiry are then skipped).
    pub advance_clock: Option<Box<dyn Fn(i64) + Send + Sync>>,
    /// Keeps whatever the provider needs alive (a temp dir, a server); `()` when nothing.
    pub _guard: Box<dyn Any + Send>,
}

impl std::fmt::Debug for FilesHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilesHarness")
            .field("advance_clock", &self.advance_clock.is_some())
            .finish_non_exhaustive()
    }
}

/// The largest upload cap the size scenario exercises (it uploads one byte more than the cap).
pub const LARGEST_TESTED_CAP: u64 = 16 * 1024 * 1024;

/// What the provider under test can do; scenarios needing more are skipped, not failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// The harness can move the provider's clock: the expiry scenario.
    pub movable_clock: bool,
    /// `max_upload_bytes()` is at most [`LARGEST_TESTED_CAP`]: the size scenario.
    pub small_size_cap: bool,
}

impl FilesHarness {
    pub fn features(&self) -> Features {
        Features {
            movable_clock: self.advance_clock.is_some(),
            small_size_cap: self.files.max_upload_bytes() <= LARGEST_TESTED_CAP,
        }
    }
}

/// The suite: every scenario and the features it needs (the scenarios
/// [`files_conformance!`](crate::files_conformance) must generate), each run on a fresh
/// single-threaded runtime for at most two minutes, setup included.
pub const SUITE: Suite<Features> = Suite {
    api: "files",
    scenarios: &[
        Scenario::always("upload_and_retrieve"),
        Scenario::always("upload_stream_chunks"),
        Scenario::always("content_round_trip"),
        Scenario::always("filename_is_metadata"),
        Scenario::always("delete"),
        Scenario::always("unknown_id"),
        Scenario::always("list_order"),
        Scenario::always("list_pagination"),
        Scenario::always("list_purpose_filter"),
        Scenario::always("expires_after_honoured"),
        Scenario {
            name: "expiry",
            runs_with: |f| f.movable_clock,
        },
        Scenario {
            name: "upload_too_large",
            runs_with: |f| f.small_size_cap,
        },
        Scenario::always("failed_stream_leaves_nothing"),
        Scenario::always("owners_default_policy"),
        Scenario::always("owners_admin_policy"),
        Scenario::always("owners_pages_fill"),
    ],
    timeout: Duration::from_secs(120),
    runtime: Runtime::CurrentThread,
};

/// Expands into one `#[test]` per scenario of the files suite (each on its own tokio runtime;
/// the calling crate needs no tokio dependency), inside a module `files_conformance`, plus a
/// `scenario_count` test ([`Suite::check_scenario_count`] with [`FilesHarness::features`]).
/// `$setup` is an async block evaluating to a [`FilesHarness`]; it runs anew for every test, so
/// each scenario starts from an empty provider. With `optional`, `$setup` evaluates to an
/// `Option<FilesHarness>`, `None` when the service the provider needs was opted out of (the
/// setup says "NOT RUN"): the tests then return without running.
#[macro_export]
macro_rules! files_conformance {
    (optional $setup:expr $(,)?) => {
        $crate::__conformance_tests!(
            optional, mod files_conformance, suite files_suite, setup $setup,
            |h: $crate::files_suite::FilesHarness| (&h),
            features ::std::result::Result::Ok(h.features());
            upload_and_retrieve,
            upload_stream_chunks,
            content_round_trip,
            filename_is_metadata,
            delete,
            unknown_id,
            list_order,
            list_pagination,
            list_purpose_filter,
            expires_after_honoured,
            expiry,
            upload_too_large,
            failed_stream_leaves_nothing,
            owners_default_policy,
            owners_admin_policy,
            owners_pages_fill,
        );
    };
    ($setup:expr $(,)?) => {
        $crate::files_conformance!(optional async { ::std::option::Option::Some(($setup).await) });
    };
}

fn ctx() -> RequestContext {
    RequestContext::default()
}

/// An upload of `content` named `filename`, without expiry.
fn upload_of(filename: &str, content: &[u8], purpose: FilePurpose) -> UploadFile {
    UploadFile {
        filename: filename.into(),
        content_type: None,
        content: Bytes::copy_from_slice(content),
        purpose,
        expires_after: None,
    }
}

async fn upload(
    files: &dyn Files,
    filename: &str,
    content: &[u8],
    purpose: FilePurpose,
) -> anyhow::Result<FileObject> {
    files
        .upload(&ctx(), upload_of(filename, content, purpose))
        .await
        .map_err(|e| anyhow!("upload of {filename:?} failed: {e}"))
}

/// What a fresh upload must look like.
fn check_new_file(
    f: &FileObject,
    filename: &str,
    bytes: usize,
    purpose: FilePurpose,
) -> anyhow::Result<()> {
    let hex =
        f.id.strip_prefix("file-")
            .with_context(|| format!("id {:?} does not start with 'file-'", f.id))?;
    ensure!(
        hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "id {:?} is not file-<32 hex>",
        f.id
    );
    ensure!(f.object == "file", "object is {:?}, not \"file\"", f.object);
    ensure!(
        f.filename == filename,
        "filename is {:?}, not {filename:?}",
        f.filename
    );
    ensure!(f.bytes == bytes as u64, "bytes is {}, not {bytes}", f.bytes);
    ensure!(
        f.purpose == purpose,
        "purpose is {:?}, not {purpose:?}",
        f.purpose
    );
    let now = lls_api_common::unix_now();
    ensure!(
        (now - 86_400..=now + 86_400).contains(&f.created_at),
        "created_at {} is not about now ({now})",
        f.created_at
    );
    if let Some(at) = f.expires_at {
        ensure!(
            at > f.created_at,
            "expires_at {at} is not after created_at {}",
            f.created_at
        );
    }
    Ok(())
}

/// The error must be "not found" in upstream's words for `id`.
fn check_not_found(
    result: lls_api_common::Result<impl std::fmt::Debug>,
    id: &str,
    what: &str,
) -> anyhow::Result<()> {
    let err = match result {
        Ok(v) => return Err(anyhow!("{what} of {id:?} succeeded: {v:?}")),
        Err(e) => e,
    };
    ensure!(
        err.kind() == ErrorKind::NotFound,
        "{what} of {id:?} failed with {:?}, not NotFound: {err}",
        err.kind()
    );
    let expected =
        format!("File '{id}' not found. Use 'client.files.list()' to list available Files.");
    ensure!(
        err.message() == expected,
        "{what} of {id:?}: message {:?}, expected {expected:?}",
        err.message()
    );
    Ok(())
}

async fn listed_ids(files: &dyn Files) -> anyhow::Result<Vec<String>> {
    let list = files
        .list(&ctx(), Default::default())
        .await
        .map_err(|e| anyhow!("list failed: {e}"))?;
    Ok(list.data.into_iter().map(|f| f.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_without_clock_or_small_cap_runs_some_scenarios() {
        let names: Vec<&str> = SUITE.scenarios.iter().map(|s| s.name).collect();
        let bare = Features {
            movable_clock: false,
            small_size_cap: false,
        };
        assert!(
            SUITE
                .check_scenario_count(&names, async move { Ok(bare) })
                .is_ok()
        );
    }
}
