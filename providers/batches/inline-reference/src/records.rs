//! What the provider keeps in its kv namespace, and how it is read and written.
//!
//! - `batch:{id}`: the batch ([`StoredBatch`]: OpenAI's object as 0.3.5 stores it, plus the
//!   owner, the replica running it and what create found out about the input file). Only the
//!   replica running a batch writes it after it is created, so its writes never race.
//! - `cancel:{id}`: a cancel request (its time). Cancelling writes this key rather than the
//!   batch, and every read shows a batch with one as `cancelling`, so a cancel is never lost
//!   to the runner's concurrent write; the runner stops, then records `cancelled`.
//! - `results:{id}:{page}`: finished requests, a page per flush ([`ResultPage`]): what a
//!   restart or a takeover skips, and what the output and error files are made from.
//! - `create:{id}`: a counter making one of concurrent creates with the same idempotency key
//!   the one that writes the batch.
//! - `replicas:…`: heartbeats and takeover claims (`lls_api_common::replicas`).

use std::collections::BTreeSet;
use std::sync::Arc;

use lls_api_batches::{BatchObject, BatchStatus};
use lls_api_common::access::Owner;
use lls_api_common::store::KvStore;
use lls_api_common::{Result, unix_now};
use serde::{Deserialize, Serialize};

/// Past every key under a prefix in key order.
const RANGE_END: char = '\u{10FFFF}';
pub const BATCH: &str = "batch:";
pub const CANCEL: &str = "cancel:";
pub const RESULTS: &str = "results:";
pub const CREATE: &str = "create:";
pub const REPLICAS: &str = "replicas:";

/// A batch as stored: the object clients see and what only the provider reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredBatch {
    #[serde(flatten)]
    pub object: BatchObject,
    /// The creator (authentication on); others do not see the batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// The replica running it ("" when none has yet).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub worker: String,
    /// The creator could not read the input file when creating the batch (or it was not
    /// there): the batch fails validation as for a missing file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub input_unreadable: bool,
}

/// One finished request: its input line, whether it succeeded, and its output line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    pub line: u64,
    pub ok: bool,
    /// The JSONL line of the output file (success) or the error file (failure).
    pub text: String,
    /// Tokens used, for the batch's `usage`.
    #[serde(default, skip_serializing_if = "Tokens::is_empty")]
    pub tokens: Tokens,
}

/// Token counts of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    #[serde(default)]
    pub cached: u64,
    #[serde(default)]
    pub reasoning: u64,
}

impl Tokens {
    fn is_empty(&self) -> bool {
        *self == Tokens::default()
    }
}

/// A page of finished requests, written in one kv write.
pub type ResultPage = Vec<Finished>;

/// The provider's kv namespace.
#[derive(Clone)]
pub struct Records {
    kv: Arc<dyn KvStore>,
}

impl Records {
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Records { kv }
    }

    /// The batch, with a pending cancel shown (see the module doc). The cancel key is read
    /// before the batch, as [`Records::all_batches`] does: the runner records the end before
    /// it deletes the key, so a key found missing means the batch read after it is either not
    /// cancelled yet or already ended. Read the other way round, a cancel the runner finished
    /// between the two reads showed as the batch still `in_progress`.
    pub async fn batch(&self, id: &str) -> Result<Option<StoredBatch>> {
        let cancel = self.kv.get(&format!("{CANCEL}{id}")).await?;
        let Some(mut batch) = self.raw_batch(id).await? else {
            return Ok(None);
        };
        if !batch.object.status.is_terminal()
            && let Some(at) = cancel
        {
            show_cancel(&mut batch, at.parse().unwrap_or_else(|_| unix_now()));
        }
        Ok(Some(batch))
    }

    /// The batch as stored, without a pending cancel applied.
    pub async fn raw_batch(&self, id: &str) -> Result<Option<StoredBatch>> {
        match self.kv.get(&format!("{BATCH}{id}")).await? {
            Some(raw) => Ok(Some(serde_json::from_str(&raw)?)),
            None => Ok(None),
        }
    }

    /// Every batch (unreadable records skipped with a warning), pending cancels shown.
    pub async fn all_batches(&self) -> Result<Vec<StoredBatch>> {
        let cancels: BTreeSet<String> = self
            .kv
            .keys_in_range(CANCEL, &format!("{CANCEL}{RANGE_END}"))
            .await?
            .into_iter()
            .filter_map(|k| k.strip_prefix(CANCEL).map(str::to_owned))
            .collect();
        let mut batches = Vec::new();
        for raw in self
            .kv
            .values_in_range(BATCH, &format!("{BATCH}{RANGE_END}"))
            .await?
        {
            match serde_json::from_str::<StoredBatch>(&raw) {
                Ok(mut b) => {
                    if !b.object.status.is_terminal() && cancels.contains(&b.object.id) {
                        // The time is read only for the batches it changes.
                        let at = self
                            .cancel_requested(&b.object.id)
                            .await?
                            .unwrap_or_else(unix_now);
                        show_cancel(&mut b, at);
                    }
                    batches.push(b);
                }
                Err(e) => tracing::warn!("skipping an unreadable batch record: {e}"),
            }
        }
        Ok(batches)
    }

    pub async fn put_batch(&self, batch: &StoredBatch) -> Result<()> {
        self.kv
            .set(
                &format!("{BATCH}{}", batch.object.id),
                &serde_json::to_string(batch)?,
                None,
            )
            .await
    }

    /// When a cancel was asked for, if it was.
    pub async fn cancel_requested(&self, id: &str) -> Result<Option<i64>> {
        Ok(self
            .kv
            .get(&format!("{CANCEL}{id}"))
            .await?
            .map(|at| at.parse().unwrap_or_else(|_| unix_now())))
    }

    pub async fn request_cancel(&self, id: &str, at: i64) -> Result<()> {
        self.kv
            .set(&format!("{CANCEL}{id}"), &at.to_string(), None)
            .await
    }

    /// The batch ended: its cancel request has done its work.
    pub async fn clear_cancel(&self, id: &str) -> Result<()> {
        self.kv.delete(&format!("{CANCEL}{id}")).await
    }

    /// Every finished request of a batch, and the number the next page gets.
    pub async fn results(&self, id: &str) -> Result<(Vec<Finished>, u64)> {
        let prefix = format!("{RESULTS}{id}:");
        let pages = self
            .kv
            .values_in_range(&prefix, &format!("{prefix}{RANGE_END}"))
            .await?;
        let next = pages.len() as u64;
        let mut all = Vec::new();
        for raw in pages {
            all.extend(serde_json::from_str::<ResultPage>(&raw)?);
        }
        Ok((all, next))
    }

    pub async fn put_results(&self, id: &str, page: u64, results: &[Finished]) -> Result<()> {
        self.kv
            .set(
                &format!("{RESULTS}{id}:{page:08}"),
                &serde_json::to_string(results)?,
                None,
            )
            .await
    }

    /// Drops a finished batch's result pages (its files hold them now).
    pub async fn drop_results(&self, id: &str) -> Result<()> {
        let prefix = format!("{RESULTS}{id}:");
        for key in self
            .kv
            .keys_in_range(&prefix, &format!("{prefix}{RANGE_END}"))
            .await?
        {
            self.kv.delete(&key).await?;
        }
        Ok(())
    }

    /// Of all creators of batch `id`, exactly one gets `true` (idempotency keys).
    pub async fn claim_creation(&self, id: &str) -> Result<bool> {
        Ok(self.kv.incr(&format!("{CREATE}{id}"), 1, None).await? == 1)
    }
}

