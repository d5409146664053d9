//! `remote::s3` beyond the shared suite, on an S3-compatible server (`LLS_TEST_S3_ENDPOINT`):
//! what lands in the bucket, multipart uploads, the bucket check at startup, restarts, missing
//! objects, S3 failures, and building through the registered descriptor.
// Helpers here (harnesses, fixtures) are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use lls_api_common::provider::descriptors;
use lls_api_common::{Api, BuildContext, ErrorKind, RequestContext, Result};
use lls_api_files::{FilePurpose, Files, UploadFile, UploadStream};
use lls_files_remote_s3::{PROVIDER_TYPE, S3Files, S3FilesConfig};
use object_store::{ObjectStoreExt, signer::Signer};
use serde_json::json;

fn ctx() -> RequestContext {
    RequestContext::default()
}

fn upload(name: &str, content: &'static [u8]) -> UploadFile {
    UploadFile { filename: name.into(), content_type: None, content: Bytes::from_static(content), purpose: FilePurpose::Assistants, expires_after: None }
}

/// `len` bytes of a pattern that repeats every 251 bytes (a prime: no part boundary lines up).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// `data` as an upload arriving in 64 KiB chunks.
fn streamed(data: &[u8]) -> UploadStream<'static> {
    let chunks: Vec<Result<Bytes>> = data.chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    UploadStream {
        filename: "big.bin".into(),
        content_type: None,
        purpose: FilePurpose::Batch,
        expires_after: None,
        content: futures::stream::iter(chunks).boxed(),
    }
}

async fn open(config: &S3FilesConfig) -> S3Files {
    S3Files::open(config, lls_testkit::stores::memory_sql().await.unwrap()).await.unwrap()
}

