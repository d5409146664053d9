//! One behavior suite for every storage backend (OpenDAL style): the scenario functions in
//! `suite/` take `&dyn KvStore` / `&dyn SqlStore`, and `behavior_tests!` runs each of them
//! against SQLite and PostgreSQL (at `LLS_TEST_POSTGRES_URL`; without it these fail unless
//! `LLS_TEST_NO_POSTGRES=1`, which makes each of them print that it did not run).
// The scenarios in suite/ are plain functions called by the tests, outside clippy's test scope.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod replicas;
mod resolver;
mod suite;

macro_rules! kv_tests {
    ($backend:ident: $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(h) = Harness::$backend(concat!(stringify!($backend), "::", stringify!($name))).await else { return };
            kv::$name(&*h.kv("ns").await).await;
        }
    )*};
}

/// Scenarios of module `$suite` taking a SQL store and a table name of their own.
macro_rules! sql_tests {
    ($backend:ident, $suite:ident: $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(h) = Harness::$backend(concat!(stringify!($backend), "::", stringify!($name))).await else { return };
            $suite::$name(&*h.sql().await, &h.table(stringify!($name))).await;
        }
    )*};
}

macro_rules! queue_tests {
    ($backend:ident: $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(h) = Harness::$backend(concat!(stringify!($backend), "::", stringify!($name))).await else { return };
            queue::$name(h.sql().await, &h.table(stringify!($name)), h.writers()).await;
        }
    )*};
}

/// Expands to one `#[tokio::test]` per scenario, inside a module named after the backend
/// (`Harness::<backend>(test)` builds its stores).
macro_rules! behavior_tests {
    ($backend:ident) => {
        mod $backend {
            use crate::harness::Harness;
            use crate::suite::{authorized, kv, queue, sql};

            kv_tests!($backend: kv_set_get_delete, kv_ranges_in_key_order, kv_expired_rows_are_invisible, kv_incr_counts_atomically);
            sql_tests!($backend, sql:
                sql_types_round_trip,
                sql_duplicate_key_is_conflict,
                sql_upsert_replaces,
                sql_upsert_many_in_batches,
                sql_pages_descending_with_cursor,
                sql_pages_ascending_with_cursor,
                sql_pages_with_filter,
                sql_unknown_cursor_is_invalid,
                sql_update_and_delete,
                sql_owner_filter_matches_the_reference,
                sql_create_table_adds_missing_columns,
                sql_bad_identifiers_are_rejected,
                sql_bad_values_are_rejected,
            );
            sql_tests!($backend, authorized:
                authorized_default_policy,
                authorized_delete_refused,
                authorized_pages_fill_past_hidden_rows,
            );
            queue_tests!($backend:
                queue_flush_writes_everything,
                queue_upsert_replaces_repeated_keys,
                queue_drops_when_full_without_blocking,
                queue_bad_row_does_not_sink_batch,
            );

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn kv_namespaces_are_isolated() {
                let Some(h) = Harness::$backend(concat!(stringify!($backend), "::kv_namespaces_are_isolated")).await else { return };
                kv::kv_namespaces_are_isolated(&*h.kv("one").await, &*h.kv("two").await).await;
            }
        }
    };
}

behavior_tests!(sqlite);
behavior_tests!(postgres);
