//! The one way the stack opens a SQLite database: WAL, busy timeout, parent directories, `~`,
//! `:memory:`, and a hook run on every new connection (e.g. to register an extension).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};

/// The path that names a private in-memory database (one connection, gone on close).
pub const IN_MEMORY: &str = ":memory:";

/// How long a connection waits for another writer's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// WAL lets readers run beside the one writer; a few connections are plenty.
const MAX_CONNECTIONS: u32 = 4;

/// Setup run on every connection the pool opens, before the pool hands it out.
pub type AfterConnect = Arc<
    dyn for<'c> Fn(&'c mut SqliteConnection) -> BoxFuture<'c, Result<(), sqlx::Error>>
        + Send
        + Sync,
>;

/// Opens SQLite pools: [`SqliteOpener::new`] has the stack's defaults (4 connections, 5 s busy
/// timeout); the builder methods change them.
#[derive(Clone)]
pub struct SqliteOpener {
    max_connections: u32,
    busy_timeout: Duration,
    after_connect: Option<AfterConnect>,
}

impl fmt::Debug for SqliteOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteOpener")
            .field("max_connections", &self.max_connections)
            .field("busy_timeout", &self.busy_timeout)
            .field("after_connect", &self.after_connect.is_some())
            .finish()
    }
}

impl Default for SqliteOpener {
    fn default() -> Self {
        Self::new()
    }
}

impl SqliteOpener {
    pub fn new() -> Self {
        SqliteOpener {
            max_connections: MAX_CONNECTIONS,
            busy_timeout: BUSY_TIMEOUT,
            after_connect: None,
        }
    }

    /// The most connections a file database gets (an in-memory one always has exactly one).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long a statement waits for another connection's lock before failing with BUSY.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Runs `setup` on every new connection; an error fails that connection (and so the open).
    pub fn after_connect<F>(mut self, setup: F) -> Self
    where
        F: for<'c> Fn(&'c mut SqliteConnection) -> BoxFuture<'c, Result<(), sqlx::Error>>
            + Send
            + Sync
            + 'static,
    {
        self.after_connect = Some(Arc::new(setup));
        self
    }

    /// Opens (creating if needed, with its parent directories) the database at `path`, or a
    /// private one for [`IN_MEMORY`]. Connects eagerly, so a bad path fails here.
    pub async fn open(&self, path: &Path) -> Result<SqlitePool, sqlx::Error> {
        if path == Path::new(IN_MEMORY) {
            // Every connection to ":memory:" is a separate database, so keep exactly one, forever.
            let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
            self.probe(&options).await?;
            return self.hooked(pool).connect_with(options).await;
        }
        let path = expand_home(path);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await?;
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(self.busy_timeout);
        self.probe(&options).await?;
        let pool = SqlitePoolOptions::new().max_connections(self.max_connections);
        self.hooked(pool).connect_with(options).await
    }

    /// Runs the hook once on a plain connection first: the pool retries a connection whose
    /// hook fails until its acquire timeout and then reports only `PoolTimedOut`, while a hook
    /// that cannot work (a missing extension) should fail the open at once, with its own error.
    async fn probe(&self, options: &SqliteConnectOptions) -> Result<(), sqlx::Error> {
        let Some(setup) = &self.after_connect else {
            return Ok(());
        };
        let mut probe = options.connect().await?;
        let result = setup(&mut probe).await;
        probe.close().await?;
        result
    }

    fn hooked(&self, pool: SqlitePoolOptions) -> SqlitePoolOptions {
        match self.after_connect.clone() {
            Some(setup) => pool.after_connect(move |conn: &mut SqliteConnection, _| setup(conn)),
            None => pool,
        }
    }
}

/// `~` and `~/...` relative to `$HOME`, as run.yaml paths are written (`~user` is left alone).
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use sqlx::Row;

    use super::*;

    #[test]
    fn home_is_expanded() {
        let home = PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
        assert_eq!(
            expand_home(Path::new("~/.llama/x.db")),
            home.join(".llama/x.db")
        );
        assert_eq!(expand_home(Path::new("~")), home);
        assert_eq!(expand_home(Path::new("/tmp/~x")), PathBuf::from("/tmp/~x"));
        assert_eq!(expand_home(Path::new("~user/x")), PathBuf::from("~user/x"));
    }

    #[tokio::test]
    async fn a_file_database_is_created_with_its_directories_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.db");
        let pool = SqliteOpener::new().open(&path).await.unwrap();
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(mode, "wal");
        let busy: i64 = sqlx::query("PRAGMA busy_timeout")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(busy, 5000);
        assert!(path.exists());
        pool.close().await;
    }

    #[tokio::test]
    async fn memory_is_one_connection_that_keeps_its_data() {
        let pool = SqliteOpener::new()
            .open(Path::new(IN_MEMORY))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&pool)
            .await
            .unwrap();
        let n: i64 = sqlx::query("SELECT count(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
        assert_eq!(pool.options().get_max_connections(), 1);
    }

    #[tokio::test]
    async fn the_hook_runs_on_every_connection_and_its_failure_fails_the_open() {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let dir = tempfile::tempdir().unwrap();
        let opener = SqliteOpener::new()
            .max_connections(2)
            .after_connect(|conn| {
                Box::pin(async move {
                    CALLS.fetch_add(1, Ordering::SeqCst);
                    sqlx::query("PRAGMA foreign_keys = ON")
                        .execute(conn)
                        .await
                        .map(|_| ())
                })
            });
        let pool = opener.open(&dir.path().join("h.db")).await.unwrap();
        let (a, b) = (pool.acquire().await.unwrap(), pool.acquire().await.unwrap());
        // the probe, then each of the two pooled connections
        assert_eq!(CALLS.load(Ordering::SeqCst), 3);
        drop((a, b));

        let failing = SqliteOpener::new().after_connect(|conn| {
            Box::pin(async move {
                sqlx::query("SELECT no_such_function()")
                    .execute(conn)
                    .await
                    .map(|_| ())
            })
        });
        let started = std::time::Instant::now();
        let err = failing.open(Path::new(IN_MEMORY)).await.unwrap_err();
        assert!(err.to_string().contains("no_such_function"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a failing hook fails the open at once"
        );
    }
}
