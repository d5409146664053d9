//! A store's HNSW index: what it is over, which rows it covers, and how it is kept.
//!
//! pgvector builds an index from existing rows several times faster than it inserts rows into
//! one, and a graph built in one pass is faster to walk. So rows written in bulk are not put
//! into the index one by one: each row carries a generation (`gen`), and an index covers the
//! rows up to the generation it was built for (a partial index, `WHERE gen <= g`, named
//! `…_g{g}`). Bulk writes take the store's pending generation, above every index's, so
//! PostgreSQL skips the index for them; searches walk the index for the rows it covers and scan
//! the pending rows exactly (a b-tree on `gen` finds them), so every row is found at once.
//! When the store goes quiet (no bulk write for [`QUIET`]), or its pending rows outgrow what an
//! exact scan should take, the pending rows are taken in: folded into the index row by row
//! when they are few beside it, else by a new index built in one pass (`CREATE INDEX
//! CONCURRENTLY`: writes and searches go on), after which the old one is dropped. Small writes
//! to an indexed store (up to [`DIRECT_ROWS`] chunks a call, as most files' chunks are) go into
//! the index directly.
//!
//! A store's first index comes once it holds `hnsw_min_chunks` chunks, the same way. With
//! `hnsw_min_chunks: 0`, and for stores indexed before generations, the index covers every
//! row and takes every write as it comes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lls_api_common::Tasks;
use parking_lot::Mutex;
use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::PROVIDER_TYPE;
use crate::config::DistanceMetric;

/// pgvector's HNSW index takes `halfvec` values of at most this many dimensions; larger stores
/// are searched exactly.
pub const HNSW_MAX_DIMENSION: usize = 4_000;
/// The same limit for a full-precision (`vector`) index, where `halfvec` is missing.
pub(crate) const HNSW_MAX_DIMENSION_FULL: usize = 2_000;
/// The first key of a store's index-build advisory lock (the second is its table's OID);
/// "llsp" in ASCII. The two-key space does not overlap the schema lock's.
const BUILD_LOCK: i32 = 0x6c6c_7370;
/// `maintenance_work_mem` bounds for an index build: pgvector builds in memory while the graph
/// fits, far faster than on disk.
const BUILD_MEMORY_MIN_MIB: u64 = 64;
const BUILD_MEMORY_MAX_MIB: u64 = 1024;
/// A write of at most this many rows to an indexed store goes into its index at once.
pub(crate) const DIRECT_ROWS: usize = 256;
/// A store with pending rows is due their index once no bulk write has come for this long.
pub(crate) const QUIET: Duration = Duration::from_secs(2);
/// Pending rows are due their index without waiting for quiet once there are this many times
/// `hnsw_min_chunks` of them, or as many as the index covers (whichever is more): the bound on
/// the exact scan while a store is loaded without pause, and a doubling that keeps the builds'
/// total work within twice the last one's.
const FORCE_FACTOR: u64 = 10;
/// Pending rows at most this fraction of the indexed ones are folded into the index row by
/// row instead of a rebuild.
const FOLD_DIVISOR: u64 = 8;

/// What a store's HNSW index is over (each has a name of its own, so the catalog tells them
/// apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexKind {
    /// The vectors in half precision (`{table}_hnsw_half…`).
    Half,
    /// The `vector` column itself (`{table}_hnsw…`): where pgvector lacks `halfvec`, a store
    /// holding values `halfvec` cannot, and stores indexed before the half-precision index.
    Full,
}

impl IndexKind {
    fn suffix(self) -> &'static str {
        match self {
            IndexKind::Half => "_hnsw_half",
            IndexKind::Full => "_hnsw",
        }
    }
}

/// Which rows an index covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coverage {
    /// Every row: written as they come (`hnsw_min_chunks: 0`, or a store indexed before
    /// generations).
    All,
    /// Rows of generation `g` or lower.
    UpTo(i32),
}

/// A store's HNSW index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Index {
    pub kind: IndexKind,
    pub coverage: Coverage,
}

