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

pub use crud::{content_round_trip, delete, filename_is_metadata, unknown_id, upload_and_retrieve, upload_stream_chunks};
pub use limits::{expires_after_honoured, expiry, failed_stream_leaves_nothing, upload_too_large};
pub use listing::{list_order, list_pagination, list_purpose_filter};

use std::any::Any;
use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{Context, anyhow, ensure};
use bytes::Bytes;
use lls_api_common::{ErrorKind, RequestContext};
use lls_api_files::{FileObject, FilePurpose, Files, UploadFile};

pub use crate::inference_suite::{Outcome, ScenarioResult, TestResult};

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
        f.debug_struct("FilesHarness").field("advance_clock", &self.advance_clock.is_some()).finish_non_exhaustive()
    }
}

/// Every scenario; [`files_conformance!`](crate::files_conformance) must generate exactly these.
pub const SCENARIOS: &[&str] = &[
    "upload_and_retrieve",
    "upload_stream_chunks",
    "content_round_trip",
    "filename_is_metadata",
    "delete",
    "unknown_id",
    "list_order",
    "list_pagination",
    "list_purpose_filter",
    "expires_after_honoured",
    "expiry",
    "upload_too_large",
    "failed_stream_leaves_nothing",
];

/// The `scenario_count` test: the macro generated every scenario of [`SCENARIOS`] and no other.
pub fn check_scenario_count(generated: &[&str]) -> TestResult {
    ensure!(!generated.is_empty(), "the files conformance suite generated no scenarios");
    let generated: BTreeSet<&str> = generated.iter().copied().collect();
    let known: BTreeSet<&str> = SCENARIOS.iter().copied().collect();
    ensure!(generated == known, "generated scenarios {generated:?} differ from the suite's {known:?}");
    Ok(())
}

/// Expands into one `#[test]` per scenario of the files suite (each on its own tokio runtime;
/// the calling crate needs no tokio dependency), inside a module `files_conformance`, plus a
/// `scenario_count` test. `$setup` is an async block evaluating to a [`FilesHarness`]; it runs
/// anew for every test, so each scenario starts from an empty provider.
#[macro_export]
macro_rules! files_conformance {
    ($setup:expr $(,)?) => {
        $crate::__files_conformance_tests!(
            $setup;
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
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __files_conformance_tests {
    ($setup:expr; $($name:ident),+ $(,)?) => {
        #[cfg(test)]
        mod files_conformance {
            #[allow(unused_imports)]
            use super::*;

            $(
                #[test]
                fn $name() -> $crate::files_suite::TestResult {
                    $crate::inference_suite::run(::std::stringify!($name), async {
                        let harness: $crate::files_suite::FilesHarness = ($setup).await;
                        $crate::files_suite::$name(&harness).await
                    })
                }
            )+

            #[test]
            fn scenario_count() -> $crate::files_suite::TestResult {
                $crate::files_suite::check_scenario_count(&[$(::std::stringify!($name)),+])
            }
        }
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

async fn upload(files: &dyn Files, filename: &str, content: &[u8], purpose: FilePurpose) -> anyhow::Result<FileObject> {
    files.upload(&ctx(), upload_of(filename, content, purpose)).await.map_err(|e| anyhow!("upload of {filename:?} failed: {e}"))
}

/// What a fresh upload must look like.
fn check_new_file(f: &FileObject, filename: &str, bytes: usize, purpose: FilePurpose) -> anyhow::Result<()> {
    let hex = f.id.strip_prefix("file-").with_context(|| format!("id {:?} does not start with 'file-'", f.id))?;
    ensure!(hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()), "id {:?} is not file-<32 hex>", f.id);
    ensure!(f.object == "file", "object is {:?}, not \"file\"", f.object);
    ensure!(f.filename == filename, "filename is {:?}, not {filename:?}", f.filename);
    ensure!(f.bytes == bytes as u64, "bytes is {}, not {bytes}", f.bytes);
    ensure!(f.purpose == purpose, "purpose is {:?}, not {purpose:?}", f.purpose);
    let now = lls_api_common::unix_now();
    ensure!((now - 86_400..=now + 86_400).contains(&f.created_at), "created_at {} is not about now ({now})", f.created_at);
    if let Some(at) = f.expires_at {
        ensure!(at > f.created_at, "expires_at {at} is not after created_at {}", f.created_at);
    }
    Ok(())
}

/// The error must be "not found" in upstream's words for `id`.
fn check_not_found(result: lls_api_common::Result<impl std::fmt::Debug>, id: &str, what: &str) -> anyhow::Result<()> {
    let err = match result {
        Ok(v) => return Err(anyhow!("{what} of {id:?} succeeded: {v:?}")),
        Err(e) => e,
    };
    ensure!(err.kind() == ErrorKind::NotFound, "{what} of {id:?} failed with {:?}, not NotFound: {err}", err.kind());
    let expected = format!("File '{id}' not found. Use 'client.files.list()' to list available Files.");
    ensure!(err.message() == expected, "{what} of {id:?}: message {:?}, expected {expected:?}", err.message());
    Ok(())
}

async fn listed_ids(files: &dyn Files) -> anyhow::Result<Vec<String>> {
    let list = files.list(&ctx(), Default::default()).await.map_err(|e| anyhow!("list failed: {e}"))?;
    Ok(list.data.into_iter().map(|f| f.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_or_drifted_scenario_lists_fail() {
        assert!(check_scenario_count(&[]).is_err());
        assert!(check_scenario_count(&SCENARIOS[1..]).is_err());
        assert!(check_scenario_count(SCENARIOS).is_ok());
    }
}
