//! [`Tasks`]: the one supervisor of background work. Every long-lived task (sweepers,
//! ingestion, batch workers, model refresh) is spawned through it, so shutdown can signal
//! them, wait for them up to a grace period, and then run the registered flush hooks.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tokio_util::task::TaskTracker;

type Hook = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

/// Cheap to clone; every clone supervises the same tasks.
#[derive(Clone, Default)]
pub struct Tasks {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    tracker: TaskTracker,
    stop: CancellationToken,
    hooks: Mutex<Vec<(&'static str, Hook)>>,
}

impl std::fmt::Debug for Tasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tasks")
            .field("running", &self.inner.tracker.len())
            .finish()
    }
}

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `task` in the background. A panic is caught and logged with `name`; the task
    /// should return soon after [`Tasks::stopping`] resolves, at a point where a restart can
    /// resume its work.
    pub fn spawn<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let supervised = std::panic::AssertUnwindSafe(task)
            .catch_unwind()
            .map(move |outcome| {
                if outcome.is_err() {
                    tracing::error!(task = name, "background task panicked");
                }
            });
        self.inner.tracker.spawn(supervised);
    }

    /// Resolves when shutdown begins.
    pub fn stopping(&self) -> WaitForCancellationFuture<'_> {
        self.inner.stop.cancelled()
    }

    /// An owned token that is cancelled when shutdown begins (for tasks that outlive `&self`).
    pub fn stop_token(&self) -> CancellationToken {
        self.inner.stop.clone()
    }

    pub fn is_stopping(&self) -> bool {
        self.inner.stop.is_cancelled()
    }

    /// Registers work to run once background tasks have stopped (flushing queued writes).
    pub fn on_shutdown<F, Fut>(&self, name: &'static str, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.inner
            .hooks
            .lock()
            .push((name, Box::new(move || hook().boxed())));
    }

    /// How many background tasks are running.
    pub fn running(&self) -> usize {
        self.inner.tracker.len()
    }

    /// Signals every task to stop, waits up to `grace` for them, then runs the shutdown
    /// hooks in registration order. Idempotent: hooks run once.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.stop.cancel();
        self.inner.tracker.close();
        if tokio::time::timeout(grace, self.inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                still_running = self.inner.tracker.len(),
                "background tasks did not stop within the grace period"
            );
        }
        let hooks = std::mem::take(&mut *self.inner.hooks.lock());
        for (name, hook) in hooks {
            tracing::debug!(hook = name, "running shutdown hook");
            hook().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn shutdown_stops_tasks_then_runs_hooks_once() {
        let tasks = Tasks::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        let o = order.clone();
        let t = tasks.clone();
        tasks.spawn("worker", async move {
            t.stopping().await;
            o.lock().push("worker stopped");
        });
        let o = order.clone();
        tasks.on_shutdown("flush", move || async move { o.lock().push("flushed") });
        tasks.shutdown(Duration::from_secs(5)).await;
        tasks.shutdown(Duration::from_secs(5)).await;
        assert_eq!(*order.lock(), vec!["worker stopped", "flushed"]);
        assert_eq!(tasks.running(), 0);
    }

    #[tokio::test]
    async fn a_panicking_task_is_contained() {
        let tasks = Tasks::new();
        let ran = Arc::new(AtomicUsize::new(0));
        tasks.spawn("boom", async { panic!("boom") });
        let r = ran.clone();
        tasks.spawn("fine", async move {
            r.fetch_add(1, Ordering::SeqCst);
        });
        tasks.shutdown(Duration::from_secs(5)).await;
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn grace_period_bounds_the_wait() {
        let tasks = Tasks::new();
        tasks.spawn("stubborn", std::future::pending());
        let started = std::time::Instant::now();
        tasks.shutdown(Duration::from_millis(50)).await;
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