impl Index {
    pub fn name(&self, table: &str) -> String {
        match self.coverage {
            Coverage::All => format!("{table}{}", self.kind.suffix()),
            Coverage::UpTo(g) => format!("{table}{}_g{g}", self.kind.suffix()),
        }
    }

    /// The index `name` is, if it is one of `table`'s.
    fn parse(table: &str, name: &str) -> Option<Index> {
        let rest = name.strip_prefix(table)?;
        let (kind, rest) = match rest.strip_prefix(IndexKind::Half.suffix()) {
            Some(rest) => (IndexKind::Half, rest),
            None => (IndexKind::Full, rest.strip_prefix(IndexKind::Full.suffix())?),
        };
        let coverage = match rest {
            "" => Coverage::All,
            _ => Coverage::UpTo(rest.strip_prefix("_g")?.parse().ok()?),
        };
        Some(Index { kind, coverage })
    }

    /// The index searches use among a table's valid ones (by name): one over every row, else
    /// the latest generation's (an older one lives only until its successor's build drops it).
    pub fn current(table: &str, names: &[String]) -> Option<Index> {
        names.iter().filter_map(|n| Index::parse(table, n)).max_by_key(|i| match i.coverage {
            Coverage::All => (true, 0),
            Coverage::UpTo(g) => (false, g),
        })
    }

    /// Whether rows of generation `generation` are in this index.
    pub fn covers(&self, generation: i32) -> bool {
        match self.coverage {
            Coverage::All => true,
            Coverage::UpTo(g) => generation <= g,
        }
    }

    /// The generation a write of `rows` rows takes when the store's pending generation is
    /// `pending`: the index's own for a small write to a generation index (it goes in at once).
    pub fn generation_for(index: Option<Index>, rows: usize, pending: i32) -> i32 {
        match index {
            Some(Index { coverage: Coverage::UpTo(g), .. }) if rows <= DIRECT_ROWS => g,
            Some(Index { coverage: Coverage::All, .. }) => 0,
            _ => pending,
        }
    }
}

/// The catalog query for a table's valid HNSW index names (`$table_expr` is SQL for its name).
pub(crate) fn index_names_sql(table_expr: &str) -> String {
    format!(
        "(SELECT coalesce(array_agg(c.relname::text), '{{}}') FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE i.indrelid = to_regclass({table_expr}) AND i.indisvalid AND starts_with(c.relname::text, {table_expr} || '_hnsw'))"
    )
}

/// The distance operator of a metric (`vector` and `halfvec` alike).
pub(crate) fn operator(metric: DistanceMetric) -> &'static str {
    match metric {
        DistanceMetric::Cosine => "<=>",
        DistanceMetric::L2 => "<->",
        DistanceMetric::InnerProduct => "<#>",
    }
}

/// The expression an index of `kind` is over, for a store of `dim` dimensions: the column, or
/// its half-precision copy (of unit length for cosine, whose ranking that leaves unchanged and
/// whose values it keeps within `halfvec`'s range). `vector` is a column or a parameter.
pub(crate) fn indexed(kind: IndexKind, metric: DistanceMetric, dim: usize, vector: &str) -> String {
    match (kind, metric) {
        (IndexKind::Full, _) => vector.to_owned(),
        (IndexKind::Half, DistanceMetric::Cosine) => format!("(l2_normalize({vector})::halfvec({dim}))"),
        (IndexKind::Half, _) => format!("({vector}::halfvec({dim}))"),
    }
}

/// The HNSW operator class of an index of `kind`.
fn operator_class(kind: IndexKind, metric: DistanceMetric) -> &'static str {
    match (kind, metric) {
        (IndexKind::Full, DistanceMetric::Cosine) => "vector_cosine_ops",
        (IndexKind::Full, DistanceMetric::L2) => "vector_l2_ops",
        (IndexKind::Full, DistanceMetric::InnerProduct) => "vector_ip_ops",
        (IndexKind::Half, DistanceMetric::Cosine) => "halfvec_cosine_ops",
        (IndexKind::Half, DistanceMetric::L2) => "halfvec_l2_ops",
        (IndexKind::Half, DistanceMetric::InnerProduct) => "halfvec_ip_ops",
    }
}

