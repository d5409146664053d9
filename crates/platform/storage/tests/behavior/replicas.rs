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
