//! SQL table store scenarios. Each gets a table name of its own.

use lls_api_common::ErrorKind;
use lls_api_common::store::{Column, ColumnType, Filter, Order, PageQuery, SqlStore};
use serde_json::{Value, json};

use super::row;

fn all_types() -> Vec<Column> {
    vec![
        Column::primary_key("id", ColumnType::Text),
        Column::new("n", ColumnType::Integer),
        Column::new("f", ColumnType::Float),
        Column::new("b", ColumnType::Boolean),
        Column::new("s", ColumnType::Text),
        Column::new("j", ColumnType::Json),
        Column::new("missing", ColumnType::Json),
    ]
}

/// `created` ties at 20 between b and c, so the id breaks the tie.
async fn five_rows(store: &dyn SqlStore, table: &str) {
    let columns = [
        Column::primary_key("id", ColumnType::Text),
        Column::new("created", ColumnType::Integer),
        Column::new("kind", ColumnType::Text),
    ];
    store.create_table(table, &columns).await.unwrap();
    let rows: Vec<_> = [
        ("a", 10, "x"),
        ("b", 20, "y"),
        ("c", 20, "x"),
        ("d", 30, "x"),
        ("e", 40, "y"),
    ]
    .into_iter()
    .map(|(id, created, kind)| row(json!({"id": id, "created": created, "kind": kind})))
    .collect();
    store.insert(table, &rows).await.unwrap();
}

/// Rows ordered by `created` (ties by `id`), unfiltered.
pub fn page(order: Order, after: Option<&str>, limit: Option<usize>) -> PageQuery {
    PageQuery {
        filter: Filter::all(),
        order_by: "created".into(),
        order,
        id_column: "id".into(),
        after: after.map(str::to_owned),
        limit,
    }
}

async fn ids(store: &dyn SqlStore, table: &str, query: &PageQuery) -> (Vec<String>, bool) {
    let page = store.fetch_page(table, query).await.unwrap();
    let ids = page
        .rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, page.has_more)
}