/// A batch with a pending cancel, as clients see it.
fn show_cancel(batch: &mut StoredBatch, at: i64) {
    batch.object.status = BatchStatus::Cancelling;
    batch.object.cancelling_at.get_or_insert(at);
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use lls_api_common::store::KvStore;
    use std::sync::Mutex;
    use serde_json::json;

    use super::*;

    /// A kv store where the runner ends a cancelled batch (records it `cancelled`, then drops
    /// the cancel key, as `run::end` does) just after the first read of the batch's record.
    struct RunnerEndsAfterRead {
        kv: Arc<dyn KvStore>,
        ended: Mutex<Option<String>>,
    }

    #[async_trait]
    impl KvStore for RunnerEndsAfterRead {
        async fn get(&self, key: &str) -> Result<Option<String>> {
            let value = self.kv.get(key).await?;
            let end = key.starts_with(BATCH).then(|| self.ended.lock().unwrap().take()).flatten();
            if let Some(cancelled) = end {
                self.kv.set(key, &cancelled, None).await?;
                self.kv.delete(&format!("{CANCEL}{}", &key[BATCH.len()..])).await?;
            }
            Ok(value)
        }
        async fn set(&self, key: &str, value: &str, expires_at: Option<i64>) -> Result<()> {
            self.kv.set(key, value, expires_at).await
        }
        async fn delete(&self, key: &str) -> Result<()> {
            self.kv.delete(key).await
        }
        async fn incr(&self, key: &str, by: i64, expires_at: Option<i64>) -> Result<i64> {
            self.kv.incr(key, by, expires_at).await
        }
        async fn values_in_range(&self, start: &str, end: &str) -> Result<Vec<String>> {
            self.kv.values_in_range(start, end).await
        }
        async fn keys_in_range(&self, start: &str, end: &str) -> Result<Vec<String>> {
            self.kv.keys_in_range(start, end).await
        }
    }

    fn stored(status: &str) -> String {
        json!({"id": "b1", "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": "f1",
               "completion_window": "24h", "status": status, "created_at": 1})
        .to_string()
    }

    #[tokio::test]
    async fn a_cancel_the_runner_finishes_during_a_read_never_shows_in_progress() {
        let stores = lls_testkit::stores::memory_stores();
        let kv = stores.kv(&crate::ReferenceBatchesConfig::new("kv_default", "batches").kvstore).await.unwrap();
        kv.set(&format!("{BATCH}b1"), &stored("in_progress"), None).await.unwrap();
        let records = Records::new(Arc::new(RunnerEndsAfterRead { kv, ended: Mutex::new(Some(stored("cancelled"))) }));
        records.request_cancel("b1", 7).await.unwrap();
        let seen = records.batch("b1").await.unwrap().unwrap().object;
        assert_eq!((seen.status, seen.cancelling_at), (BatchStatus::Cancelling, Some(7)));
        // Read again: the end the runner recorded.
        assert_eq!(records.batch("b1").await.unwrap().unwrap().object.status, BatchStatus::Cancelled);
    }
}