/// The most dimensions an index of `kind` takes.
pub(crate) fn max_indexed_dimension(kind: IndexKind) -> usize {
    match kind {
        IndexKind::Half => HNSW_MAX_DIMENSION,
        IndexKind::Full => HNSW_MAX_DIMENSION_FULL,
    }
}

/// Drops the indexes `names`, each once no query uses it (`CONCURRENTLY`).
async fn drop_indexes(conn: &mut PgConnection, names: &[String]) -> Result<(), sqlx::Error> {
    for name in names {
        sqlx::query(AssertSqlSafe(format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))).execute(&mut *conn).await?;
    }
    Ok(())
}

/// `22003`: a value out of its type's range (a stored vector `halfvec` cannot hold).
fn out_of_range(e: &sqlx::Error) -> bool {
    crate::provider::is_sqlstate(e, "22003")
}

/// How the provider indexes stores (from its config).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HnswParams {
    /// The kind new indexes are: [`IndexKind::Half`] where the extension has `halfvec`.
    pub kind: IndexKind,
    pub metric: DistanceMetric,
    pub m: u32,
    pub ef_construction: u32,
    /// A store gets its first index at this many chunks (0: at creation, over every row).
    pub min_chunks: u64,
}

impl HnswParams {
    /// `CREATE INDEX` for `index` on `table` (`CONCURRENTLY` for a generation's: writes go on).
    pub fn ddl(&self, table: &str, dimension: usize, index: Index) -> String {
        let name = index.name(table);
        let (expr, ops) = (indexed(index.kind, self.metric, dimension, "embedding"), operator_class(index.kind, self.metric));
        let (m, ef) = (self.m, self.ef_construction);
        match index.coverage {
            Coverage::All => format!("CREATE INDEX IF NOT EXISTS {name} ON {table} USING hnsw ({expr} {ops}) WITH (m = {m}, ef_construction = {ef})"),
            Coverage::UpTo(g) => format!(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} USING hnsw ({expr} {ops}) \
                 WITH (m = {m}, ef_construction = {ef}) WHERE gen <= {g}"
            ),
        }
    }

    /// `maintenance_work_mem` for a graph of `rows` rows of `kind` in memory: each vector plus
    /// its neighbour lists, with room to spare.
    fn build_memory_mib(&self, kind: IndexKind, dimension: usize, rows: u64) -> u64 {
        let per_value = match kind {
            IndexKind::Half => 2,
            IndexKind::Full => 4,
        };
        let per_row = per_value * dimension as u64 + 64 * u64::from(self.m) + 128;
        (rows.saturating_mul(per_row) / (1 << 20)).clamp(BUILD_MEMORY_MIN_MIB, BUILD_MEMORY_MAX_MIB)
    }
}

/// A store whose index the keeper looks after.
#[derive(Debug, Clone)]
pub(crate) struct StoreRef {
    pub id: String,
    pub key: i64,
    pub dimension: usize,
}

impl StoreRef {
    fn table(&self) -> String {
        crate::provider::table_name(self.key)
    }
}

/// Pending writes this server made to a store, since its last look at its index.
#[derive(Debug)]
struct Pending {
    rows: u64,
    /// When a write last started or ended.
    last_write: Instant,
    /// Writes under way (a store is not quiet while one is, however long it takes).
    in_flight: u32,
    /// A task waits for the store to go quiet.
    watched: bool,
}

impl Pending {
    fn new() -> Self {
        Pending { rows: 0, last_write: Instant::now(), in_flight: 0, watched: false }
    }

    fn quiet(&self) -> bool {
        self.in_flight == 0 && self.last_write.elapsed() >= QUIET
    }
}

/// A write under way to a store (see [`IndexKeeper::writing`]).
pub(crate) struct Writing {
    pending: Arc<Mutex<HashMap<i64, Pending>>>,
    key: i64,
}

