//! [`PgVectorProvider`]: the [`VectorIo`] trait over PostgreSQL with pgvector.
//!
//! One table per vector store (`lls_pgv_{key}`: id, chunk JSON, searchable text, `vector(dim)`
//! kept in the row, a generated `tsvector`), with a GIN index for full text and, once the store
//! holds `hnsw_min_chunks` chunks, an HNSW index for the configured metric (built in one pass:
//! pgvector builds an index from existing rows several times faster than it inserts them one by
//! one). The index is over the vectors in half precision (`halfvec`, an expression index; for
//! cosine of the vectors scaled to unit length first, which keeps every value in range): half
//! the pages to walk, up to 4,000 dimensions, and the candidates it finds are ranked again by
//! the full-precision vectors in the row, so scores are exact. A pgvector older than 0.7 (no
//! `halfvec`) gets a full-precision index, as stores indexed before this scheme keep theirs. A registry table maps store ids to their key and dimension. Nothing is cached in the
//! process: every call reads the registry (and the catalog for the index), so servers sharing
//! the database (replicas) see each other's stores at once. Schema changes take turns on one
//! advisory lock (concurrent `CREATE TABLE IF NOT EXISTS` collide in PostgreSQL's catalog); an
//! index build on a per-store one.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{BuildContext, Error, ErrorKind, HealthStatus, Result, Tasks};
use lls_api_vector_io::{EmbeddedChunk, IndexSpec, ScoredChunk, SearchModes, VectorIo};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{AssertSqlSafe, Connection, Postgres, Row, Transaction};

use crate::PROVIDER_TYPE;
use crate::config::{DistanceMetric, PgVectorConfig};
use crate::wire::Vector;

/// The store registry.
const REGISTRY: &str = "lls_pgvector_stores";
/// The advisory lock schema changes take ("llspgvec" in ASCII).
const SCHEMA_LOCK: i64 = 0x6c6c_7370_6776_6563;
/// pgvector's `vector` type holds at most this many dimensions.
pub const MAX_DIMENSION: usize = 16_000;
/// pgvector's HNSW index takes `halfvec` values of at most this many dimensions; larger stores
/// are searched exactly.
pub const HNSW_MAX_DIMENSION: usize = 4_000;
/// The same limit for a full-precision (`vector`) index, where `halfvec` is missing.
const HNSW_MAX_DIMENSION_FULL: usize = 2_000;
/// The largest magnitude `halfvec` holds; L2 and inner-product stores (whose index casts the
/// vectors as they are) refuse values beyond it.
pub const HALFVEC_MAX: f32 = 65_504.0;
/// Rows per insert statement (four array parameters, whatever the count).
const BATCH_ROWS: usize = 1000;
/// The first key of a store's index-build advisory lock (the second is its table's OID);
/// "llsp" in ASCII. The two-key space does not overlap [`SCHEMA_LOCK`]'s.
const BUILD_LOCK: i32 = 0x6c6c_7370;
/// `maintenance_work_mem` bounds for an index build: pgvector builds in memory while the graph
/// fits, far faster than on disk.
const BUILD_MEMORY_MIN_MIB: u64 = 64;
const BUILD_MEMORY_MAX_MIB: u64 = 1024;
/// `hnsw.ef_search` cannot exceed this; a larger `k` is searched exactly.
const EF_SEARCH_MAX: usize = 1_000;

/// A failure while `doing` something with the database, with the kind of its SQLSTATE.
fn db_error(doing: &str, e: sqlx::Error) -> Error {
    Error::new(lls_sql::error_kind(&e), format!("pgvector: {doing} failed: {e}")).with_provider(PROVIDER_TYPE)
}

fn not_found(id: &str) -> Error {
    Error::not_found(format!("Vector store '{id}' not found"))
}

/// Whether PostgreSQL answered `e` with SQLSTATE `code`.
fn is_sqlstate(e: &sqlx::Error, code: &str) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == code)
}

/// `42P01`: the store's table is gone (another server deleted the store meanwhile).
fn table_gone(e: &sqlx::Error) -> bool {
    is_sqlstate(e, "42P01")
}

