//! Several servers on one PostgreSQL start at the same moment: each opens its own pool and
//! creates (or widens) the same tables. PostgreSQL's catalog can refuse concurrent
//! `CREATE TABLE IF NOT EXISTS` of one name (a unique violation on `pg_type`); the stores must
//! take turns so that every server starts.

use lls_api_common::store::{Column, ColumnType, KvStoreRef, StoreResolver};
use lls_storage::{BackendSpec, Stores};

use crate::harness::{postgres_url, unique_suffix};

const SERVERS: usize = 6;

fn stores(url: &str, kv_table: &str) -> Stores {
    Stores::new([
        (
            "kv".to_owned(),
            BackendSpec::PostgresKv {
                url: url.to_owned(),
                table: Some(kv_table.to_owned()),
            },
        ),
        (
            "sql".to_owned(),
            BackendSpec::PostgresSql {
                url: url.to_owned(),
            },
        ),
    ])
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_starting_together_all_create_their_tables() {
    let Some(url) = postgres_url("replicas::servers_starting_together_all_create_their_tables") else {
        return;
    };
    let suffix = unique_suffix();
    let (kv_table, table) = (format!("kv_rep{suffix}"), format!("rep{suffix}"));
    let servers: Vec<Stores> = (0..SERVERS).map(|_| stores(&url, &kv_table)).collect();
    let v1 = [Column::primary_key("id", ColumnType::Text)];
    let v2 = [
        Column::primary_key("id", ColumnType::Text),
        Column::new("added", ColumnType::Integer),
    ];
    for columns in [&v1[..], &v2[..]] {
        let opened = futures::future::join_all(servers.iter().map(|s| async {
            let sql = s.sql("sql").await?;
            sql.create_table(&table, columns).await?;
            let kv = s
                .kv(&KvStoreRef {
                    backend: "kv".into(),
                    namespace: "ns".into(),
                })
                .await?;
            kv.set("k", "v", None).await
        }))
        .await;
        for result in opened {
            result.unwrap();
        }
    }
}

/// Two replicas on one store: each sees the other live while it runs; once one stops, its
/// work is claimed by exactly one of the replicas asking, and a replica that never announced
/// itself counts as gone.
async fn presence_on(harness: crate::harness::Harness) {
    use lls_api_common::Tasks;
    use lls_api_common::replicas::Presence;

    let kv = harness.kv("vector_io").await;
    let (tasks_a, tasks_b) = (Tasks::new(), Tasks::new());
    let a = Presence::join(kv.clone(), &tasks_a, "replica:").await.unwrap();
    let b = Presence::join(kv.clone(), &tasks_b, "replica:").await.unwrap();
    assert_ne!(a.id(), b.id());
    assert!(b.is_live(a.id()).await.unwrap() && a.is_live(b.id()).await.unwrap());
    let ghost = Presence::new(kv.clone(), "replica:");
    assert!(!a.is_live(ghost.id()).await.unwrap());
    assert!(!a.is_live("").await.unwrap());

    tasks_a.shutdown(std::time::Duration::from_secs(5)).await;
    assert!(!b.is_live(a.id()).await.unwrap(), "a stopped replica's heartbeat is removed");
    let c = Presence::join(kv.clone(), &Tasks::new(), "replica:").await.unwrap();
    let claims = futures::future::join_all([&b, &c].map(|r| r.claim("file:vs_1:f1", a.id()))).await;
    let won: Vec<bool> = claims.into_iter().map(Result::unwrap).collect();
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    // A later takeover of the same work (from the replica that won it) is a new claim.
    assert!(c.claim("file:vs_1:f1", b.id()).await.unwrap());
    assert!(!b.claim("file:vs_1:f1", a.id()).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_see_each_other_and_one_takes_over_sqlite() {
    presence_on(crate::harness::Harness::sqlite("replicas").await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_see_each_other_and_one_takes_over_postgres() {
    let Some(harness) = crate::harness::Harness::postgres("replicas::replicas_see_each_other_and_one_takes_over_postgres").await else {
        return;
    };
    presence_on(harness).await;
}