impl Drop for Writing {
    fn drop(&mut self) {
        let mut all = self.pending.lock();
        if let Some(p) = all.get_mut(&self.key) {
            p.in_flight = p.in_flight.saturating_sub(1);
            p.last_write = Instant::now();
            if p.in_flight == 0 && !p.watched {
                all.remove(&self.key);
            }
        }
    }
}

/// What a look at a store's index did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upkeep {
    /// Nothing was due.
    Nothing,
    /// Another server (or task) holds the store's build lock.
    Busy,
    /// Pending rows were written into the index one by one (`indexed`: the rows it covers now).
    Folded { rows: u64, indexed: u64 },
    /// A new index was built over `rows` rows.
    Built { index: Index, rows: u64 },
}

/// Keeps stores' indexes: notes bulk writes, and builds or folds when a store is due.
#[derive(Clone)]
pub(crate) struct IndexKeeper {
    pool: PgPool,
    params: HnswParams,
    registry: &'static str,
    pending: Arc<Mutex<HashMap<i64, Pending>>>,
    /// One build or fold at a time per server: each takes a connection outside the pool and
    /// up to [`BUILD_MEMORY_MAX_MIB`] of PostgreSQL's memory.
    builds: Arc<tokio::sync::Semaphore>,
    tasks: Tasks,
}

impl std::fmt::Debug for IndexKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexKeeper").field("params", &self.params).finish_non_exhaustive()
    }
}

impl IndexKeeper {
    pub fn new(pool: PgPool, params: HnswParams, registry: &'static str, tasks: Tasks) -> Self {
        IndexKeeper { pool, params, registry, pending: Arc::default(), builds: Arc::new(tokio::sync::Semaphore::new(1)), tasks }
    }

    pub fn with_tasks(self, tasks: Tasks) -> Self {
        IndexKeeper { tasks, ..self }
    }

    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// Pending rows due their index without waiting for quiet, below an index of `indexed` rows.
    fn force_at(&self, indexed: u64) -> u64 {
        (FORCE_FACTOR * self.params.min_chunks.max(1)).max(indexed)
    }

    /// Marks a write to the store `key` under way until the value is dropped: the store is not
    /// quiet meanwhile.
    pub fn writing(&self, key: i64) -> Writing {
        let mut all = self.pending.lock();
        let p = all.entry(key).or_insert_with(Pending::new);
        p.in_flight += 1;
        p.last_write = Instant::now();
        Writing { pending: self.pending.clone(), key }
    }

    /// After a write of `rows` pending rows to `store` (whose current index is `index`): looks
    /// at the index at once when the pending rows may be too many for an exact scan, and
    /// otherwise once the store has been quiet for [`QUIET`].
    pub async fn wrote_pending(&self, store: StoreRef, index: Option<Index>, rows: u64) {
        if store.dimension > max_indexed_dimension(index.map_or(self.params.kind, |i| i.kind)) {
            return;
        }
        let floor = self.force_at(0);
        let (written, watch) = {
            let mut all = self.pending.lock();
            let p = all.entry(store.key).or_insert_with(Pending::new);
            p.rows += rows;
            p.last_write = Instant::now();
            let watch = !p.watched;
            p.watched = true;
            (p.rows, watch)
        };
        // The watch first: this call may be dropped at the await below.
        if watch {
            self.watch(store.clone());
        }
        if written >= floor {
            let indexed = match index {
                Some(i) => self.indexed_rows(&store, i).await.unwrap_or(0),
                None => 0,
            };
            if written >= self.force_at(indexed) {
                self.forget_written(store.key);
                let keeper = self.clone();
                let store = store.clone();
                self.tasks.spawn("pgvector HNSW index upkeep", async move {
                    keeper.upkeep_logged(&store, false).await;
                });
            }
        }
    }