/// `22003`: a value out of its type's range (a stored vector `halfvec` cannot hold).
fn out_of_range(e: &sqlx::Error) -> bool {
    is_sqlstate(e, "22003")
}

/// A store as the registry has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StoreInfo {
    key: i64,
    dimension: usize,
    /// Its HNSW index, if it has one yet.
    index: Option<IndexKind>,
}

impl StoreInfo {
    fn table(&self) -> String {
        table_name(self.key)
    }
}

fn table_name(key: i64) -> String {
    format!("lls_pgv_{key}")
}

/// What a store's HNSW index is over (each has a name of its own, so the catalog tells them
/// apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IndexKind {
    /// The vectors in half precision (`{table}_hnsw_half`).
    Half,
    /// The `vector` column itself (`{table}_hnsw`): where pgvector lacks `halfvec`, and stores
    /// indexed before the half-precision index.
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

/// The `remote::pgvector` vector_io provider.
pub struct PgVectorProvider {
    pool: PgPool,
    metric: DistanceMetric,
    /// The index new stores get: [`IndexKind::Half`] where the extension has `halfvec`.
    index_kind: IndexKind,
    hnsw_m: u32,
    hnsw_ef_construction: u32,
    ef_search: usize,
    /// Stores get their HNSW index at this many chunks (0: at creation).
    hnsw_min_chunks: u64,
    /// Supervises the background index builds (the stack's, so shutdown sees them).
    tasks: Tasks,
}

impl std::fmt::Debug for PgVectorProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgVectorProvider").field("metric", &self.metric).finish_non_exhaustive()
    }
}

/// A chunk ready to write.
struct PreparedChunk {
    id: String,
    json: String,
    text: String,
    vector: Vec<f32>,
}

impl PgVectorProvider {
    /// The descriptor's build function.
    pub async fn build(ctx: BuildContext, config: PgVectorConfig) -> Result<Arc<dyn VectorIo>> {
        Ok(Arc::new(Self::connect(&config.url(), &config).await?.with_tasks(ctx.tasks.clone())))
    }

    /// Runs the background index builds under `tasks` (a provider from [`PgVectorProvider::connect`]
    /// has a supervisor of its own).
    pub fn with_tasks(mut self, tasks: Tasks) -> Self {
        self.tasks = tasks;
        self
    }

    /// Connects to `url` (the config's own address, or another for tests), makes sure the
    /// pgvector extension and the registry exist.
    pub async fn connect(url: &str, config: &PgVectorConfig) -> Result<Self> {
        // Every connection searches HNSW as wide as configured; wider queries widen it per query.
        let options = lls_sql::postgres::connect_options(url)
            .map_err(|e| db_error("connecting", e))?
            .options([("hnsw.ef_search", config.hnsw_ef_search.to_string())]);
        let pool = lls_sql::postgres::connect_with(options).await.map_err(|e| {
            let mut e = db_error("connecting", e);
            if e.kind() == ErrorKind::Internal {
                e = Error::new(ErrorKind::UpstreamUnavailable, e.message().to_owned()).with_provider(PROVIDER_TYPE);
            }
            e
        })?;
        let mut provider = PgVectorProvider {
            pool,
            metric: config.distance_metric,
            index_kind: IndexKind::Half,
            hnsw_m: config.hnsw_m,
            hnsw_ef_construction: config.hnsw_ef_construction,
            ef_search: config.hnsw_ef_search as usize,
            hnsw_min_chunks: config.hnsw_min_chunks,
            tasks: Tasks::new(),
        };
        let setup = [
            "CREATE EXTENSION IF NOT EXISTS vector".to_owned(),
            format!(
                "CREATE TABLE IF NOT EXISTS {REGISTRY} (id TEXT PRIMARY KEY, key BIGSERIAL UNIQUE, \
                 dimension INTEGER NOT NULL, embedding_model TEXT NOT NULL)"
            ),
        ];
        if let Err(e) = provider.change_schema("setting up", &setup, |tx| async { Ok(tx) }).await {
            return Err(Error::new(
                ErrorKind::UpstreamUnavailable,
                format!(
                    "{} (the database needs the pgvector extension, and the user the right to create it or it \
                     created already: CREATE EXTENSION vector; scripts/postgres.sh installs pgvector for tests)",
                    e.message()
                ),
            )
            .with_provider(PROVIDER_TYPE));
        }
        let half: bool = sqlx::query_scalar("SELECT to_regtype('halfvec') IS NOT NULL")
            .fetch_one(&provider.pool)
            .await
            .map_err(|e| db_error("reading the pgvector version", e))?;
        if !half {
            tracing::warn!("{PROVIDER_TYPE}: this pgvector has no halfvec type (0.7 or later has): stores get full-precision HNSW indexes, of at most {HNSW_MAX_DIMENSION_FULL} dimensions");
            provider.index_kind = IndexKind::Full;
        }
        Ok(provider)
    }

