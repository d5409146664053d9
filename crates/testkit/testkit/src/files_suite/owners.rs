//! Multi-tenant scenarios: files belong to their uploader; another tenant's file is absent from
//! lists and answers "not found" everywhere, under the default policy and a custom one.

use anyhow::{anyhow, ensure};
use bytes::Bytes;
use lls_api_common::RequestContext;
use lls_api_common::access::AccessPolicy;
use lls_api_common::store::Order;
use lls_api_files::{FileObject, FilePurpose, Files, ListFilesQuery, UploadFile};
use std::sync::Arc;

use super::{FilesHarness, Outcome, ScenarioResult, check_not_found, ctx};
use crate::callers::{admin_or_owner_policy, caller_ctx, default_policy};

async fn upload_as(
    files: &dyn Files,
    who: &RequestContext,
    filename: &str,
) -> anyhow::Result<FileObject> {
    let upload = UploadFile {
        filename: filename.into(),
        content_type: None,
        content: Bytes::from_static(b"tenant data"),
        purpose: FilePurpose::Assistants,
        expires_after: None,
    };
    files
        .upload(who, upload)
        .await
        .map_err(|e| anyhow!("upload of {filename:?} failed: {e}"))
}

async fn ids_as(
    files: &dyn Files,
    who: &RequestContext,
    query: ListFilesQuery,
) -> anyhow::Result<(Vec<String>, bool)> {
    let list = files
        .list(who, query)
        .await
        .map_err(|e| anyhow!("list failed: {e}"))?;
    Ok((list.data.into_iter().map(|f| f.id).collect(), list.has_more))
}

fn asc() -> ListFilesQuery {
    ListFilesQuery {
        order: Order::Asc,
        ..Default::default()
    }
}

/// `who` can neither see nor touch `file`: each operation answers upstream's "not found".
async fn check_hidden(
    files: &dyn Files,
    who: &RequestContext,
    file: &FileObject,
    whose: &str,
) -> anyhow::Result<()> {
    check_not_found(
        files.retrieve(who, &file.id).await,
        &file.id,
        &format!("retrieve of {whose} file"),
    )?;
    check_not_found(
        files.content(who, &file.id).await.map(|c| c.file),
        &file.id,
        &format!("content of {whose} file"),
    )?;
    check_not_found(
        files.delete(who, &file.id).await,
        &file.id,
        &format!("delete of {whose} file"),
    )?;
    Ok(())
}

fn user(principal: &str, role: &str, policy: Arc<dyn AccessPolicy>) -> RequestContext {
    caller_ctx(principal, &[("roles", &[role])], policy)
}

/// The default policy: alice and bob (different roles) see their own files and the one
/// uploaded with authentication off, never each other's; bob's file survives alice's delete.
pub async fn owners_default_policy(h: &FilesHarness) -> ScenarioResult {
    let files = &*h.files;
    let alice = user("alice", "a", default_policy());
    let bob = user("bob", "b", default_policy());
    let shared = upload_as(files, &ctx(), "shared.txt").await?;
    let a = upload_as(files, &alice, "alice.txt").await?;
    let b = upload_as(files, &bob, "bob.txt").await?;
    let (seen, _) = ids_as(files, &alice, asc()).await?;
    ensure!(
        seen == [shared.id.clone(), a.id.clone()],
        "alice lists {seen:?}"
    );
    let (seen, _) = ids_as(files, &bob, asc()).await?;
    ensure!(
        seen == [shared.id.clone(), b.id.clone()],
        "bob lists {seen:?}"
    );
    check_hidden(files, &alice, &b, "bob's").await?;
    check_hidden(files, &bob, &a, "alice's").await?;
    for who in [&alice, &bob] {
        let got = files
            .retrieve(who, &shared.id)
            .await
            .map_err(|e| anyhow!("retrieve of the unowned file failed: {e}"))?;
        ensure!(got == shared, "the unowned file reads as {got:?}");
    }
    let got = files
        .content(&bob, &b.id)
        .await
        .map_err(|e| anyhow!("bob's content after alice's delete: {e}"))?;
    ensure!(got.file == b, "bob's file changed: {:?}", got.file);
    // Authentication off (the server's own work): every file.
    let (seen, _) = ids_as(files, &ctx(), asc()).await?;
    ensure!(
        seen == [shared.id.clone(), a.id.clone(), b.id.clone()],
        "without a caller the list is {seen:?}"
    );
    files
        .delete(&alice, &a.id)
        .await
        .map_err(|e| anyhow!("alice's delete of her file failed: {e}"))?;
    Ok(Outcome::Passed)
}

