//! Several server processes on one store (replicas on one PostgreSQL) share background work
//! through it. Each process joins with a [`Presence`]: a heartbeat key in the store that
//! expires ([`HEARTBEAT_TTL`]), renewed while the process runs and deleted when it stops. Work
//! records name the replica doing them; a replica whose heartbeat is gone (killed, or stopped
//! with work left) has its work taken over by another, and [`Presence::claim`] makes exactly one
//! replica win each takeover (a claim through the store's atomic counter).

use std::sync::Arc;
use std::time::Duration;

use crate::store::KvStore;
use crate::{Result, Tasks, unix_now};

/// How long a heartbeat outlives its last renewal: a killed replica's work waits this long.
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(10);
/// How often a live replica renews its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(3);
/// How long a takeover claim is remembered.
const CLAIM_TTL_SECONDS: i64 = 24 * 60 * 60;

/// This process among the replicas sharing a kv namespace.
pub struct Presence {
    kv: Arc<dyn KvStore>,
    prefix: String,
    id: String,
}

impl Presence {
    /// Joins the replicas whose heartbeats live under `prefix` in `kv`, renewing this one's
    /// until `tasks` stop (then it is removed, so others take over at once what is left).
    pub async fn join(kv: Arc<dyn KvStore>, tasks: &Tasks, prefix: &str) -> Result<Arc<Presence>> {
        let presence = Arc::new(Presence::new(kv, prefix));
        presence.beat().await?;
        let (me, stop) = (presence.clone(), tasks.stop_token());
        tasks.spawn("replica heartbeat", async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(HEARTBEAT_EVERY) => {
                        if let Err(e) = me.beat().await {
                            tracing::warn!(error = %e, "could not renew this replica's heartbeat");
                        }
                    }
                }
            }
            if let Err(e) = me.kv.delete(&me.heartbeat_key(&me.id)).await {
                tracing::warn!(error = %e, "could not remove this replica's heartbeat; others take over its work once it expires");
            }
        });
        Ok(presence)
    }

    /// A presence that has not announced itself (for tests: its work looks abandoned).
    pub fn new(kv: Arc<dyn KvStore>, prefix: &str) -> Presence {
        Presence { kv, prefix: prefix.to_owned(), id: uuid::Uuid::new_v4().to_string() }
    }

    /// This replica's id, to record on the work it does.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn heartbeat_key(&self, replica: &str) -> String {
        format!("{}heartbeat:{replica}", self.prefix)
    }

    async fn beat(&self) -> Result<()> {
        let expires = unix_now() + HEARTBEAT_TTL.as_secs() as i64;
        self.kv.set(&self.heartbeat_key(&self.id), &holder(), Some(expires)).await
    }

    /// Whether `replica` is running (this one always is).
    pub async fn is_live(&self, replica: &str) -> Result<bool> {
        if replica == self.id {
            return Ok(true);
        }
        if replica.is_empty() {
            return Ok(false);
        }
        Ok(self.kv.get(&self.heartbeat_key(replica)).await?.is_some())
    }

    /// Claims `work` abandoned by replica `from`: of all replicas asking, exactly one gets
    /// `true`.
    pub async fn claim(&self, work: &str, from: &str) -> Result<bool> {
        let key = format!("{}claim:{work}:{from}", self.prefix);
        Ok(self.kv.incr(&key, 1, Some(unix_now() + CLAIM_TTL_SECONDS)).await? == 1)
    }
}

/// Who a heartbeat belongs to, for people reading the store.
fn holder() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "unknown host".into());
    format!("pid {} on {host}", std::process::id())
}