    /// Runs `stmts` then `more` in one transaction holding the schema lock.
    async fn change_schema<F, Fut>(&self, doing: &str, stmts: &[String], more: F) -> Result<()>
    where
        F: FnOnce(Transaction<'static, Postgres>) -> Fut,
        Fut: std::future::Future<Output = Result<Transaction<'static, Postgres>>>,
    {
        let mut tx = self.pool.begin().await.map_err(|e| db_error(doing, e))?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SCHEMA_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(doing, e))?;
        for stmt in stmts {
            sqlx::query(AssertSqlSafe(stmt.clone())).execute(&mut *tx).await.map_err(|e| db_error(doing, e))?;
        }
        let tx = more(tx).await?;
        tx.commit().await.map_err(|e| db_error(doing, e))
    }

    /// The store's registry entry and its index (from the catalog: another server may have
    /// built it), in one round trip.
    async fn store(&self, id: &str) -> Result<StoreInfo> {
        let (half, full) = (IndexKind::Half.suffix(), IndexKind::Full.suffix());
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT key, dimension, to_regclass('lls_pgv_' || key || '{half}') IS NOT NULL, \
             to_regclass('lls_pgv_' || key || '{full}') IS NOT NULL FROM {REGISTRY} WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("reading the store registry", e))?;
        let row = row.ok_or_else(|| not_found(id))?;
        let failed = |e| db_error("reading the store registry", e);
        let key: i64 = row.try_get(0).map_err(failed)?;
        let dimension: i32 = row.try_get(1).map_err(failed)?;
        let (half, full): (bool, bool) = (row.try_get(2).map_err(failed)?, row.try_get(3).map_err(failed)?);
        let index = if half {
            Some(IndexKind::Half)
        } else if full {
            Some(IndexKind::Full)
        } else {
            None
        };
        Ok(StoreInfo { key, dimension: usize::try_from(dimension).unwrap_or_default(), index })
    }

    /// The index plan for a store's table.
    fn hnsw(&self, info: StoreInfo) -> HnswBuild {
        HnswBuild {
            table: info.table(),
            dimension: info.dimension,
            kind: self.index_kind,
            metric: self.metric,
            m: self.hnsw_m,
            ef_construction: self.hnsw_ef_construction,
            min_chunks: self.hnsw_min_chunks,
        }
    }

    /// Higher is better: `1 / distance` for cosine and L2 as 0.3.5 scores them (an exact match
    /// is the largest finite `f32`: JSON has no infinity), the inner product itself for `<#>`.
    fn score(&self, distance: f64) -> f32 {
        match self.metric {
            DistanceMetric::InnerProduct => (-distance) as f32,
            _ if distance > 0.0 => (1.0 / distance) as f32,
            _ => f32::MAX,
        }
    }
}

/// The distance operator of a metric (`vector` and `halfvec` alike).
fn operator(metric: DistanceMetric) -> &'static str {
    match metric {
        DistanceMetric::Cosine => "<=>",
        DistanceMetric::L2 => "<->",
        DistanceMetric::InnerProduct => "<#>",
    }
}