/// A custom policy (admins do anything, others what they own): the admin sees, reads and
/// deletes everyone's files; alice still sees only hers (not even the unowned one).
pub async fn owners_admin_policy(h: &FilesHarness) -> ScenarioResult {
    let files = &*h.files;
    let policy = admin_or_owner_policy()?;
    let (alice, bob, admin) = (
        user("alice", "dev", policy.clone()),
        user("bob", "dev", policy.clone()),
        user("root", "admin", policy),
    );
    let shared = upload_as(files, &ctx(), "shared.txt").await?;
    let a = upload_as(files, &alice, "alice.txt").await?;
    let b = upload_as(files, &bob, "bob.txt").await?;
    let (seen, _) = ids_as(files, &admin, asc()).await?;
    ensure!(
        seen == [shared.id.clone(), a.id.clone(), b.id.clone()],
        "the admin lists {seen:?}"
    );
    let (seen, _) = ids_as(files, &alice, asc()).await?;
    ensure!(seen == [a.id.clone()], "alice lists {seen:?}");
    check_hidden(files, &alice, &b, "bob's").await?;
    let got = files
        .content(&admin, &b.id)
        .await
        .map_err(|e| anyhow!("the admin's read of bob's file failed: {e}"))?;
    ensure!(
        got.file == b,
        "the admin reads bob's file as {:?}",
        got.file
    );
    files
        .delete(&admin, &b.id)
        .await
        .map_err(|e| anyhow!("the admin's delete of bob's file failed: {e}"))?;
    check_not_found(
        files.retrieve(&bob, &b.id).await,
        &b.id,
        "bob's retrieve after the admin deleted it",
    )?;
    Ok(Outcome::Passed)
}

/// Under the custom policy (no database filter: every row is checked), alice's pages fill up
/// past the many files of bob between hers, `has_more` is exact and cursors walk each once.
pub async fn owners_pages_fill(h: &FilesHarness) -> ScenarioResult {
    let files = &*h.files;
    let policy = admin_or_owner_policy()?;
    let (alice, bob) = (
        user("alice", "dev", policy.clone()),
        user("bob", "dev", policy),
    );
    let mut hers = Vec::new();
    for i in 0..36 {
        if i % 7 == 3 {
            hers.push(upload_as(files, &alice, &format!("a{i}.txt")).await?.id);
        } else {
            upload_as(files, &bob, &format!("b{i}.txt")).await?;
        }
    }
    ensure!(hers.len() == 5);
    for order in [Order::Asc, Order::Desc] {
        let mut expected = hers.clone();
        if order == Order::Desc {
            expected.reverse();
        }
        let (mut walked, mut after) = (Vec::new(), None::<String>);
        for expected_len in [2, 2, 1] {
            let query = ListFilesQuery {
                after: after.clone(),
                limit: Some(2),
                order,
                purpose: None,
            };
            let (page, has_more) = ids_as(files, &alice, query).await?;
            ensure!(
                page.len() == expected_len,
                "{order:?} page after {after:?} holds {page:?}, not {expected_len} files"
            );
            ensure!(
                has_more == (expected_len == 2),
                "{order:?} page after {after:?}: has_more is {has_more}"
            );
            after = page.last().cloned();
            walked.extend(page);
        }
        ensure!(
            walked == expected,
            "{order:?} pages walked {walked:?}, expected {expected:?}"
        );
    }
    let (all, has_more) = ids_as(
        files,
        &alice,
        ListFilesQuery {
            limit: Some(5),
            ..asc()
        },
    )
    .await?;
    ensure!(
        all == hers && !has_more,
        "a limit equal to her count lists {all:?} (has_more {has_more})"
    );
    Ok(Outcome::Passed)
}
