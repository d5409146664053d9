//! `lls_api_common::authorized_sql` over each backend: reads for a caller filter in the
//! database for the default policy and row by row always; pages fill up past hidden rows.

use std::sync::Arc;

use lls_access::Policy;
use lls_api_common::ErrorKind;
use lls_api_common::access::{AccessAttributes, Action, Caller, User};
use lls_api_common::authorized_sql::{fetch_for, fetch_readable_one, fetch_readable_page, fetch_readable_page_where};
use lls_api_common::store::{Column, ColumnType, Filter, OWNER_COLUMNS, Order, PageQuery, SqlStore, owner_columns};
use lls_api_common::RequestContext;
use serde_json::{Value, json};

use super::row;
use super::sql::page as query;

fn user(principal: &str, attributes: &[(&str, &[&str])]) -> User {
    let attributes: AccessAttributes =
        attributes.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect();
    User::new(principal, attributes)
}

fn ctx(user: &User, policy: Value) -> RequestContext {
    let policy: Policy = serde_json::from_value(policy).unwrap();
    RequestContext::default().with_caller(Arc::new(Caller { user: user.clone(), policy: Arc::new(policy) }))
}

fn admin_or_owner() -> Value {
    let all = ["create", "read", "update", "delete"];
    json!([
        {"permit": {"actions": all}, "when": "user with admin in roles"},
        {"permit": {"actions": all}, "when": "user is owner"},
    ])
}

async fn table_with_owners(store: &dyn SqlStore, table: &str) {
    let mut columns = vec![Column::primary_key("id", ColumnType::Text), Column::new("created", ColumnType::Integer)];
    columns.extend(OWNER_COLUMNS);
    store.create_table(table, &columns).await.unwrap();
}

/// Rows `(id, created, owner)`; `None` writes the row as with authentication off.
async fn insert(store: &dyn SqlStore, table: &str, rows: &[(String, i64, Option<&User>)]) {
    let rows: Vec<_> = rows
        .iter()
        .map(|(id, created, owner)| {
            let mut r = row(json!({"id": id, "created": created}));
            r.extend(owner_columns(*owner).map(|(k, v)| (k.to_owned(), v)));
            r
        })
        .collect();
    store.insert(table, &rows).await.unwrap();
}

async fn page_ids(store: &dyn SqlStore, table: &str, q: &PageQuery, ctx: &RequestContext) -> (Vec<String>, bool) {
    let page = fetch_readable_page(store, table, q, ctx).await.unwrap();
    (page.rows.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect(), page.has_more)
}

async fn one(store: &dyn SqlStore, table: &str, id: &str, ctx: &RequestContext) -> bool {
    fetch_readable_one(store, table, &Filter::eq("id", id), ctx).await.unwrap().is_some()
}

/// The default policy: a caller reads its own rows, rows of owners sharing its roles, and
/// unowned rows; others' rows are absent from pages and single reads alike.
pub async fn authorized_default_policy(store: &dyn SqlStore, table: &str) {
    table_with_owners(store, table).await;
    let alice = user("alice", &[("roles", &["a"])]);
    let bob = user("bob", &[("roles", &["b"])]);
    let carol = user("carol", &[("roles", &["a"]), ("teams", &["t"])]);
    let rows = [("al", 1, Some(&alice)), ("bo", 2, Some(&bob)), ("pub", 3, None), ("ca", 4, Some(&carol))];
    insert(store, table, &rows.map(|(id, c, o)| (id.to_owned(), c, o))).await;
    let (as_alice, as_bob, as_carol) = (ctx(&alice, json!([])), ctx(&bob, json!([])), ctx(&carol, json!([])));
    let all = query(Order::Asc, None, None);
    assert_eq!(page_ids(store, table, &all, &as_alice).await, (vec!["al".into(), "pub".into()], false));
    assert_eq!(page_ids(store, table, &all, &as_bob).await, (vec!["bo".into(), "pub".into()], false));
    // carol shares alice's role: she reads alice's row. alice lacks carol's team: the database
    // filter (roles only, alice's attributes) lets carol's row through, the policy drops it.
    assert_eq!(page_ids(store, table, &all, &as_carol).await, (vec!["al".into(), "pub".into(), "ca".into()], false));
    // Authentication off: every row.
    assert_eq!(page_ids(store, table, &all, &RequestContext::default()).await.0.len(), 4);
    let limited = query(Order::Desc, None, Some(1));
    assert_eq!(page_ids(store, table, &limited, &as_alice).await, (vec!["pub".into()], true));
    let next = query(Order::Desc, Some("pub"), Some(1));
    assert_eq!(page_ids(store, table, &next, &as_alice).await, (vec!["al".into()], false));
    assert!(one(store, table, "al", &as_alice).await && one(store, table, "pub", &as_bob).await);
    assert!(!one(store, table, "bo", &as_alice).await && !one(store, table, "al", &as_bob).await);
    assert!(fetch_for(store, table, &Filter::eq("id", "al"), &as_alice, Action::Delete).await.unwrap().is_some());
    assert!(fetch_for(store, table, &Filter::eq("id", "al"), &as_bob, Action::Delete).await.unwrap().is_none());
    // Another's row as a cursor answers like an unknown one.
    let hidden = fetch_readable_page(store, table, &query(Order::Asc, Some("bo"), Some(1)), &as_alice).await.unwrap_err();
    let unknown = store.fetch_page(table, &query(Order::Asc, Some("zz"), Some(1))).await.unwrap_err();
    assert_eq!(hidden.kind(), ErrorKind::InvalidRequest);
    assert_eq!(hidden.message().replace("bo", "zz"), unknown.message());
}