/// The expression an index of `kind` is over, for a store of `dim` dimensions: the column, or
/// its half-precision copy (of unit length for cosine, whose ranking that leaves unchanged and
/// whose values it keeps within `halfvec`'s range). `vector` is a column or a parameter.
fn indexed(kind: IndexKind, metric: DistanceMetric, dim: usize, vector: &str) -> String {
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
fn max_indexed_dimension(kind: IndexKind) -> usize {
    match kind {
        IndexKind::Half => HNSW_MAX_DIMENSION,
        IndexKind::Full => HNSW_MAX_DIMENSION_FULL,
    }
}

/// A store's HNSW index: its DDL, and its deferred build once the store is large enough.
#[derive(Debug, Clone)]
struct HnswBuild {
    table: String,
    dimension: usize,
    kind: IndexKind,
    metric: DistanceMetric,
    m: u32,
    ef_construction: u32,
    min_chunks: u64,
}

impl HnswBuild {
    fn ddl(&self) -> String {
        let HnswBuild { table, kind, metric, m, ef_construction, dimension, .. } = self;
        let (name, expr, ops) = (kind.suffix(), indexed(*kind, *metric, *dimension, "embedding"), operator_class(*kind, *metric));
        format!(
            "CREATE INDEX IF NOT EXISTS {table}{name} ON {table} USING hnsw ({expr} {ops}) \
             WITH (m = {m}, ef_construction = {ef_construction})"
        )
    }

    /// Whether the store is due an index: none yet (of either kind), and at least `min_chunks`
    /// rows (counted up to that many, so a large table costs no more than a small one). One
    /// round trip.
    async fn due(&self, pool: &PgPool) -> std::result::Result<bool, sqlx::Error> {
        if self.dimension > max_indexed_dimension(self.kind) {
            return Ok(false);
        }
        let table = &self.table;
        let rows: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT CASE WHEN to_regclass($1) IS NULL AND to_regclass($2) IS NULL \
             THEN (SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT $3) s) END"
        )))
        .bind(format!("{table}{}", IndexKind::Half.suffix()))
        .bind(format!("{table}{}", IndexKind::Full.suffix()))
        .bind(i64::try_from(self.min_chunks).unwrap_or(i64::MAX))
        .fetch_one(pool)
        .await?;
        Ok(rows.is_some_and(|n| u64::try_from(n).unwrap_or(0) >= self.min_chunks))
    }

    /// Builds the index from the rows there are, in one transaction: `CREATE INDEX` holds a
    /// SHARE lock, which searches pass (they read on) and writes to this store wait for. One
    /// builder per store across servers (a per-store advisory lock: another builder means this
    /// one has nothing to do); `IF NOT EXISTS` covers a build that finished meanwhile. Returns
    /// the kind of index this call built, if it built one. An L2 or inner-product store written
    /// before values were checked against `halfvec`'s range may hold ones it cannot: its index
    /// is then a full-precision one, rather than a build that fails after every insert. That
    /// second build is in the same transaction, after a savepoint, so the lock is held
    /// throughout (a dropped transaction's rollback, and the lock's release with it, waits
    /// for its connection's next use, which another build could come before).
    async fn build(&self, pool: &PgPool) -> std::result::Result<Option<IndexKind>, sqlx::Error> {
        let mut tx = pool.begin().await?;
        // Keyed by the table's OID: unique in the database, where store keys repeat across
        // schemas (each registry counts from 1).
        let mine: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, to_regclass($2)::oid::int4)")
            .bind(BUILD_LOCK)
            .bind(&self.table)
            .fetch_one(&mut *tx)
            .await?;
        if !mine {
            tx.rollback().await?;
            return Ok(None);
        }
        let rows: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {}", self.table))).fetch_one(&mut *tx).await?;
        let rows = u64::try_from(rows).unwrap_or(0);
        let mut savepoint = tx.begin().await?;
        let kind = match self.create(&mut savepoint, rows).await {
            Ok(()) => self.kind,
            Err(e) if out_of_range(&e) && self.kind == IndexKind::Half && self.dimension <= HNSW_MAX_DIMENSION_FULL => {
                savepoint.rollback().await?;
                savepoint = tx.begin().await?;
                HnswBuild { kind: IndexKind::Full, ..self.clone() }.create(&mut savepoint, rows).await?;
                IndexKind::Full
            }
            Err(e) => return Err(e),
        };
        savepoint.commit().await?;
        tx.commit().await?;
        Ok(Some(kind))
    }

    /// `CREATE INDEX`, with the memory for a graph of `rows` in memory.
    async fn create(&self, conn: &mut sqlx::PgConnection, rows: u64) -> std::result::Result<(), sqlx::Error> {
        // The graph in memory: each vector plus its neighbour lists, with room to spare.
        let per_value = match self.kind {
            IndexKind::Half => 2,
            IndexKind::Full => 4,
        };
        let per_row = per_value * self.dimension as u64 + 64 * u64::from(self.m) + 128;
        let mib = (rows.saturating_mul(per_row) / (1 << 20)).clamp(BUILD_MEMORY_MIN_MIB, BUILD_MEMORY_MAX_MIB);
        sqlx::query(AssertSqlSafe(format!("SET LOCAL maintenance_work_mem = '{mib}MB'"))).execute(&mut *conn).await?;
        sqlx::query(AssertSqlSafe(self.ddl())).execute(&mut *conn).await?;
        Ok(())
    }

    /// After an insert: builds the index in the background when the store is due one, so the
    /// insert answers at once and searches stay exact until the index is there. A failure is
    /// logged; the next insert tries again.
    async fn spawn_if_due(self, pool: &PgPool, store: &str, tasks: &Tasks) {
        match self.due(pool).await {
            Ok(false) => {}
            Ok(true) => {
                let (pool, store) = (pool.clone(), store.to_owned());
                tasks.spawn("pgvector HNSW index build", async move {
                    let started = std::time::Instant::now();
                    match self.build(&pool).await {
                        Ok(Some(kind)) => tracing::info!(
                            vector_store_id = %store,
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            half_precision = kind == IndexKind::Half,
                            "{PROVIDER_TYPE} built a vector store's HNSW index"
                        ),
                        Ok(None) => {}
                        Err(e) if table_gone(&e) => {}
                        Err(e) => tracing::warn!(vector_store_id = %store, "{PROVIDER_TYPE}: building the HNSW index failed (searches stay exact; the next insert tries again): {e}"),
                    }
                });
            }
            Err(e) if table_gone(&e) => {}
            Err(e) => tracing::warn!(vector_store_id = %store, "{PROVIDER_TYPE}: checking whether the store needs its HNSW index failed: {e}"),
        }
    }
}

