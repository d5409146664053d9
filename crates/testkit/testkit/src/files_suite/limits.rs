//! Lifetime and size scenarios: `expires_after`, expiry, the upload size cap, and uploads that
//! fail midway leaving nothing behind.

use anyhow::{anyhow, ensure};
use bytes::Bytes;
use futures::StreamExt;
use lls_api_common::{Error, ErrorKind};
use lls_api_files::{ExpiresAfter, ExpiresAnchor, FilePurpose, UploadFile, UploadStream};

use super::{
    FilesHarness, LARGEST_TESTED_CAP, Outcome, ScenarioResult, check_not_found, ctx, listed_ids,
    upload, upload_of,
};

fn expiring(filename: &str, seconds: i64) -> UploadFile {
    UploadFile {
        expires_after: Some(ExpiresAfter {
            anchor: ExpiresAnchor::CreatedAt,
            seconds,
        }),
        ..upload_of(filename, b"short-lived", FilePurpose::Assistants)
    }
}

/// `expires_after` sets `expires_at = created_at + seconds`; seconds outside 3600..=2592000
/// are refused.
pub async fn expires_after_honoured(h: &FilesHarness) -> ScenarioResult {
    let f = h
        .files
        .upload(&ctx(), expiring("e.txt", 4545))
        .await
        .map_err(|e| anyhow!("upload failed: {e}"))?;
    ensure!(
        f.expires_at == Some(f.created_at + 4545),
        "expires_at {:?} is not created_at {} + 4545",
        f.expires_at,
        f.created_at
    );
    let got = h
        .files
        .retrieve(&ctx(), &f.id)
        .await
        .map_err(|e| anyhow!("retrieve failed: {e}"))?;
    ensure!(
        got.expires_at == f.expires_at,
        "retrieve says expires_at {:?}",
        got.expires_at
    );
    for bad in [0, 3599, 2_592_001] {
        match h.files.upload(&ctx(), expiring("bad.txt", bad)).await {
            Err(e) if e.kind() == ErrorKind::InvalidRequest => {}
            other => {
                return Err(anyhow!(
                    "expires_after.seconds={bad} answered {other:?}, not an invalid-request error"
                ));
            }
        }
    }
    ensure!(
        listed_ids(&*h.files).await? == [f.id.clone()],
        "refused uploads were stored"
    );
    Ok(Outcome::Passed)
}

/// Once past `expires_at` a file is neither listed nor served; others are untouched.
pub async fn expiry(h: &FilesHarness) -> ScenarioResult {
    let Some(advance) = &h.advance_clock else {
        return Ok(Outcome::Skipped("a clock the test can move"));
    };
    let short = h
        .files
        .upload(&ctx(), expiring("short.txt", 3600))
        .await
        .map_err(|e| anyhow!("upload failed: {e}"))?;
    let long = h
        .files
        .upload(&ctx(), expiring("long.txt", 7200))
        .await
        .map_err(|e| anyhow!("upload failed: {e}"))?;
    advance(3599);
    ensure!(
        listed_ids(&*h.files).await?.len() == 2,
        "a file vanished before it expired"
    );
    advance(2);
    check_not_found(
        h.files.retrieve(&ctx(), &short.id).await,
        &short.id,
        "retrieve of an expired file",
    )?;
    check_not_found(
        h.files.content(&ctx(), &short.id).await.map(|c| c.file),
        &short.id,
        "content of an expired file",
    )?;
    check_not_found(
        h.files.delete(&ctx(), &short.id).await,
        &short.id,
        "delete of an expired file",
    )?;
    ensure!(
        listed_ids(&*h.files).await? == [long.id.clone()],
        "the list after expiry is not just the live file"
    );
    let c = h
        .files
        .content(&ctx(), &long.id)
        .await
        .map_err(|e| anyhow!("content of the live file failed: {e}"))?;
    ensure!(
        c.content.as_ref() == b"short-lived",
        "the live file's content changed"
    );
    advance(3600);
    ensure!(
        listed_ids(&*h.files).await?.is_empty(),
        "a file outlived its expires_at"
    );
    Ok(Outcome::Passed)
}

/// More than `max_upload_bytes` is refused with PayloadTooLarge, streamed or whole, and stores
/// nothing; exactly the maximum is accepted.
pub async fn upload_too_large(h: &FilesHarness) -> ScenarioResult {
    let max = h.files.max_upload_bytes();
    if max > LARGEST_TESTED_CAP {
        return Ok(Outcome::Skipped(
            "a size cap of at most 16 MiB (configure one for the test)",
        ));
    }
    let max = usize::try_from(max)?;
    let whole = h
        .files
        .upload(
            &ctx(),
            upload_of("big.bin", &vec![7u8; max + 1], FilePurpose::Batch),
        )
        .await;
    ensure!(
        matches!(&whole, Err(e) if e.kind() == ErrorKind::PayloadTooLarge),
        "an upload of max+1 bytes answered {whole:?}"
    );
    let chunks = vec![
        Ok(Bytes::from(vec![1u8; max])),
        Ok(Bytes::from_static(b"!")),
    ];
    let streamed = UploadStream {
        filename: "big.bin".into(),
        content_type: None,
        purpose: FilePurpose::Batch,
        expires_after: None,
        content: futures::stream::iter(chunks).boxed(),
    };
    let streamed = h.files.upload_stream(&ctx(), streamed).await;
    ensure!(
        matches!(&streamed, Err(e) if e.kind() == ErrorKind::PayloadTooLarge),
        "a streamed max+1 bytes answered {streamed:?}"
    );
    ensure!(
        listed_ids(&*h.files).await?.is_empty(),
        "a refused upload was stored"
    );
    let fits = upload(&*h.files, "fits.bin", &vec![2u8; max], FilePurpose::Batch).await?;
    ensure!(
        fits.bytes == max as u64,
        "an upload of exactly the maximum stored {} bytes",
        fits.bytes
    );
    Ok(Outcome::Passed)
}

/// A stream that fails midway fails the upload with that error and stores nothing.
pub async fn failed_stream_leaves_nothing(h: &FilesHarness) -> ScenarioResult {
    let chunks = vec![
        Ok(Bytes::from_static(b"partial ")),
        Err(Error::invalid("the client went away")),
    ];
    let upload = UploadStream {
        filename: "cut.txt".into(),
        content_type: None,
        purpose: FilePurpose::Assistants,
        expires_after: None,
        content: futures::stream::iter(chunks).boxed(),
    };
    match h.files.upload_stream(&ctx(), upload).await {
        Err(e) if e.message() == "the client went away" => {}
        other => return Err(anyhow!("an upload whose stream failed answered {other:?}")),
    }
    ensure!(
        listed_ids(&*h.files).await?.is_empty(),
        "a failed upload was stored"
    );
    Ok(Outcome::Passed)
}