/// A caller who may read but not delete gets a 403 for the delete, not-found for others' rows.
pub async fn authorized_delete_refused(store: &dyn SqlStore, table: &str) {
    table_with_owners(store, table).await;
    let owner = user("owner", &[]);
    insert(store, table, &[("r".into(), 1, Some(&owner))]).await;
    let reader = ctx(&user("reader", &[]), json!([{"permit": {"actions": ["read"]}}]));
    assert!(one(store, table, "r", &reader).await);
    let err = fetch_for(store, table, &Filter::eq("id", "r"), &reader, Action::Delete).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden, "{err}");
    let nobody = ctx(&user("nobody", &[]), json!([{"permit": {"actions": ["delete"]}}]));
    assert!(fetch_for(store, table, &Filter::eq("id", "r"), &nobody, Action::Delete).await.unwrap().is_none());
}

/// A custom policy (no database filter): alice owns one row in ten of 250; her pages still hold
/// `limit` rows, `has_more` is exact, and cursors walk every row of hers once, both orders.
pub async fn authorized_pages_fill_past_hidden_rows(store: &dyn SqlStore, table: &str) {
    table_with_owners(store, table).await;
    let alice = user("alice", &[("roles", &["dev"])]);
    let bob = user("bob", &[("roles", &["dev"])]);
    let rows: Vec<_> =
        (0..250).map(|i| (format!("r{i:03}"), i / 2, Some(if i % 10 == 7 { &alice } else { &bob }))).collect();
    insert(store, table, &rows).await;
    let mine: Vec<String> = (0..250).filter(|i| i % 10 == 7).map(|i| format!("r{i:03}")).collect();
    let as_alice = ctx(&alice, admin_or_owner());
    assert!(as_alice.sql_filter().is_none(), "a custom policy is checked row by row");
    for order in [Order::Asc, Order::Desc] {
        let mut expected = mine.clone();
        if order == Order::Desc {
            expected.reverse();
        }
        let (mut seen, mut after) = (Vec::new(), None::<String>);
        for page_len in [4, 4, 4, 4, 4, 4, 1] {
            let (ids, has_more) = page_ids(store, table, &query(order, after.as_deref(), Some(4)), &as_alice).await;
            assert_eq!(ids.len(), page_len, "{order:?} after {after:?}: {ids:?}");
            assert_eq!(has_more, page_len == 4, "{order:?} after {after:?}");
            after = ids.last().cloned();
            seen.extend(ids);
        }
        assert_eq!(seen, expected, "{order:?}");
    }
    let exact = query(Order::Asc, None, Some(25));
    assert_eq!(page_ids(store, table, &exact, &as_alice).await, (mine.clone(), false));
    let one_short = query(Order::Asc, None, Some(24));
    assert_eq!(page_ids(store, table, &one_short, &as_alice).await, (mine[..24].to_vec(), true));
    // The last of hers is followed by hidden rows only.
    let last = query(Order::Asc, Some(&mine[24]), Some(3));
    assert_eq!(page_ids(store, table, &last, &as_alice).await, (vec![], false));
    let hidden = query(Order::Asc, Some("r000"), Some(3));
    assert_eq!(fetch_readable_page(store, table, &hidden, &as_alice).await.unwrap_err().kind(), ErrorKind::InvalidRequest);
    // An admin reads every row.
    let admin = ctx(&user("root", &[("roles", &["admin"])]), admin_or_owner());
    assert_eq!(page_ids(store, table, &query(Order::Asc, None, None), &admin).await.0.len(), 250);
    assert_eq!(page_ids(store, table, &query(Order::Asc, Some("r000"), Some(10)), &admin).await.0[0], "r001");
    // `keep` drops readable rows too, and the page still fills.
    let mut seen_by_keep = 0;
    let mut keep = |r: &lls_api_common::store::Row| {
        seen_by_keep += 1;
        r["id"].as_str().is_some_and(|id| id.ends_with('7') && !id.ends_with("17"))
    };
    let page = fetch_readable_page_where(store, table, &query(Order::Asc, None, Some(3)), &as_alice, &mut keep).await.unwrap();
    let ids: Vec<_> = page.rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!((ids, page.has_more), (vec!["r007", "r027", "r037"], true));
    assert_eq!(seen_by_keep, 5, "keep sees readable rows only, up to the one past the page");
}
