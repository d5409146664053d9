//! 0.3.5's `AuthorizedSqlStore`, as functions over any [`SqlStore`]: reads of a table whose rows
//! carry the [`OWNER_COLUMNS`](crate::store::OWNER_COLUMNS), for the request's caller.
//!
//! A read filters in the database where the policy allows it ([`RequestContext::sql_filter`]),
//! then checks every row with the policy (`read` on `sql_record::<table>::<id>`); a row that
//! fails is absent. So another tenant's row answers exactly like a missing one, and its id does
//! not leak. Writers record the owner with [`owner_columns`](crate::store::owner_columns).

use serde_json::Value;

use crate::access::{Action, ProtectedResource, sql_record_type};
use crate::context::{Refusal, RequestContext};
use crate::store::{Filter, Page, PageQuery, Row, SqlStore, row_owner};
use crate::{Error, Result};

/// The column naming a row in access checks (0.3.5 reads `row["id"]`, `unknown` when absent).
pub const RECORD_ID_COLUMN: &str = "id";

/// After a fetch that dropped rows, pages are refilled at least this many rows at a time, so
/// a caller who sees few of many rows does not cost one query per row.
const REFILL_BATCH: usize = 100;

/// The identifier of `row` in access checks: its [`RECORD_ID_COLUMN`].
fn record_id(row: &Row) -> String {
    match row.get(RECORD_ID_COLUMN) {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => "unknown".to_owned(),
    }
}

/// Whether the caller may do `action` to `row` of `table`, by the owner the row records.
pub fn row_allows(ctx: &RequestContext, action: Action, table: &str, row: &Row) -> bool {
    let (type_, id, owner) = (sql_record_type(table), record_id(row), row_owner(row));
    ctx.can(action, &ProtectedResource::new(&type_, &id, Some(&owner)))
}

/// [`RequestContext::authorize`] for `row` of `table`.
pub fn authorize_row(
    ctx: &RequestContext,
    action: Action,
    table: &str,
    row: &Row,
) -> std::result::Result<(), Refusal> {
    let (type_, id, owner) = (sql_record_type(table), record_id(row), row_owner(row));
    ctx.authorize(action, &ProtectedResource::new(&type_, &id, Some(&owner)))
}

/// The row `filter` selects if the caller may read it: `None` when there is none or it is
/// hidden from the caller (answer the API's usual not-found error either way).
pub async fn fetch_readable_one(
    store: &dyn SqlStore,
    table: &str,
    filter: &Filter,
    ctx: &RequestContext,
) -> Result<Option<Row>> {
    let filter = filter.clone().owned(ctx.sql_filter());
    let row = store.fetch_one(table, &filter).await?;
    Ok(row.filter(|row| row_allows(ctx, Action::Read, table, row)))
}

/// The row `filter` selects, for changing it (`action` is update or delete): `None` when there
/// is none or the caller may not read it (not found), a 403 when the caller may read it but not
/// do `action`.
pub async fn fetch_for(
    store: &dyn SqlStore,
    table: &str,
    filter: &Filter,
    ctx: &RequestContext,
    action: Action,
) -> Result<Option<Row>> {
    let Some(row) = fetch_readable_one(store, table, filter, ctx).await? else {
        return Ok(None);
    };
    match authorize_row(ctx, action, table, &row) {
        Ok(()) => Ok(Some(row)),
        Err(Refusal::Hidden) => Ok(None),
        Err(Refusal::Forbidden(e)) => Err(e),
    }
}

/// A page of the rows the caller may read: [`SqlStore::fetch_page`] with the caller's
/// database filter (replacing any owner condition in `query.filter`), rows failing the policy
/// dropped, and more fetched after the last row seen until the page holds `query.limit` rows or
/// the table is exhausted. `has_more` says whether a further readable row exists. A cursor the
/// caller may not read is refused as the store refuses an unknown one.
pub async fn fetch_readable_page(
    store: &dyn SqlStore,
    table: &str,
    query: &PageQuery,
    ctx: &RequestContext,
) -> Result<Page> {
    fetch_readable_page_where(store, table, query, ctx, &mut |_| true).await
}

/// [`fetch_readable_page`] also dropping the readable rows `keep` refuses (it sees them in
/// order, up to the first row past the page; e.g. expired rows, which `keep` can note for
/// deletion).
pub async fn fetch_readable_page_where(
    store: &dyn SqlStore,
    table: &str,
    query: &PageQuery,
    ctx: &RequestContext,
    keep: &mut (dyn FnMut(&Row) -> bool + Send),
) -> Result<Page> {
    if let (Some(after), Some(_)) = (&query.after, ctx.user()) {
        let cursor = Filter::eq(query.id_column.clone(), after.clone());
        if fetch_readable_one(store, table, &cursor, ctx)
            .await?
            .is_none()
        {
            return Err(unknown_cursor(table, &query.id_column, after));
        }
    }
    let mut fetch = query.clone();
    fetch.filter = query.filter.clone().owned(ctx.sql_filter());
    let mut rows = Vec::new();
    for refill in 0_usize.. {
        // One readable row past the page tells whether there is another page.
        let wanted = query.limit.map(|limit| limit + 1 - rows.len());
        fetch.limit = if refill == 0 {
            wanted
        } else {
            wanted.map(|n| n.max(REFILL_BATCH))
        };
        let page = store.fetch_page(table, &fetch).await?;
        let Some(last) = page.rows.last() else {
            return Ok(Page {
                rows,
                has_more: false,
            });
        };
        fetch.after = Some(cursor_of(last, &query.id_column)?);
        for row in page.rows {
            if !row_allows(ctx, Action::Read, table, &row) || !keep(&row) {
                continue;
            }
            rows.push(row);
            if let Some(limit) = query.limit
                && rows.len() > limit
            {
                rows.truncate(limit);
                return Ok(Page {
                    rows,
                    has_more: true,
                });
            }
        }
        if !page.has_more {
            break;
        }
    }
    Ok(Page {
        rows,
        has_more: false,
    })
}

/// The id of `row` as a cursor.
fn cursor_of(row: &Row, id_column: &str) -> Result<String> {
    match row.get(id_column) {
        Some(Value::String(id)) => Ok(id.clone()),
        Some(Value::Number(id)) => Ok(id.to_string()),
        other => Err(Error::internal(format!(
            "a row's id column '{id_column}' holds {other:?}, not an id"
        ))),
    }
}

/// What the SQL stores answer for a cursor naming no row (the caller must not tell a hidden
/// row from a missing one).
fn unknown_cursor(table: &str, id_column: &str, after: &str) -> Error {
    Error::invalid(format!(
        "Record with {id_column}='{after}' not found in table '{table}'"
    ))
}