pub async fn sql_types_round_trip(store: &dyn SqlStore, table: &str) {
    store.create_table(table, &all_types()).await.unwrap();
    let full = row(json!({
        "id": "r1",
        "n": 9_007_199_254_740_993_i64,
        "f": 0.1,
        "b": true,
        "s": "ünïcode 'quoted' \"text\"",
        "j": {"a": [1, 2, {"b": null}], "c": "ü", "d": 1.5, "e": false},
        "missing": null,
    }));
    let sparse = row(json!({"id": "r2", "j": "just a string", "b": false, "n": -5}));
    store.insert(table, &[full.clone(), sparse]).await.unwrap();

    let got = store
        .fetch_one(table, &Filter::eq("id", "r1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Value::Object(got), Value::Object(full));
    let got = store
        .fetch_one(table, &Filter::eq("id", "r2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Value::Object(got),
        json!({"id": "r2", "n": -5, "f": null, "b": false, "s": null, "j": "just a string", "missing": null})
    );
    assert!(
        store
            .fetch_one(table, &Filter::eq("id", "nope"))
            .await
            .unwrap()
            .is_none()
    );
    let by_bool = store
        .fetch_one(table, &Filter::eq("b", false))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_bool["id"], "r2");
    let by_null = store
        .fetch_one(table, &Filter::eq("s", Value::Null))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_null["id"], "r2");
}

pub async fn sql_duplicate_key_is_conflict(store: &dyn SqlStore, table: &str) {
    store.create_table(table, &all_types()).await.unwrap();
    store
        .insert(table, &[row(json!({"id": "1", "n": 1}))])
        .await
        .unwrap();
    let err = store
        .insert(table, &[row(json!({"id": "1", "n": 2}))])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    // A batch is one transaction: the good row before the duplicate is not kept.
    let err = store
        .insert(table, &[row(json!({"id": "2"})), row(json!({"id": "1"}))])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(
        store
            .fetch_one(table, &Filter::eq("id", "2"))
            .await
            .unwrap()
            .is_none()
    );
    let kept = store
        .fetch_one(table, &Filter::eq("id", "1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept["n"], 1);
    store.insert(table, &[]).await.unwrap();
}

pub async fn sql_upsert_replaces(store: &dyn SqlStore, table: &str) {
    store.create_table(table, &all_types()).await.unwrap();
    store
        .upsert(
            table,
            &row(json!({"id": "u", "n": 1, "s": "first"})),
            &["id"],
        )
        .await
        .unwrap();
    store
        .upsert(
            table,
            &row(json!({"id": "u", "n": 2, "j": {"k": 1}})),
            &["id"],
        )
        .await
        .unwrap();
    let got = store
        .fetch_one(table, &Filter::eq("id", "u"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got["n"], 2);
    assert_eq!(got["j"], json!({"k": 1}));
    // Columns the upsert does not name keep their values.
    assert_eq!(got["s"], "first");
    // Only the key: nothing to update, and no error.
    store
        .upsert(table, &row(json!({"id": "u"})), &["id"])
        .await
        .unwrap();
    let page = store
        .fetch_page(
            table,
            &PageQuery {
                order_by: "id".into(),
                ..page(Order::Asc, None, None)
            },
        )
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 1);
    let err = store
        .upsert(table, &row(json!({"n": 3})), &["id"])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
}

/// A batch of upserts (a queued writer's): several statements' worth of rows, repeated keys
/// (the last wins), rows naming different columns, and rows that replace stored ones.
pub async fn sql_upsert_many_in_batches(store: &dyn SqlStore, table: &str) {
    store.create_table(table, &all_types()).await.unwrap();
    store.upsert(table, &row(json!({"id": "k0000", "n": -1, "s": "stored"})), &["id"]).await.unwrap();
    let mut rows: Vec<_> = (0..300).map(|i| row(json!({"id": format!("k{i:04}"), "n": i}))).collect();
    rows.extend((0..300).step_by(7).map(|i| row(json!({"id": format!("k{i:04}"), "n": i * 10, "j": {"i": i}}))));
    rows.push(row(json!({"id": "k0001", "n": 1001})));
    store.upsert_many(table, &rows, &["id"]).await.unwrap();
    let all = store
        .fetch_page(table, &PageQuery { order_by: "id".into(), ..page(Order::Asc, None, Some(1000)) })
        .await
        .unwrap();
    assert_eq!(all.rows.len(), 300);
    let get = |id: &str| all.rows.iter().find(|r| r["id"] == id).cloned().unwrap();
    // Replaced, with the column the batch did not name kept.
    assert_eq!((get("k0000")["n"].clone(), get("k0000")["s"].clone()), (json!(0), json!("stored")));
    assert_eq!(get("k0000")["j"], json!({"i": 0}));
    assert_eq!(get("k0001")["n"], 1001);
    assert_eq!((get("k0007")["n"].clone(), get("k0007")["j"].clone()), (json!(70), json!({"i": 7})));
    assert_eq!((get("k0299")["n"].clone(), get("k0299")["j"].clone()), (json!(299), Value::Null));
    store.upsert_many(table, &[], &["id"]).await.unwrap();
    let err = store.upsert_many(table, &[row(json!({"id": "x"})), row(json!({"n": 3}))], &["id"]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
}

pub async fn sql_pages_descending_with_cursor(store: &dyn SqlStore, table: &str) {
    five_rows(store, table).await;
    assert_eq!(
        ids(store, table, &page(Order::Desc, None, Some(2))).await,
        (vec!["e".into(), "d".into()], true)
    );
    assert_eq!(
        ids(store, table, &page(Order::Desc, Some("d"), Some(2))).await,
        (vec!["c".into(), "b".into()], true)
    );
    assert_eq!(
        ids(store, table, &page(Order::Desc, Some("b"), Some(2))).await,
        (vec!["a".into()], false)
    );
    assert_eq!(
        ids(store, table, &page(Order::Desc, Some("a"), Some(2))).await,
        (vec![], false)
    );
    // Exactly `limit` rows left: no further page.
    assert_eq!(
        ids(store, table, &page(Order::Desc, Some("c"), Some(2))).await,
        (vec!["b".into(), "a".into()], false)
    );
    let (all, more) = ids(store, table, &page(Order::Desc, None, None)).await;
    assert_eq!((all.join(""), more), ("edcba".into(), false));
}

pub async fn sql_pages_ascending_with_cursor(store: &dyn SqlStore, table: &str) {
    five_rows(store, table).await;
    assert_eq!(
        ids(store, table, &page(Order::Asc, None, Some(2))).await,
        (vec!["a".into(), "b".into()], true)
    );
    assert_eq!(
        ids(store, table, &page(Order::Asc, Some("b"), Some(2))).await,
        (vec!["c".into(), "d".into()], true)
    );
    assert_eq!(
        ids(store, table, &page(Order::Asc, Some("d"), Some(2))).await,
        (vec!["e".into()], false)
    );
    assert_eq!(
        ids(store, table, &page(Order::Asc, None, Some(0))).await,
        (vec![], true)
    );
    let (all, more) = ids(store, table, &page(Order::Asc, Some("a"), Some(100))).await;
    assert_eq!((all.join(""), more), ("bcde".into(), false));
}

pub async fn sql_pages_with_filter(store: &dyn SqlStore, table: &str) {
    five_rows(store, table).await;
    let mut query = page(Order::Desc, None, Some(2));
    query.filter = Filter::eq("kind", "x");
    assert_eq!(
        ids(store, table, &query).await,
        (vec!["d".into(), "c".into()], true)
    );
    query.after = Some("c".into());
    assert_eq!(ids(store, table, &query).await, (vec!["a".into()], false));
    query.filter = Filter::eq("kind", "y").and("created", 40);
    query.after = None;
    assert_eq!(ids(store, table, &query).await, (vec!["e".into()], false));
}

pub async fn sql_unknown_cursor_is_invalid(store: &dyn SqlStore, table: &str) {
    five_rows(store, table).await;
    let err = store
        .fetch_page(table, &page(Order::Desc, Some("zz"), Some(2)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert!(
        err.message().contains("not found") && err.message().contains("zz"),
        "{err}"
    );
}

pub async fn sql_update_and_delete(store: &dyn SqlStore, table: &str) {
    five_rows(store, table).await;
    let n = store
        .update(table, &row(json!({"kind": "z"})), &Filter::eq("id", "a"))
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        store
            .fetch_one(table, &Filter::eq("id", "a"))
            .await
            .unwrap()
            .unwrap()["kind"],
        "z"
    );
    let n = store
        .update(table, &row(json!({"kind": "z"})), &Filter::eq("id", "nope"))
        .await
        .unwrap();
    assert_eq!(n, 0);
    let n = store
        .update(table, &row(json!({"kind": null})), &Filter::eq("kind", "y"))
        .await
        .unwrap();
    assert_eq!(n, 2);
    let n = store
        .update(
            table,
            &row(json!({"created": 1})),
            &Filter::eq("kind", Value::Null),
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    let err = store
        .update(table, &row(json!({})), &Filter::all())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);

    assert_eq!(
        store.delete(table, &Filter::eq("id", "b")).await.unwrap(),
        1
    );
    assert_eq!(
        store.delete(table, &Filter::eq("id", "b")).await.unwrap(),
        0
    );
    assert!(
        store
            .fetch_one(table, &Filter::eq("id", "b"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.delete(table, &Filter::all()).await.unwrap(), 4);
    assert!(
        store
            .fetch_one(table, &Filter::all())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn sql_create_table_adds_missing_columns(store: &dyn SqlStore, table: &str) {
    let v1 = [
        Column::primary_key("id", ColumnType::Text),
        Column::new("a", ColumnType::Text),
    ];
    store.create_table(table, &v1).await.unwrap();
    store.create_table(table, &v1).await.unwrap();
    store
        .insert(table, &[row(json!({"id": "old", "a": "x"}))])
        .await
        .unwrap();
    let v2 = [
        Column::primary_key("id", ColumnType::Text),
        Column::new("a", ColumnType::Text),
        Column {
            nullable: false,
            ..Column::new("b", ColumnType::Json)
        },
    ];
    store.create_table(table, &v2).await.unwrap();
    store
        .insert(table, &[row(json!({"id": "new", "a": "y", "b": [1]}))])
        .await
        .unwrap();
    let old = store
        .fetch_one(table, &Filter::eq("id", "old"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Value::Object(old),
        json!({"id": "old", "a": "x", "b": null})
    );
    let new = store
        .fetch_one(table, &Filter::eq("id", "new"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new["b"], json!([1]));
}

fn invalid<T>(result: lls_api_common::Result<T>) -> Option<ErrorKind> {
    result.err().map(|e| e.kind())
}

pub async fn sql_bad_identifiers_are_rejected(store: &dyn SqlStore, table: &str) {
    let ok = [
        Column::primary_key("id", ColumnType::Text),
        Column::new("created", ColumnType::Integer),
    ];
    let evil = "t; DROP TABLE x; --";
    assert_eq!(
        invalid(store.create_table(evil, &ok).await),
        Some(ErrorKind::InvalidRequest)
    );
    let bad_column = [
        Column::primary_key("id", ColumnType::Text),
        Column::new("a b", ColumnType::Text),
    ];
    assert_eq!(
        invalid(store.create_table(table, &bad_column).await),
        Some(ErrorKind::InvalidRequest)
    );
    assert_eq!(
        invalid(store.fetch_one(evil, &Filter::all()).await),
        Some(ErrorKind::InvalidRequest)
    );

    store.create_table(table, &ok).await.unwrap();
    store
        .insert(table, &[row(json!({"id": "a", "created": 1}))])
        .await
        .unwrap();
    let sneaky = Filter::eq("id = id OR 1=1 --", "x");
    assert_eq!(
        invalid(store.fetch_one(table, &sneaky).await),
        Some(ErrorKind::InvalidRequest)
    );
    assert_eq!(
        invalid(store.delete(table, &sneaky).await),
        Some(ErrorKind::InvalidRequest)
    );
    let mut query = page(Order::Asc, None, None);
    query.order_by = "created; DROP TABLE x".into();
    assert_eq!(
        invalid(store.fetch_page(table, &query).await),
        Some(ErrorKind::InvalidRequest)
    );
    let bad_insert = row(json!({"id": "b", "created\"); DROP TABLE x; --": 1}));
    assert_eq!(
        invalid(store.insert(table, &[bad_insert]).await),
        Some(ErrorKind::InvalidRequest)
    );
    // Values are parameters, so SQL in a value is just text.
    let value = "x'); DROP TABLE t; --";
    store
        .insert(table, &[row(json!({"id": value, "created": 2}))])
        .await
        .unwrap();
    assert_eq!(
        store
            .fetch_one(table, &Filter::eq("id", value))
            .await
            .unwrap()
            .unwrap()["id"],
        value
    );
    assert!(
        store
            .fetch_one(table, &Filter::eq("id", "a"))
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn sql_bad_values_are_rejected(store: &dyn SqlStore, table: &str) {
    let kind = |r: lls_api_common::Result<()>| r.err().map(|e| e.kind());
    assert!(
        store.fetch_one(table, &Filter::all()).await.is_err(),
        "table not created yet"
    );
    store.create_table(table, &all_types()).await.unwrap();
    assert_eq!(
        kind(
            store
                .insert(table, &[row(json!({"id": "x", "n": "seven"}))])
                .await
        ),
        Some(ErrorKind::InvalidRequest)
    );
    assert_eq!(
        kind(
            store
                .insert(table, &[row(json!({"id": "x", "b": 1}))])
                .await
        ),
        Some(ErrorKind::InvalidRequest)
    );
    assert_eq!(
        kind(
            store
                .insert(table, &[row(json!({"id": "x", "nope": 1}))])
                .await
        ),
        Some(ErrorKind::InvalidRequest)
    );
    assert_eq!(
        kind(store.insert(table, &[row(json!({}))]).await),
        Some(ErrorKind::InvalidRequest)
    );
    // A NOT NULL primary key left out is the database's refusal, not a crash.
    assert!(store.insert(table, &[row(json!({"n": 1}))]).await.is_err());
    assert!(
        store
            .fetch_one(table, &Filter::all())
            .await
            .unwrap()
            .is_none()
    );
}

/// The database's owner filter admits exactly the rows [`OwnerFilter::admits`] does, for every
/// kind of stored owner and several readers (fetch_one, fetch_page, update and delete alike).
pub async fn sql_owner_filter_matches_the_reference(store: &dyn SqlStore, table: &str) {
    use lls_api_common::access::OwnerFilter;
    use lls_api_common::store::OWNER_COLUMNS;

    let mut columns = vec![Column::primary_key("id", ColumnType::Text), Column::new("created", ColumnType::Integer)];
    columns.extend(OWNER_COLUMNS);
    store.create_table(table, &columns).await.unwrap();
    let owners: Vec<(Option<&str>, Value)> = vec![
        (Some(""), json!({"roles": ["x"]})),
        (Some("bob"), Value::Null),
        (None, Value::Null),
        (None, json!({"roles": ["dev"]})),
        (Some("bob"), json!({"roles": ["ops"], "teams": ["ml", "x"]})),
        (Some("bob"), json!({"roles": ["ops"]})),
        (Some("bob"), json!({"roles": ["ops"], "teams": null})),
        (Some("bob"), json!({"projects": ["p"]})),
        (Some("bob"), json!({})),
        (Some("bob"), json!({"roles": ["admin"]})),
        (Some("bob"), json!({"roles": ["dev"], "teams": ["infra"]})),
        (Some("bob"), json!({"roles": []})),
        (Some("bob"), json!({"roles": "dev"})),
        (Some("bob"), json!({"roles": [1, "ops'--"]})),
        (Some("bob"), json!({"we\"ird": ["v"]})),
        (Some("bob"), json!([1, 2])),
    ];
    let rows: Vec<_> = owners
        .iter()
        .enumerate()
        .map(|(i, (principal, attributes))| {
            row(json!({"id": format!("r{i:02}"), "created": i, "owner_principal": principal, "access_attributes": attributes}))
        })
        .collect();
    store.insert(table, &rows).await.unwrap();
    let attrs = |pairs: &[(&str, &[&str])]| -> OwnerFilter {
        OwnerFilter { shared: pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect() }
    };
    let readers = [
        OwnerFilter::public_only(),
        attrs(&[("roles", &["dev", "ops"]), ("teams", &["ml"])]),
        attrs(&[("roles", &["ops'--"])]),
        attrs(&[("roles", &["admin"]), ("we\"ird", &["v"])]),
        attrs(&[("projects", &["p"])]),
    ];
    for reader in readers {
        let expected: Vec<String> = owners
            .iter()
            .enumerate()
            .filter(|(_, (principal, attributes))| reader.admits(*principal, attributes))
            .map(|(i, _)| format!("r{i:02}"))
            .collect();
        let mut query = page(Order::Asc, None, None);
        query.filter = Filter::all().owned(Some(reader.clone()));
        let (got, _) = ids(store, table, &query).await;
        // A name SQLite's JSON path cannot quote is not filtered in the database (the row
        // check afterwards decides): such rows may come back extra, never go missing.
        let weird = reader.shared.keys().any(|k| k.contains('"'));
        if weird {
            assert!(expected.iter().all(|id| got.contains(id)), "{reader:?}: {got:?} lacks some of {expected:?}");
        } else {
            assert_eq!(got, expected, "{reader:?}");
        }
        for (i, _) in owners.iter().enumerate() {
            let id = format!("r{i:02}");
            let one = store.fetch_one(table, &Filter::eq("id", id.as_str()).owned(Some(reader.clone()))).await.unwrap();
            assert_eq!(one.is_some(), got.contains(&id), "fetch_one {id} for {reader:?}");
        }
    }
    // Update and delete obey the same condition.
    let public = Filter::all().owned(Some(OwnerFilter::public_only()));
    let n_public = owners.iter().filter(|(p, a)| OwnerFilter::public_only().admits(*p, a)).count() as u64;
    assert_eq!(n_public, 3);
    let mut set = lls_api_common::store::Row::new();
    set.insert("created".into(), json!(100));
    assert_eq!(store.update(table, &set, &public).await.unwrap(), n_public);
    assert_eq!(store.delete(table, &public).await.unwrap(), n_public);
    let (left, _) = ids(store, table, &page(Order::Asc, None, None)).await;
    assert_eq!(left.len() as u64, owners.len() as u64 - n_public);
}