#[tokio::test]
async fn objects_are_keyed_by_id_and_deleted_with_the_file() {
    let Some(endpoint) = common::endpoint("objects_are_keyed_by_id_and_deleted_with_the_file") else { return };
    let mut config = common::config(&endpoint);
    config.key_prefix = "llama/files".into();
    let files = open(&config).await;
    let f = files.upload(&ctx(), upload("../../etc/passwd", b"root:x:0:0")).await.unwrap();
    let g = files.upload(&ctx(), upload("b.txt", b"y")).await.unwrap();
    let mut expected = vec![format!("llama/files/{}", f.id), format!("llama/files/{}", g.id)];
    expected.sort();
    assert_eq!(common::keys(&config).await, expected);
    let raw = common::raw_bucket(&config);
    let stored = raw.get(&format!("llama/files/{}", f.id).into()).await.unwrap().bytes().await.unwrap();
    assert_eq!(stored.as_ref(), b"root:x:0:0");
    files.delete(&ctx(), &f.id).await.unwrap();
    assert_eq!(common::keys(&config).await, [format!("llama/files/{}", g.id)], "delete removes the object too");
    assert_eq!(files.retrieve(&ctx(), &f.id).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn large_uploads_stream_as_multipart_and_round_trip_byte_exact() {
    let Some(endpoint) = common::endpoint("large_uploads_stream_as_multipart_and_round_trip_byte_exact") else { return };
    let mut config = common::config(&endpoint);
    config.multipart_part_size_bytes = lls_files_remote_s3::MIN_PART_SIZE_BYTES;
    let files = open(&config).await;
    let data = pattern(2 * lls_files_remote_s3::MIN_PART_SIZE_BYTES + 12_345);
    let f = files.upload_stream(&ctx(), streamed(&data)).await.unwrap();
    assert_eq!(f.bytes, data.len() as u64);
    let content = files.content(&ctx(), &f.id).await.unwrap().content;
    assert!(content.as_ref() == data.as_slice(), "the bytes read back differ from those uploaded");
    // S3 gives a multipart object an ETag ending in -<number of parts>.
    let meta = common::raw_bucket(&config).head(&f.id.as_str().into()).await.unwrap();
    assert!(meta.e_tag.as_deref().is_some_and(|t| t.trim_matches('"').ends_with("-3")), "ETag {:?}", meta.e_tag);
    // One byte under a part: a single PUT (no part count in the ETag).
    let small = pattern(lls_files_remote_s3::MIN_PART_SIZE_BYTES - 1);
    let s = files.upload_stream(&ctx(), streamed(&small)).await.unwrap();
    assert!(files.content(&ctx(), &s.id).await.unwrap().content.as_ref() == small.as_slice());
    let meta = common::raw_bucket(&config).head(&s.id.as_str().into()).await.unwrap();
    assert!(meta.e_tag.as_deref().is_some_and(|t| !t.contains('-')), "ETag {:?}", meta.e_tag);
}

#[tokio::test]
async fn an_oversized_or_broken_multipart_upload_leaves_nothing() {
    let Some(endpoint) = common::endpoint("an_oversized_or_broken_multipart_upload_leaves_nothing") else { return };
    let mut config = common::config(&endpoint);
    config.multipart_part_size_bytes = lls_files_remote_s3::MIN_PART_SIZE_BYTES;
    config.max_file_size_bytes = 6 * 1024 * 1024;
    let files = open(&config).await;
    let err = files.upload_stream(&ctx(), streamed(&pattern(7 * 1024 * 1024))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PayloadTooLarge);
    let head: Vec<Result<Bytes>> = vec![Ok(Bytes::from(pattern(5 * 1024 * 1024 + 1))), Err(lls_api_common::Error::invalid("client went away"))];
    let broken = UploadStream { content: futures::stream::iter(head).boxed(), ..streamed(b"") };
    assert_eq!(files.upload_stream(&ctx(), broken).await.unwrap_err().message(), "client went away");
    assert!(common::keys(&config).await.is_empty(), "no object remains");
    assert!(files.list(&ctx(), Default::default()).await.unwrap().data.is_empty());
}

#[tokio::test]
async fn files_survive_a_restart() {
    let Some(endpoint) = common::endpoint("files_survive_a_restart") else { return };
    let config = common::config(&endpoint);
    let store = lls_testkit::stores::memory_sql().await.unwrap();
    let f = S3Files::open(&config, store.clone()).await.unwrap().upload(&ctx(), upload("", b"kept")).await.unwrap();
    assert_eq!(f.filename, "uploaded_file");
    assert_eq!(f.expires_at, Some(f.created_at + 365 * 24 * 3600));
    // A new provider, without auto-create this time: the bucket is there.
    let again = S3FilesConfig { auto_create_bucket: false, ..config };
    let reopened = S3Files::open(&again, store).await.unwrap();
    assert_eq!(reopened.retrieve(&ctx(), &f.id).await.unwrap(), f);
    assert_eq!(reopened.content(&ctx(), &f.id).await.unwrap().content.as_ref(), b"kept");
    assert_eq!(reopened.list(&ctx(), Default::default()).await.unwrap().data, [f]);
}

#[tokio::test]
async fn a_missing_bucket_fails_startup_unless_created() {
    let Some(endpoint) = common::endpoint("a_missing_bucket_fails_startup_unless_created") else { return };
    let mut config = common::config(&endpoint);
    config.auto_create_bucket = false;
    let store = lls_testkit::stores::memory_sql().await.unwrap();
    let err = S3Files::open(&config, store.clone()).await.err().expect("a missing bucket fails");
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    let expected = format!("the S3 bucket '{}' does not exist at {endpoint}", config.bucket_name);
    assert!(err.message().contains(&expected), "{}", err.message());
    assert!(err.message().contains("auto_create_bucket: true"), "{}", err.message());
    // Created in another region (the LocationConstraint body), then usable as is.
    config.auto_create_bucket = true;
    config.region = "eu-west-1".into();
    let files = S3Files::open(&config, store.clone()).await.unwrap();
    let f = files.upload(&ctx(), upload("a.txt", b"a")).await.unwrap();
    config.auto_create_bucket = false;
    let files = S3Files::open(&config, store).await.unwrap();
    assert_eq!(files.content(&ctx(), &f.id).await.unwrap().content.as_ref(), b"a");
}

#[tokio::test]
async fn a_missing_object_is_not_found_and_drops_the_row() {
    let Some(endpoint) = common::endpoint("a_missing_object_is_not_found_and_drops_the_row") else { return };
    let config = common::config(&endpoint);
    let files = open(&config).await;
    let f = files.upload(&ctx(), upload("a.txt", b"a")).await.unwrap();
    common::raw_bucket(&config).delete(&f.id.as_str().into()).await.unwrap();
    let err = files.content(&ctx(), &f.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.message(), format!("File '{}' not found. Use 'client.files.list()' to list available Files.", f.id));
    assert_eq!(files.retrieve(&ctx(), &f.id).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn a_bucket_gone_after_startup_is_an_upstream_error() {
    let Some(endpoint) = common::endpoint("a_bucket_gone_after_startup_is_an_upstream_error") else { return };
    let config = common::config(&endpoint);
    let files = open(&config).await;
    // DeleteBucket, signed by object_store, sent as is.
    let raw = common::raw_bucket(&config);
    let url = raw.signed_url(reqwest::Method::DELETE, &Default::default(), Duration::from_secs(60)).await.unwrap();
    let status = reqwest::Client::new().delete(url).send().await.unwrap().status();
    assert!(status.is_success(), "DeleteBucket answered {status}");
    let err = files.upload(&ctx(), upload("a.txt", b"a")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UpstreamError, "{}", err.message());
    assert!(err.message().starts_with(&format!("Files storage (S3 bucket '{}'): could not store", config.bucket_name)), "{}", err.message());
    assert!(files.list(&ctx(), Default::default()).await.unwrap().data.is_empty(), "no row without its object");
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_startup_quickly_as_unavailable() {
    // A port nothing listens on: no S3 server needed.
    let config = common::config("http://127.0.0.1:9");
    let started = Instant::now();
    let err = S3Files::open(&config, lls_testkit::stores::memory_sql().await.unwrap()).await.err().expect("nothing answers");
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable, "{}", err.message());
    assert!(err.message().contains(&config.bucket_name), "{}", err.message());
    assert!(err.message().contains("could not be reached"), "{}", err.message());
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn builds_through_the_descriptor() {
    let found: Vec<_> = descriptors().into_iter().filter(|d| d.api == Api::Files && d.provider_type == PROVIDER_TYPE).collect();
    assert_eq!(found.len(), 1);
    let Some(endpoint) = common::endpoint("builds_through_the_descriptor") else { return };
    let config = common::config(&endpoint);
    let mut value = serde_json::to_value(&config).unwrap();
    value["aws_secret_access_key"] = json!(config.aws_secret_access_key.as_ref().unwrap().expose());
    value["max_file_size_bytes"] = json!(4);
    let shown = (found[0].check_config)(&value).unwrap();
    assert_eq!(shown["aws_secret_access_key"], json!("********"));
    let build = |config| BuildContext::new(Api::Files, "s3", config, lls_testkit::stores::memory_stores());
    let instance = (found[0].build)(build(value.clone())).await.unwrap();
    let files = instance.get::<lls_api_files::FilesApi>().expect("the instance is a Files provider");
    assert_eq!(files.max_upload_bytes(), 4);
    let f = files.upload(&ctx(), upload("x", b"1234")).await.unwrap();
    assert_eq!(files.content(&ctx(), &f.id).await.unwrap().content.as_ref(), b"1234");

    let mut wrong = value;
    wrong["metadata_store"]["backend"] = json!("kv_default");
    let err = (found[0].build)(build(wrong)).await.expect_err("a kv backend is refused");
    assert!(err.message().contains("kv backend"), "{}", err.message());
}
