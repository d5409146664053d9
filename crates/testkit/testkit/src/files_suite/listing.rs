//! Listing scenarios: order by `created_at`, cursor pagination, the purpose filter, bad limits.

use anyhow::{anyhow, ensure};
use lls_api_common::ErrorKind;
use lls_api_common::store::Order;
use lls_api_files::{FileList, FileObject, FilePurpose, ListFilesQuery};

use super::{FilesHarness, Outcome, ScenarioResult, ctx, upload};

async fn list(h: &FilesHarness, query: ListFilesQuery) -> anyhow::Result<FileList> {
    let shown = format!("{query:?}");
    h.files
        .list(&ctx(), query)
        .await
        .map_err(|e| anyhow!("list {shown} failed: {e}"))
}

fn query(order: Order, limit: Option<usize>, after: Option<&str>) -> ListFilesQuery {
    ListFilesQuery {
        after: after.map(str::to_owned),
        limit,
        order,
        purpose: None,
    }
}

fn ids(files: &[FileObject]) -> Vec<String> {
    files.iter().map(|f| f.id.clone()).collect()
}

/// `first_id`/`last_id` name the page's ends, `""` when it is empty.
fn check_ends(page: &FileList) -> anyhow::Result<()> {
    ensure!(
        page.object == "list",
        "object is {:?}, not \"list\"",
        page.object
    );
    let first = page.data.first().map(|f| f.id.as_str()).unwrap_or("");
    let last = page.data.last().map(|f| f.id.as_str()).unwrap_or("");
    ensure!(
        page.first_id == first && page.last_id == last,
        "first_id/last_id {:?}/{:?} do not match the page",
        page.first_id,
        page.last_id
    );
    Ok(())
}

/// Newest first by default (and with `desc`), oldest first with `asc`; files uploaded in the
/// same second keep their upload order.
pub async fn list_order(h: &FilesHarness) -> ScenarioResult {
    let empty = list(h, ListFilesQuery::default()).await?;
    ensure!(
        empty.data.is_empty() && !empty.has_more,
        "a fresh provider lists {:?}",
        ids(&empty.data)
    );
    check_ends(&empty)?;
    let mut uploaded = Vec::new();
    for i in 0..4 {
        uploaded.push(
            upload(
                &*h.files,
                &format!("f{i}.txt"),
                b"x",
                FilePurpose::Assistants,
            )
            .await?
            .id,
        );
    }
    let asc = list(h, query(Order::Asc, None, None)).await?;
    check_ends(&asc)?;
    ensure!(
        ids(&asc.data) == uploaded && !asc.has_more,
        "asc lists {:?}, uploads were {uploaded:?}",
        ids(&asc.data)
    );
    let newest_first: Vec<String> = uploaded.iter().rev().cloned().collect();
    let desc = list(h, query(Order::Desc, None, None)).await?;
    ensure!(
        ids(&desc.data) == newest_first,
        "desc lists {:?}, expected {newest_first:?}",
        ids(&desc.data)
    );
    let default = list(h, ListFilesQuery::default()).await?;
    ensure!(
        ids(&default.data) == newest_first,
        "the default order lists {:?}, expected newest first",
        ids(&default.data)
    );
    Ok(Outcome::Passed)
}

/// Pages of `limit` walk every file once with `after`; `has_more` is false on the last page.
/// Limits outside 1..=10000 are refused.
pub async fn list_pagination(h: &FilesHarness) -> ScenarioResult {
    let mut uploaded = Vec::new();
    for i in 0..5 {
        uploaded.push(
            upload(&*h.files, &format!("p{i}.txt"), b"x", FilePurpose::Batch)
                .await?
                .id,
        );
    }
    for order in [Order::Asc, Order::Desc] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        for expected_len in [2, 2, 1] {
            let page = list(h, query(order, Some(2), after.as_deref())).await?;
            check_ends(&page)?;
            ensure!(
                page.data.len() == expected_len,
                "{order:?} page after {after:?} has {} files, not {expected_len}",
                page.data.len()
            );
            ensure!(
                page.has_more == (expected_len == 2),
                "{order:?} page after {after:?}: has_more is {}",
                page.has_more
            );
            seen.extend(ids(&page.data));
            after = Some(page.last_id.clone());
        }
        let mut expected = uploaded.clone();
        if order == Order::Desc {
            expected.reverse();
        }
        ensure!(
            seen == expected,
            "{order:?} pages walked {seen:?}, expected {expected:?}"
        );
    }
    let exact = list(h, query(Order::Asc, Some(5), None)).await?;
    ensure!(
        exact.data.len() == 5 && !exact.has_more,
        "a limit equal to the count says has_more={}",
        exact.has_more
    );
    for bad in [0, 10_001] {
        match h
            .files
            .list(&ctx(), query(Order::Desc, Some(bad), None))
            .await
        {
            Err(e) if e.kind() == ErrorKind::InvalidRequest => {}
            other => {
                return Err(anyhow!(
                    "limit={bad} answered {other:?}, not an invalid-request error"
                ));
            }
        }
    }
    Ok(Outcome::Passed)
}

/// `purpose` keeps only files of that purpose.
pub async fn list_purpose_filter(h: &FilesHarness) -> ScenarioResult {
    let a = upload(&*h.files, "a.txt", b"a", FilePurpose::Assistants).await?;
    let b = upload(&*h.files, "b.jsonl", b"b", FilePurpose::Batch).await?;
    for (purpose, expected) in [
        (FilePurpose::Assistants, &a.id),
        (FilePurpose::Batch, &b.id),
    ] {
        let page = list(
            h,
            ListFilesQuery {
                purpose: Some(purpose),
                ..Default::default()
            },
        )
        .await?;
        ensure!(
            ids(&page.data) == [expected.clone()],
            "purpose={purpose:?} lists {:?}",
            ids(&page.data)
        );
        check_ends(&page)?;
    }
    Ok(Outcome::Passed)
}