    /// Waits in the background for `store` to go quiet, then looks at its index.
    fn watch(&self, store: StoreRef) {
        let keeper = self.clone();
        self.tasks.spawn("pgvector HNSW quiet watch", async move {
            let stop = keeper.tasks.stop_token();
            loop {
                tokio::select! {
                    () = tokio::time::sleep(QUIET) => {}
                    () = stop.cancelled() => return,
                }
                let quiet = {
                    let mut all = keeper.pending.lock();
                    match all.get(&store.key) {
                        Some(p) if !p.quiet() => false,
                        _ => {
                            all.remove(&store.key);
                            true
                        }
                    }
                };
                if quiet {
                    break;
                }
            }
            keeper.upkeep_until_done(&store).await;
        });
    }

    /// Looks at `store`'s index as a quiet store's, again while another server holds its lock
    /// (a build under way elsewhere may have started before the last writes).
    async fn upkeep_until_done(&self, store: &StoreRef) {
        let stop = self.tasks.stop_token();
        while self.upkeep_logged(store, true).await == Some(Upkeep::Busy) {
            tokio::select! {
                () = tokio::time::sleep(QUIET) => {}
                () = stop.cancelled() => return,
            }
        }
    }

    /// After a start: looks at every store's index once, for pending rows a server stopped
    /// before taking in (its quiet watch lives in its memory only).
    pub fn resume(&self) {
        let keeper = self.clone();
        self.tasks.spawn("pgvector HNSW upkeep after start", async move {
            let stop = keeper.tasks.stop_token();
            let stores: Vec<(String, i64, i32)> =
                match sqlx::query_as(AssertSqlSafe(format!("SELECT id, key, dimension FROM {}", keeper.registry))).fetch_all(&keeper.pool).await {
                    Ok(stores) => stores,
                    Err(e) => {
                        tracing::warn!("{PROVIDER_TYPE}: listing the stores to look at their HNSW indexes failed: {e}");
                        return;
                    }
                };
            for (id, key, dimension) in stores {
                let dimension = usize::try_from(dimension).unwrap_or_default();
                if dimension > max_indexed_dimension(keeper.params.kind) || stop.is_cancelled() {
                    continue;
                }
                keeper.upkeep_until_done(&StoreRef { id, key, dimension }).await;
            }
        });
    }

    fn forget_written(&self, key: i64) {
        let mut all = self.pending.lock();
        if let Some(p) = all.get_mut(&key) {
            p.rows = 0;
        }
    }