fn check_vector(store: &str, info: StoreInfo, v: &[f32], what: &str) -> Result<()> {
    lls_api_vector_io::check_embedding(store, info.dimension, v, what)
}

/// A stored vector an index of `kind` can take: an L2 or inner-product store's half-precision
/// index holds the values as they are, so they must fit `halfvec` (cosine scales them first;
/// a full-precision index takes any).
fn check_indexable(kind: IndexKind, metric: DistanceMetric, info: StoreInfo, v: &[f32], what: &str) -> Result<()> {
    let half_as_is = kind == IndexKind::Half && metric != DistanceMetric::Cosine && info.dimension <= HNSW_MAX_DIMENSION;
    match v.iter().find(|x| half_as_is && x.abs() > HALFVEC_MAX) {
        Some(x) => Err(Error::invalid(format!(
            "{what} has the value {x}, beyond ±{HALFVEC_MAX}: this store's index keeps vectors in half precision (pgvector's halfvec)"
        ))),
        None => Ok(()),
    }
}

/// Serialises the chunks for writing; an id given twice keeps its last chunk.
fn prepare(chunks: Vec<EmbeddedChunk>) -> Result<Vec<PreparedChunk>> {
    EmbeddedChunk::last_per_id(chunks)
        .into_iter()
        .map(|c| {
            Ok(PreparedChunk {
                text: c.chunk.content_text().replace('\0', ""),
                json: serde_json::to_string(&c.chunk)?,
                vector: c.embedding,
                id: c.chunk_id,
            })
        })
        .collect()
}

