//! Single-file scenarios: upload (whole and streamed), retrieve, content, delete, unknown ids.

use anyhow::{anyhow, ensure};
use bytes::Bytes;
use futures::StreamExt;
use lls_api_files::{FilePurpose, Files, UploadStream};

use super::{
    FilesHarness, Outcome, ScenarioResult, check_new_file, check_not_found, ctx, listed_ids, upload,
};

/// An upload answers a well-formed file object, and retrieve answers the same object.
pub async fn upload_and_retrieve(h: &FilesHarness) -> ScenarioResult {
    let files = &*h.files;
    let f = upload(
        files,
        "notes.txt",
        b"files test content",
        FilePurpose::Assistants,
    )
    .await?;
    check_new_file(&f, "notes.txt", 18, FilePurpose::Assistants)?;
    let got = files
        .retrieve(&ctx(), &f.id)
        .await
        .map_err(|e| anyhow!("retrieve failed: {e}"))?;
    ensure!(got == f, "retrieve answered {got:?}, upload answered {f:?}");
    let b = upload(files, "requests.jsonl", b"{}\n", FilePurpose::Batch).await?;
    check_new_file(&b, "requests.jsonl", 3, FilePurpose::Batch)?;
    ensure!(b.id != f.id, "two uploads got the same id {}", f.id);
    Ok(Outcome::Passed)
}

/// A streamed upload in several chunks stores their concatenation.
pub async fn upload_stream_chunks(h: &FilesHarness) -> ScenarioResult {
    let chunks: Vec<Bytes> = (0..50u8)
        .map(|i| Bytes::from(vec![i; 1000 + usize::from(i)]))
        .collect();
    let expected: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    let upload = UploadStream {
        filename: "chunks.bin".into(),
        content_type: Some("application/octet-stream".into()),
        purpose: FilePurpose::Assistants,
        expires_after: None,
        content: futures::stream::iter(chunks.into_iter().map(Ok)).boxed(),
    };
    let f = h
        .files
        .upload_stream(&ctx(), upload)
        .await
        .map_err(|e| anyhow!("upload_stream failed: {e}"))?;
    check_new_file(&f, "chunks.bin", expected.len(), FilePurpose::Assistants)?;
    let c = h
        .files
        .content(&ctx(), &f.id)
        .await
        .map_err(|e| anyhow!("content failed: {e}"))?;
    ensure!(
        c.content.as_ref() == expected.as_slice(),
        "streamed content came back different ({} bytes)",
        c.content.len()
    );
    Ok(Outcome::Passed)
}

/// Content comes back byte for byte (every byte value, no text assumptions), with its metadata.
pub async fn content_round_trip(h: &FilesHarness) -> ScenarioResult {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let f = upload(&*h.files, "blob.bin", &bytes, FilePurpose::Assistants).await?;
    let c = h
        .files
        .content(&ctx(), &f.id)
        .await
        .map_err(|e| anyhow!("content failed: {e}"))?;
    ensure!(
        c.content.as_ref() == bytes.as_slice(),
        "content differs from what was uploaded"
    );
    ensure!(
        c.file == f,
        "content carries {:?}, upload answered {f:?}",
        c.file
    );
    Ok(Outcome::Passed)
}

/// A filename is metadata: one that looks like a path is kept as given and changes nothing else.
pub async fn filename_is_metadata(h: &FilesHarness) -> ScenarioResult {
    for name in [
        "../../etc/passwd",
        "/etc/shadow",
        "a/b\\c .txt",
        "résumé \"final\".pdf",
    ] {
        let f = upload(&*h.files, name, name.as_bytes(), FilePurpose::Assistants).await?;
        check_new_file(&f, name, name.len(), FilePurpose::Assistants)?;
        let c = h
            .files
            .content(&ctx(), &f.id)
            .await
            .map_err(|e| anyhow!("content of {name:?} failed: {e}"))?;
        ensure!(
            c.content.as_ref() == name.as_bytes(),
            "content of {name:?} differs"
        );
    }
    Ok(Outcome::Passed)
}

/// Delete answers `{id, object: file, deleted: true}`; afterwards the file is gone everywhere.
pub async fn delete(h: &FilesHarness) -> ScenarioResult {
    let files = &*h.files;
    let gone = upload(files, "gone.txt", b"bye", FilePurpose::Assistants).await?;
    let kept = upload(files, "kept.txt", b"stay", FilePurpose::Assistants).await?;
    let d = files
        .delete(&ctx(), &gone.id)
        .await
        .map_err(|e| anyhow!("delete failed: {e}"))?;
    ensure!(
        (d.id.as_str(), d.object.as_str(), d.deleted) == (gone.id.as_str(), "file", true),
        "delete answered {d:?}"
    );
    check_not_found(
        files.retrieve(&ctx(), &gone.id).await,
        &gone.id,
        "retrieve after delete",
    )?;
    check_not_found(
        files.content(&ctx(), &gone.id).await.map(|c| c.file),
        &gone.id,
        "content after delete",
    )?;
    check_not_found(
        files.delete(&ctx(), &gone.id).await,
        &gone.id,
        "a second delete",
    )?;
    let ids = listed_ids(files).await?;
    ensure!(
        ids == [kept.id.clone()],
        "after deleting {} the list is {ids:?}",
        gone.id
    );
    Ok(Outcome::Passed)
}

/// Unknown and malformed ids (including path tricks) are "not found" for every operation.
pub async fn unknown_id(h: &FilesHarness) -> ScenarioResult {
    let files: &dyn Files = &*h.files;
    upload(files, "decoy.txt", b"decoy", FilePurpose::Assistants).await?;
    for id in [
        "file-00000000000000000000000000000000",
        "file-nope",
        "../../etc/passwd",
        "file-../../../etc/passwd",
        "file-0123456789abcdef/0123456789abcdef",
        "..",
        ".",
        "",
    ] {
        check_not_found(files.retrieve(&ctx(), id).await, id, "retrieve")?;
        check_not_found(
            files.content(&ctx(), id).await.map(|c| c.file),
            id,
            "content",
        )?;
        check_not_found(files.delete(&ctx(), id).await, id, "delete")?;
    }
    ensure!(
        listed_ids(files).await?.len() == 1,
        "the decoy file did not survive deletes of unknown ids"
    );
    Ok(Outcome::Passed)
}