    /// The rows `index` covers, as the catalog estimates them (exact after its build).
    async fn indexed_rows(&self, store: &StoreRef, index: Index) -> Result<u64, sqlx::Error> {
        let rows: Option<f32> = sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)")
            .bind(index.name(&store.table()))
            .fetch_optional(&self.pool)
            .await?;
        Ok(rows.map_or(0, |r| r.max(0.0) as u64))
    }

    /// [`IndexKeeper::upkeep`], logged; `None` when it failed or shutdown cut it short.
    async fn upkeep_logged(&self, store: &StoreRef, quiet: bool) -> Option<Upkeep> {
        let stop = self.tasks.stop_token();
        let started = Instant::now();
        let outcome = tokio::select! {
            outcome = self.upkeep(store, quiet) => outcome,
            () = stop.cancelled() => return None,
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &outcome {
            Ok(Upkeep::Nothing | Upkeep::Busy) => {}
            Ok(Upkeep::Folded { rows, indexed }) => tracing::info!(
                vector_store_id = %store.id,
                rows,
                indexed_rows = indexed,
                elapsed_ms,
                "{PROVIDER_TYPE} wrote a vector store's pending rows into its HNSW index"
            ),
            Ok(Upkeep::Built { index, rows }) => tracing::info!(
                vector_store_id = %store.id,
                rows,
                generation = match index.coverage { Coverage::UpTo(g) => g, Coverage::All => 0 },
                elapsed_ms,
                half_precision = index.kind == IndexKind::Half,
                "{PROVIDER_TYPE} built a vector store's HNSW index"
            ),
            // The store's table is gone, or its deletion cancelled the build.
            Err(e) if crate::provider::table_gone(e) || crate::provider::is_sqlstate(e, "57014") => {}
            Err(e) => tracing::warn!(vector_store_id = %store.id, "{PROVIDER_TYPE}: keeping the HNSW index failed (pending rows stay searched exactly; the next bulk write, or the next start, tries again): {e}"),
        }
        outcome.ok()
    }

    /// Looks at `store`'s index under its build lock (one server at a time; another holding it
    /// means this one has nothing to do), on a connection of its own (`CREATE INDEX
    /// CONCURRENTLY` runs outside a transaction; closing the connection releases the lock
    /// whatever happens).
    pub async fn upkeep(&self, store: &StoreRef, quiet: bool) -> Result<Upkeep, sqlx::Error> {
        let Ok(_turn) = self.builds.acquire().await else { return Ok(Upkeep::Nothing) };
        let mut conn = self.pool.acquire().await?.detach();
        let outcome = self.upkeep_on(&mut conn, store, quiet).await;
        let _ = conn.close().await;
        outcome
    }

    async fn upkeep_on(&self, conn: &mut PgConnection, store: &StoreRef, quiet: bool) -> Result<Upkeep, sqlx::Error> {
        let table = store.table();
        // Keyed by the table's OID: unique in the database, where store keys repeat across
        // schemas (each registry counts from 1).
        let mine: Option<bool> = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, to_regclass($2)::oid::int4)")
            .bind(BUILD_LOCK)
            .bind(&table)
            .fetch_one(&mut *conn)
            .await?;
        match mine {
            Some(true) => {}
            Some(false) => return Ok(Upkeep::Busy),
            // The table is gone (the store was deleted).
            None => return Ok(Upkeep::Nothing),
        }
        // A build that died (its server gone mid-way) leaves an invalid index behind.
        let invalid: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = to_regclass($1) AND NOT i.indisvalid AND starts_with(c.relname::text, $1 || '_hnsw')",
        )
        .bind(&table)
        .fetch_all(&mut *conn)
        .await?;
        drop_indexes(conn, &invalid).await?;
        let names: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!("SELECT {}", index_names_sql("$1")))).bind(&table).fetch_one(&mut *conn).await?;
        let current = Index::current(&table, &names);
        // Every valid index but the current one: older generations' that a build cut short (its
        // server stopping) left behind, or generation indexes beside one over every row (built
        // meanwhile by a server of an earlier version). Every write would keep them all.
        if let Some(index) = current {
            let keep = index.name(&table);
            let others: Vec<String> = names.into_iter().filter(|n| *n != keep).collect();
            drop_indexes(conn, &others).await?;
        }
        let (pending_sql, indexed) = match current {
            Some(Index { coverage: Coverage::All, .. }) => return Ok(Upkeep::Nothing),
            Some(i @ Index { coverage: Coverage::UpTo(g), .. }) => {
                (format!("SELECT count(*) FROM (SELECT 1 FROM {table} WHERE gen > {g} LIMIT $1) s"), self.indexed_rows(store, i).await?)
            }
            None => (format!("SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT $1) s"), 0),
        };
        // Counted up to the force bound: past it, more changes nothing.
        let force = self.force_at(indexed);
        let pending: i64 = sqlx::query_scalar(AssertSqlSafe(pending_sql)).bind(i64::try_from(force).unwrap_or(i64::MAX)).fetch_one(&mut *conn).await?;
        let pending = u64::try_from(pending).unwrap_or(0);
        let needed = if current.is_some() { 1 } else { self.params.min_chunks.max(1) };
        if pending < needed || !(quiet || pending >= force) {
            return Ok(Upkeep::Nothing);
        }
        if let Some(Index { coverage: Coverage::UpTo(g), .. }) = current
            && pending.saturating_mul(FOLD_DIVISOR) <= indexed
        {
            // A few beside the index: into it row by row, cheaper than building it again.
            let done = sqlx::query(AssertSqlSafe(format!("UPDATE {table} SET gen = {g} WHERE gen > {g}"))).execute(&mut *conn).await?;
            return Ok(Upkeep::Folded { rows: done.rows_affected(), indexed: indexed + done.rows_affected() });
        }
        // The pending generation becomes the new index's; later bulk writes take the next.
        let generation: i32 = sqlx::query_scalar(AssertSqlSafe(format!(
            "UPDATE {} SET pending_gen = pending_gen + 1 WHERE key = $1 RETURNING pending_gen - 1",
            self.registry
        )))
        .bind(store.key)
        .fetch_one(&mut *conn)
        .await?;
        let rows: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}"))).fetch_one(&mut *conn).await?;
        let rows = u64::try_from(rows).unwrap_or(0);
        let kind = current.map_or(self.params.kind, |i| i.kind);
        let mut index = Index { kind, coverage: Coverage::UpTo(generation) };
        match self.create(conn, store, index, rows).await {
            Ok(()) => {}
            // An L2 or inner-product store written before values were checked against
            // `halfvec`'s range may hold ones it cannot: a full-precision index then.
            Err(e) if out_of_range(&e) && kind == IndexKind::Half && store.dimension <= HNSW_MAX_DIMENSION_FULL => {
                drop_indexes(conn, &[index.name(&table)]).await?;
                index.kind = IndexKind::Full;
                self.create(conn, store, index, rows).await?;
            }
            Err(e) => return Err(e),
        }
        // The index searches used until now.
        let replaced: Vec<String> = current.map(|c| c.name(&table)).into_iter().collect();
        drop_indexes(conn, &replaced).await?;
        Ok(Upkeep::Built { index, rows })
    }

    /// `CREATE INDEX CONCURRENTLY`, with the memory for a graph of `rows` in memory.
    async fn create(&self, conn: &mut PgConnection, store: &StoreRef, index: Index, rows: u64) -> Result<(), sqlx::Error> {
        let mib = self.params.build_memory_mib(index.kind, store.dimension, rows);
        sqlx::query(AssertSqlSafe(format!("SET maintenance_work_mem = '{mib}MB'"))).execute(&mut *conn).await?;
        sqlx::query(AssertSqlSafe(self.params.ddl(&store.table(), store.dimension, index))).execute(&mut *conn).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_round_trip_and_the_latest_generation_is_current() {
        let t = "lls_pgv_12";
        for index in [
            Index { kind: IndexKind::Half, coverage: Coverage::All },
            Index { kind: IndexKind::Full, coverage: Coverage::All },
            Index { kind: IndexKind::Half, coverage: Coverage::UpTo(7) },
            Index { kind: IndexKind::Full, coverage: Coverage::UpTo(12) },
        ] {
            assert_eq!(Index::parse(t, &index.name(t)), Some(index));
        }
        assert_eq!(Index::parse(t, "lls_pgv_12_tsv"), None);
        assert_eq!(Index::parse(t, "lls_pgv_12_hnsw_gx"), None);
        let names = |ns: &[&str]| ns.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let current = Index::current(t, &names(&["lls_pgv_12_hnsw_half_g2", "lls_pgv_12_hnsw_half_g10", "lls_pgv_12_hnsw_g3"]));
        assert_eq!(current, Some(Index { kind: IndexKind::Half, coverage: Coverage::UpTo(10) }));
        let current = Index::current(t, &names(&["lls_pgv_12_hnsw_half_g2", "lls_pgv_12_hnsw"]));
        assert_eq!(current, Some(Index { kind: IndexKind::Full, coverage: Coverage::All }));
        assert_eq!(Index::current(t, &[]), None);
    }

    #[test]
    fn small_writes_to_a_generation_index_go_into_it_and_bulk_ones_wait() {
        let gen_index = Some(Index { kind: IndexKind::Half, coverage: Coverage::UpTo(4) });
        assert_eq!(Index::generation_for(gen_index, DIRECT_ROWS, 5), 4);
        assert_eq!(Index::generation_for(gen_index, DIRECT_ROWS + 1, 5), 5);
        assert_eq!(Index::generation_for(None, 1, 1), 1);
        assert_eq!(Index::generation_for(Some(Index { kind: IndexKind::Full, coverage: Coverage::All }), 5000, 3), 0);
    }
}