/// `(id, chunk JSON, raw score)` rows into results at or above `threshold`.
fn decode(rows: Vec<PgRow>, score: impl Fn(f64) -> f32, threshold: f32) -> Result<Vec<ScoredChunk>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get(0).map_err(|e| db_error("reading a chunk", e))?;
        let json: String = row.try_get(1).map_err(|e| db_error("reading a chunk", e))?;
        let raw: f64 = row.try_get(2).map_err(|e| db_error("reading a chunk", e))?;
        let s = score(raw);
        if s >= threshold {
            out.push(ScoredChunk::from_stored(id, &json, s)?);
        }
    }
    Ok(out)
}

#[async_trait]
impl VectorIo for PgVectorProvider {
    fn search_modes(&self) -> SearchModes {
        SearchModes { vector: true, keyword: true }
    }

    async fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        let (id, dim) = (spec.vector_store_id.clone(), spec.embedding_dimension);
        if !(1..=MAX_DIMENSION).contains(&dim) {
            return Err(Error::invalid(format!("embedding_dimension {dim} is out of range: pgvector takes 1 to {MAX_DIMENSION}")));
        }
        let model = spec.embedding_model.clone();
        let index_now = self.hnsw_min_chunks == 0 && dim <= max_indexed_dimension(self.index_kind);
        let plan = |key| self.hnsw(StoreInfo { key, dimension: dim, index: None });
        self.change_schema("creating a vector store", &[], |mut tx| async move {
            let doing = "creating a vector store";
            let existing = sqlx::query(AssertSqlSafe(format!("SELECT dimension FROM {REGISTRY} WHERE id = $1")))
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| db_error(doing, e))?;
            if let Some(row) = existing {
                let existing: i32 = row.try_get(0).map_err(|e| db_error(doing, e))?;
                if usize::try_from(existing).ok() == Some(dim) {
                    return Ok(tx);
                }
                return Err(Error::conflict(format!("Vector store '{id}' already exists with dimension {existing}, not {dim}")));
            }
            let key: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                "INSERT INTO {REGISTRY} (id, dimension, embedding_model) VALUES ($1, $2, $3) RETURNING key"
            )))
            .bind(&id)
            .bind(i32::try_from(dim).unwrap_or(i32::MAX))
            .bind(&model)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| db_error(doing, e))?;
            let table = table_name(key);
            let mut ddl = vec![
                format!(
                    "CREATE TABLE {table} (id TEXT PRIMARY KEY, chunk TEXT NOT NULL, content TEXT NOT NULL, \
                     embedding vector({dim}) NOT NULL, \
                     tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED)"
                ),
                // pgvector's type is stored out of line (EXTERNAL) in a row over 2 kB, as a
                // 384-d vector beside its chunk is: every exact scan would then read it back
                // from the TOAST table. MAIN keeps it in the row while it fits.
                format!("ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE MAIN"),
                format!("CREATE INDEX {table}_tsv ON {table} USING gin (tsv)"),
            ];
            if index_now {
                ddl.push(plan(key).ddl());
            }
            for stmt in ddl {
                sqlx::query(AssertSqlSafe(stmt)).execute(&mut *tx).await.map_err(|e| db_error(doing, e))?;
            }
            Ok(tx)
        })
        .await
    }

    async fn delete_index(&self, vector_store_id: &str) -> Result<()> {
        let id = vector_store_id.to_owned();
        self.change_schema("deleting a vector store", &[], |mut tx| async move {
            let doing = "deleting a vector store";
            let key: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!("DELETE FROM {REGISTRY} WHERE id = $1 RETURNING key")))
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| db_error(doing, e))?;
            if let Some(key) = key {
                let table = table_name(key);
                sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| db_error(doing, e))?;
            }
            Ok(tx)
        })
        .await
    }

    async fn insert(&self, vector_store_id: &str, chunks: Vec<EmbeddedChunk>) -> Result<()> {
        let info = self.store(vector_store_id).await?;
        // The kind of index the store has, or will get.
        let kind = info.index.unwrap_or(self.index_kind);
        for c in &chunks {
            let what = format!("the embedding of chunk '{}'", c.chunk_id);
            check_vector(vector_store_id, info, &c.embedding, &what)?;
            check_indexable(kind, self.metric, info, &c.embedding, &what)?;
        }
        if chunks.is_empty() {
            return Ok(());
        }
        let rows = tokio::task::spawn_blocking(move || prepare(chunks))
            .await
            .map_err(|e| Error::internal(format!("preparing chunks failed: {e}")))??;
        let doing = "inserting chunks";
        let table = info.table();
        // One statement per batch whatever its size (the same prepared statement every time):
        // the columns as arrays, the embeddings in binary.
        let sql = format!(
            "INSERT INTO {table} (id, chunk, content, embedding) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::vector[]) \
             ON CONFLICT (id) DO UPDATE SET chunk = EXCLUDED.chunk, content = EXCLUDED.content, embedding = EXCLUDED.embedding"
        );
        let mut tx = self.pool.begin().await.map_err(|e| db_error(doing, e))?;
        for batch in rows.chunks(BATCH_ROWS) {
            sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(batch.iter().map(|r| r.id.as_str()).collect::<Vec<_>>())
                .bind(batch.iter().map(|r| r.json.as_str()).collect::<Vec<_>>())
                .bind(batch.iter().map(|r| r.text.as_str()).collect::<Vec<_>>())
                .bind(batch.iter().map(|r| Vector(&r.vector)).collect::<Vec<_>>())
                .execute(&mut *tx)
                .await
                .map_err(|e| if table_gone(&e) { not_found(vector_store_id) } else { db_error(doing, e) })?;
        }
        tx.commit().await.map_err(|e| db_error(doing, e))?;
        if self.hnsw_min_chunks > 0 {
            self.hnsw(info).spawn_if_due(&self.pool, vector_store_id, &self.tasks).await;
        }
        Ok(())
    }

    async fn delete_chunks(&self, vector_store_id: &str, chunk_ids: &[String]) -> Result<()> {
        let info = self.store(vector_store_id).await?;
        if chunk_ids.is_empty() {
            return Ok(());
        }
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {} WHERE id = ANY($1)", info.table())))
            .bind(chunk_ids)
            .execute(&self.pool)
            .await
            .map_err(|e| if table_gone(&e) { not_found(vector_store_id) } else { db_error("deleting chunks", e) })?;
        Ok(())
    }

    async fn query_vector(&self, vector_store_id: &str, embedding: &[f32], k: usize, score_threshold: f32) -> Result<Vec<ScoredChunk>> {
        let info = self.store(vector_store_id).await?;
        check_vector(vector_store_id, info, embedding, "the query embedding")?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let doing = "querying vectors";
        let op = operator(self.metric);
        let table = info.table();
        // Ordered by the distance alone: a second sort key would keep PostgreSQL from walking
        // the HNSW index (it would sort every row: an exact scan). Ties are put in id order
        // below. With the half-precision index, its k nearest are ranked again by the vectors
        // themselves (the outer query), so the scores are exact; a k the index cannot serve
        // (beyond EF_SEARCH_MAX) is an exact scan of the column, which that index is not on.
        let exact = format!(
            "SELECT id, chunk, (embedding {op} $1::vector)::float8 AS distance FROM {table} \
             ORDER BY embedding {op} $1::vector LIMIT $2"
        );
        let query = match info.index {
            Some(IndexKind::Half) if k <= EF_SEARCH_MAX => {
                let (column, param) = (
                    indexed(IndexKind::Half, self.metric, info.dimension, "embedding"),
                    indexed(IndexKind::Half, self.metric, info.dimension, "$1::vector"),
                );
                format!(
                    "SELECT id, chunk, (embedding {op} $1::vector)::float8 AS distance FROM \
                     (SELECT id, chunk, embedding FROM {table} ORDER BY {column} {op} {param} LIMIT $2) candidates \
                     ORDER BY distance LIMIT $2"
                )
            }
            _ => exact,
        };
        let query = || {
            sqlx::query(AssertSqlSafe(query.clone()))
                .bind(Vector(embedding))
                .bind(i64::try_from(k).unwrap_or(i64::MAX))
        };
        let failed = |e: sqlx::Error| if table_gone(&e) { not_found(vector_store_id) } else { db_error(doing, e) };
        // HNSW returns at most ef_search rows: the connections' setting covers k up to it (one
        // round trip); a larger k widens it for this query, or searches exactly beyond its cap
        // (the half-precision index is then not on the query's expression; the full one must
        // be turned off).
        let setting = match info.index {
            Some(_) if k <= self.ef_search => None,
            Some(_) if k <= EF_SEARCH_MAX => Some(format!("SET LOCAL hnsw.ef_search = {k}")),
            Some(IndexKind::Full) => Some("SET LOCAL enable_indexscan = off".to_owned()),
            Some(IndexKind::Half) | None => None,
        };
        let rows = match setting {
            None => query().fetch_all(&self.pool).await.map_err(failed)?,
            Some(setting) => {
                let mut tx = self.pool.begin().await.map_err(|e| db_error(doing, e))?;
                sqlx::query(AssertSqlSafe(setting)).execute(&mut *tx).await.map_err(|e| db_error(doing, e))?;
                let rows = query().fetch_all(&mut *tx).await.map_err(failed)?;
                tx.commit().await.map_err(|e| db_error(doing, e))?;
                rows
            }
        };
        let mut hits = decode(rows, |d| self.score(d), score_threshold)?;
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id().cmp(b.id())));
        Ok(hits)
    }

    async fn query_keyword(&self, vector_store_id: &str, query: &str, k: usize, score_threshold: f32) -> Result<Vec<ScoredChunk>> {
        let info = self.store(vector_store_id).await?;
        if k == 0 || query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, chunk, ts_rank(tsv, q)::float8 AS score FROM {}, plainto_tsquery('english', $1) q \
             WHERE tsv @@ q ORDER BY score DESC, id LIMIT $2",
            info.table()
        )))
        .bind(query.replace('\0', ""))
        .bind(i64::try_from(k).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| if table_gone(&e) { not_found(vector_store_id) } else { db_error("searching text", e) })?;
        decode(rows, |s| s as f32, score_threshold)
    }

    async fn health(&self) -> HealthStatus {
        match sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&self.pool).await {
            Ok(_) => HealthStatus::ok(),
            Err(e) => HealthStatus::error(db_error("checking the database", e).to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use lls_testkit::prerequisite::Prerequisite;

    use super::*;

    const POSTGRES: Prerequisite = Prerequisite {
        what: "PostgreSQL with pgvector (LLS_TEST_POSTGRES_URL)",
        how: "export LLS_TEST_POSTGRES_URL=$(scripts/postgres.sh start)",
        opt_out: "LLS_TEST_NO_POSTGRES",
    };

    #[tokio::test]
    async fn every_pooled_connection_searches_as_wide_as_configured() {
        let url = std::env::var("LLS_TEST_POSTGRES_URL").ok().filter(|u| !u.trim().is_empty());
        let Some(url) = POSTGRES.require("pgvector ef_search per connection", url, "it reads the setting back") else { return };
        let config: PgVectorConfig = serde_json::from_value(serde_json::json!({"hnsw_ef_search": 123})).unwrap();
        let p = PgVectorProvider::connect(&url, &config).await.unwrap();
        // Several connections held at once, so the pool opens new ones; before and after the
        // extension's library is loaded in the session (the setting is a placeholder until then).
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut c = p.pool.acquire().await.unwrap();
            let before: String = sqlx::query_scalar("SHOW hnsw.ef_search").fetch_one(&mut *c).await.unwrap();
            sqlx::query("SELECT '[1,2]'::vector <=> '[2,1]'::vector").execute(&mut *c).await.unwrap();
            let after: String = sqlx::query_scalar("SHOW hnsw.ef_search").fetch_one(&mut *c).await.unwrap();
            assert_eq!((before.as_str(), after.as_str()), ("123", "123"));
            held.push(c);
        }
        assert!(p.pool.size() >= 4);
    }
}
