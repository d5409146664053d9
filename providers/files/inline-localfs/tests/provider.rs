//! `inline::localfs` beyond the shared suite: what lands on disk, restarts, the sweep, missing
//! bytes, and building through the registered descriptor.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use lls_api_common::provider::descriptors;
use lls_api_common::store::{Column, ColumnType, Filter, SqlStore};
use lls_api_common::{Api, BuildContext, ErrorKind, RequestContext, unix_now};
use lls_api_files::{FilePurpose, Files, UploadFile};
use lls_files_inline_localfs::{LocalFsConfig, LocalFsFiles, PROVIDER_TYPE};
use serde_json::json;

fn ctx() -> RequestContext {
    RequestContext::default()
}

/// A caller with a role of its own, under the default policy.
fn tenant(principal: &str) -> RequestContext {
    lls_testkit::caller_ctx(principal, &[("roles", &[principal])], lls_testkit::callers::default_policy())
}

fn upload(name: &str, content: &'static [u8]) -> UploadFile {
    UploadFile {
        filename: name.into(),
        content_type: None,
        content: Bytes::from_static(content),
        purpose: FilePurpose::Assistants,
        expires_after: None,
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

struct Setup {
    tmp: tempfile::TempDir,
    config: LocalFsConfig,
    store: Arc<dyn SqlStore>,
}

impl Setup {
    async fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let config = LocalFsConfig::new(tmp.path().join("files").display().to_string(), "sql_default");
        Setup { tmp, config, store: lls_testkit::stores::memory_sql().await.unwrap() }
    }

    fn files_dir(&self) -> std::path::PathBuf {
        self.tmp.path().join("files")
    }

    async fn open(&self) -> LocalFsFiles {
        LocalFsFiles::open(&self.config, self.store.clone()).await.unwrap()
    }
}

#[tokio::test]
async fn bytes_are_stored_by_id_only() {
    let s = Setup::new().await;
    let files = s.open().await;
    let f = files.upload(&ctx(), upload("../../etc/passwd", b"root:x:0:0")).await.unwrap();
    let g = files.upload(&ctx(), upload("/tmp/../x", b"y")).await.unwrap();
    let mut expected = vec![f.id.clone(), g.id.clone()];
    expected.sort();
    assert_eq!(entries(&s.files_dir()), expected);
    assert_eq!(entries(s.tmp.path()), ["files"], "nothing was written next to the storage dir");
    assert_eq!(std::fs::read(s.files_dir().join(&f.id)).unwrap(), b"root:x:0:0");
    assert_eq!(f.filename, "../../etc/passwd");
    files.delete(&ctx(), &f.id).await.unwrap();
    assert_eq!(entries(&s.files_dir()), std::slice::from_ref(&g.id), "delete removes the bytes too");
}

#[tokio::test]
async fn files_survive_a_restart_and_default_to_the_ttl() {
    let s = Setup::new().await;
    let f = s.open().await.upload(&ctx(), upload("", b"kept")).await.unwrap();
    assert_eq!(f.filename, "uploaded_file", "a nameless upload gets upstream's default name");
    assert_eq!(f.expires_at, Some(f.created_at + 365 * 24 * 3600));
    let reopened = s.open().await;
    assert_eq!(reopened.retrieve(&ctx(), &f.id).await.unwrap(), f);
    assert_eq!(reopened.content(&ctx(), &f.id).await.unwrap().content.as_ref(), b"kept");
}

#[tokio::test]
async fn missing_bytes_are_not_found_and_drop_the_row() {
    let s = Setup::new().await;
    let files = s.open().await;
    let f = files.upload(&ctx(), upload("a.txt", b"a")).await.unwrap();
    std::fs::remove_file(s.files_dir().join(&f.id)).unwrap();
    let err = files.content(&ctx(), &f.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.message(), format!("File '{}' not found. Use 'client.files.list()' to list available Files.", f.id));
    assert_eq!(files.retrieve(&ctx(), &f.id).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn the_sweep_deletes_expired_rows_and_bytes() {
    let s = Setup::new().await;
    let mut config = s.config.clone();
    config.ttl_secs = 10;
    let offset = Arc::new(AtomicI64::new(0));
    let seen = offset.clone();
    let files = LocalFsFiles::open_with_clock(&config, s.store.clone(), Arc::new(move || unix_now() + seen.load(Ordering::SeqCst)))
        .await
        .unwrap();
    // The sweep is the server's own work: it deletes every owner's expired files.
    let (alice, bob) = (tenant("alice"), tenant("bob"));
    for (name, who) in [("a", &alice), ("b", &bob), ("c", &ctx())] {
        files.upload(who, upload(name, b"x")).await.unwrap();
    }
    assert_eq!(files.sweep_expired().await.unwrap(), 0);
    offset.store(11, Ordering::SeqCst);
    let keep = files.upload(&alice, upload("d", b"x")).await.unwrap();
    assert_eq!(files.sweep_expired().await.unwrap(), 3);
    assert_eq!(entries(&s.files_dir()), std::slice::from_ref(&keep.id));
    // The rows are gone too: an unexpired provider over the same table lists only the survivor.
    let wall_clock = s.open().await;
    let listed: Vec<String> = wall_clock.list(&ctx(), Default::default()).await.unwrap().data.into_iter().map(|f| f.id).collect();
    assert_eq!(listed, [keep.id]);
}

#[tokio::test]
async fn rows_record_their_owner_and_older_rows_read_as_unowned() {
    let s = Setup::new().await;
    // A table from before owners were recorded, with one file in it.
    let old_columns = [
        Column::primary_key("id", ColumnType::Text),
        Column::new("filename", ColumnType::Text),
        Column::new("purpose", ColumnType::Text),
        Column::new("bytes", ColumnType::Integer),
        Column::new("created_at", ColumnType::Integer),
        Column::new("expires_at", ColumnType::Integer),
    ];
    let table = &s.config.metadata_store.table_name;
    s.store.create_table(table, &old_columns).await.unwrap();
    let old = "file-0123456789abcdef0123456789abcdef";
    let row = json!({"id": old, "filename": "old.txt", "purpose": "assistants", "bytes": 1, "created_at": unix_now(), "expires_at": null});
    s.store.insert(table, &[row.as_object().unwrap().clone()]).await.unwrap();
    let files = s.open().await;
    let alice = tenant("alice");
    let hers = files.upload(&alice, upload("hers.txt", b"x")).await.unwrap();
    let stored = s.store.fetch_one(table, &Filter::eq("id", hers.id.as_str())).await.unwrap().unwrap();
    assert_eq!((&stored["owner_principal"], &stored["access_attributes"]), (&json!("alice"), &json!({"roles": ["alice"]})));
    let unowned = files.upload(&ctx(), upload("open.txt", b"x")).await.unwrap();
    let stored = s.store.fetch_one(table, &Filter::eq("id", unowned.id.as_str())).await.unwrap().unwrap();
    assert_eq!((&stored["owner_principal"], &stored["access_attributes"]), (&json!(""), &json!(null)));
    let listed: Vec<String> = files.list(&tenant("bob"), Default::default()).await.unwrap().data.into_iter().map(|f| f.id).collect();
    assert_eq!(listed, [unowned.id.clone(), old.to_owned()], "bob sees the unowned files, not alice's");
}

#[tokio::test]
async fn the_sweeper_is_supervised_and_stops_on_shutdown() {
    let s = Setup::new().await;
    let files = s.open().await;
    let tasks = lls_api_common::Tasks::new();
    files.start_sweeper(&tasks);
    assert_eq!(tasks.running(), 1);
    let started = std::time::Instant::now();
    tasks.shutdown(std::time::Duration::from_secs(10)).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(tasks.running(), 0);
}

#[tokio::test]
async fn builds_through_the_descriptor() {
    let found: Vec<_> = descriptors().into_iter().filter(|d| d.api == Api::Files && d.provider_type == PROVIDER_TYPE).collect();
    assert_eq!(found.len(), 1);
    let tmp = tempfile::tempdir().unwrap();
    let config = json!({
        "storage_dir": tmp.path().join("f").display().to_string(),
        "metadata_store": {"table_name": "files_metadata", "backend": "sql_default"},
        "max_file_size_bytes": 4,
    });
    (found[0].check_config)(&config).unwrap();
    let build = |config| BuildContext::new(Api::Files, "meta-reference-files", config, lls_testkit::stores::memory_stores());
    let instance = (found[0].build)(build(config.clone())).await.unwrap();
    let files = instance.get::<lls_api_files::FilesApi>().expect("the instance is a Files provider");
    assert_eq!(files.max_upload_bytes(), 4);
    let f = files.upload(&ctx(), upload("x", b"1234")).await.unwrap();
    assert_eq!(files.content(&ctx(), &f.id).await.unwrap().content.as_ref(), b"1234");

    let mut wrong = config;
    wrong["metadata_store"]["backend"] = json!("kv_default");
    let err = (found[0].build)(build(wrong)).await.expect_err("a kv backend is refused");
    assert!(err.message().contains("kv backend"), "{}", err.message());
}
