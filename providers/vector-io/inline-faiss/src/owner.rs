//! One server process at a time serves a faiss kv namespace. The indexes live in process memory
//! and each store's log is numbered by the process writing it, so a second process on the same
//! namespace (a second replica on one PostgreSQL) would neither see the first one's writes nor
//! keep its log entries: it overwrote them, and files reported `completed` then searched empty.
//!
//! Each serving process keeps a heartbeat key that expires ([`TTL`]), renewed every
//! [`RENEW_EVERY`] and deleted at shutdown. A process starting while another one's heartbeat is
//! live waits for it to go (a rolling update's old server stopping, a killed server's key
//! expiring), then refuses to start with an error naming the holder. Heartbeats are ordered by a
//! ticket from the kv store's atomic counter: when two start at the same moment, the later
//! ticket withdraws, so exactly one serves.

use std::time::Duration;

use std::sync::Arc;

use lls_api_common::store::KvStore;
use lls_api_common::{Error, ErrorKind, Result, Tasks, unix_now};

use crate::record::RANGE_END;

const TICKET_KEY: &str = "faiss:v2:owner-ticket";
const HEARTBEAT_PREFIX: &str = "faiss:v2:owner:";
/// How long a heartbeat outlives its last renewal.
pub(crate) const TTL: Duration = Duration::from_secs(10);
const RENEW_EVERY: Duration = Duration::from_secs(3);
const POLL_EVERY: Duration = Duration::from_millis(500);

fn heartbeat_key(ticket: i64) -> String {
    format!("{HEARTBEAT_PREFIX}{ticket:020}")
}

/// Who holds a heartbeat, for the error a refused server prints.
fn holder() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "unknown host".into());
    format!("pid {} on {host}", std::process::id())
}

async fn beat(kv: &dyn KvStore, key: &str) -> Result<()> {
    kv.set(key, &holder(), Some(unix_now() + TTL.as_secs() as i64)).await
}

/// Live heartbeats other than `own`: their tickets and holders.
async fn others(kv: &dyn KvStore, own: &str) -> Result<Vec<(i64, String)>> {
    let keys = kv.keys_in_range(HEARTBEAT_PREFIX, &format!("{HEARTBEAT_PREFIX}{RANGE_END}")).await?;
    let mut found = Vec::new();
    for key in keys.into_iter().filter(|k| k != own) {
        let Some(ticket) = key.strip_prefix(HEARTBEAT_PREFIX).and_then(|t| t.parse().ok()) else {
            continue;
        };
        if let Some(who) = kv.get(&key).await? {
            found.push((ticket, who));
        }
    }
    Ok(found)
}

/// Makes this process the one serving `kv`'s namespace, waiting up to `wait` for another
/// server to leave it; then keeps the heartbeat alive until `tasks` stop.
pub(crate) async fn claim(kv: Arc<dyn KvStore>, tasks: &Tasks, wait: Duration, namespace: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + wait;
    let refused = |others: &[(i64, String)]| {
        let holders: Vec<&str> = others.iter().map(|(_, who)| who.as_str()).collect();
        Error::new(
            ErrorKind::Conflict,
            format!(
                "inline::faiss: another server ({}) serves the vector stores in kv namespace '{namespace}'; \
                 faiss indexes live in one process, so several replicas cannot share them. Run one replica, \
                 give each its own persistence namespace, or use a shared vector database (remote::pgvector, \
                 remote::milvus)",
                holders.join(", ")
            ),
        )
    };
    loop {
        // Wait for the namespace to be free before taking a ticket.
        loop {
            let others = others(&*kv, "").await?;
            if others.is_empty() {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(refused(&others));
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
        let ticket = kv.incr(TICKET_KEY, 1, None).await?;
        let key = heartbeat_key(ticket);
        beat(&*kv, &key).await?;
        loop {
            let others = others(&*kv, &key).await?;
            if others.is_empty() {
                keep_alive(kv, tasks, key);
                return Ok(());
            }
            if others.iter().any(|(t, _)| *t < ticket) {
                // A server with an earlier ticket: it serves, this one steps back.
                kv.delete(&key).await?;
                break;
            }
            // Only later tickets: servers starting with this one, which step back for it.
            if tokio::time::Instant::now() >= deadline {
                kv.delete(&key).await?;
                return Err(refused(&others));
            }
            tokio::time::sleep(POLL_EVERY).await;
            beat(&*kv, &key).await?;
        }
    }
}

fn keep_alive(kv: Arc<dyn KvStore>, tasks: &Tasks, key: String) {
    let stop = tasks.stop_token();
    tasks.spawn("inline::faiss heartbeat", async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(RENEW_EVERY) => {
                    if let Err(e) = beat(&*kv, &key).await {
                        tracing::warn!(error = %e, "inline::faiss could not renew its heartbeat");
                    }
                }
            }
        }
        if let Err(e) = kv.delete(&key).await {
            tracing::warn!(error = %e, "inline::faiss could not remove its heartbeat; the next server waits for it to expire");
        }
    });
}

#[cfg(test)]
mod tests {
    use lls_api_common::store::KvStoreRef;

    use super::*;

    async fn kv() -> Arc<dyn KvStore> {
        let reference = KvStoreRef {
            backend: "kv_default".into(),
            namespace: "vector_io::faiss".into(),
        };
        lls_testkit::stores::memory_stores().kv(&reference).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_second_server_waits_then_refuses_and_starts_once_the_first_stops() {
        let kv = kv().await;
        let first = Tasks::new();
        claim(kv.clone(), &first, Duration::from_secs(1), "ns").await.unwrap();
        let second = Tasks::new();
        let refused = claim(kv.clone(), &second, Duration::from_secs(1), "ns").await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Conflict);
        assert!(refused.to_string().contains(&format!("pid {}", std::process::id())), "{refused}");
        assert!(refused.to_string().contains("'ns'"), "{refused}");
        // The refused server left no heartbeat; the first one's goes with its shutdown.
        first.shutdown(Duration::from_secs(5)).await;
        let third = Tasks::new();
        claim(kv.clone(), &third, Duration::from_secs(1), "ns").await.unwrap();
        third.shutdown(Duration::from_secs(5)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_servers_starting_together_exactly_one_serves() {
        let kv = kv().await;
        let tasks: Vec<Tasks> = (0..3).map(|_| Tasks::new()).collect();
        let outcomes = futures::future::join_all(
            // A wait long enough for the first ticket to see the others step back, even on a
            // loaded machine; the others refuse when it ends.
            tasks.iter().map(|t| claim(kv.clone(), t, Duration::from_secs(5), "ns")),
        )
        .await;
        let served = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(served, 1, "{outcomes:?}");
        for t in &tasks {
            t.shutdown(Duration::from_secs(5)).await;
        }
    }
}
