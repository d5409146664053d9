//! [`PgVectorProvider`]: the [`VectorIo`] trait over PostgreSQL with pgvector.
//!
//! One table per vector store (`lls_pgv_{key}`: id, chunk JSON, searchable text, `vector(dim)`
//! kept in the row, a generated `tsvector`), with a GIN index for full text and, once the store
//! holds `hnsw_min_chunks` chunks, an HNSW index for the configured metric (built in one pass:
//! pgvector builds an index from existing rows several times faster than it inserts them one by
//! one). A registry table maps store ids to their key and dimension. Nothing is cached in the
//! process: every call reads the registry (and the catalog for the index), so servers sharing
//! the database (replicas) see each other's stores at once. Schema changes take turns on one
//! advisory lock (concurrent `CREATE TABLE IF NOT EXISTS` collide in PostgreSQL's catalog); an
//! index build on a per-store one.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{BuildContext, Error, ErrorKind, HealthStatus, Result, Tasks};
use lls_api_vector_io::{EmbeddedChunk, IndexSpec, ScoredChunk, SearchModes, VectorIo};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{AssertSqlSafe, Postgres, Row, Transaction};

use crate::PROVIDER_TYPE;
use crate::config::{DistanceMetric, PgVectorConfig};
use crate::wire::Vector;

/// The store registry.
const REGISTRY: &str = "lls_pgvector_stores";
/// The advisory lock schema changes take ("llspgvec" in ASCII).
const SCHEMA_LOCK: i64 = 0x6c6c_7370_6776_6563;
/// pgvector's `vector` type holds at most this many dimensions.
pub const MAX_DIMENSION: usize = 16_000;
/// pgvector's HNSW index takes `vector` columns of at most this many dimensions; larger stores
/// are searched exactly.
pub const HNSW_MAX_DIMENSION: usize = 2_000;
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

/// `42P01`: the store's table is gone (another server deleted the store meanwhile).
fn table_gone(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "42P01")
}

/// A store as the registry has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StoreInfo {
    key: i64,
    dimension: usize,
}

impl StoreInfo {
    fn table(&self) -> String {
        format!("lls_pgv_{}", self.key)
    }
}

/// The `remote::pgvector` vector_io provider.
pub struct PgVectorProvider {
    pool: PgPool,
    metric: DistanceMetric,
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
        let provider = PgVectorProvider {
            pool,
            metric: config.distance_metric,
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

    async fn store(&self, id: &str) -> Result<StoreInfo> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT key, dimension FROM {REGISTRY} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error("reading the store registry", e))?;
        let row = row.ok_or_else(|| not_found(id))?;
        let key: i64 = row.try_get(0).map_err(|e| db_error("reading the store registry", e))?;
        let dimension: i32 = row.try_get(1).map_err(|e| db_error("reading the store registry", e))?;
        Ok(StoreInfo { key, dimension: usize::try_from(dimension).unwrap_or_default() })
    }

    /// `(operator, HNSW operator class)` of the metric.
    fn operator(&self) -> (&'static str, &'static str) {
        operator(self.metric)
    }

    /// The index plan for a store's table.
    fn hnsw(&self, info: StoreInfo) -> HnswBuild {
        HnswBuild {
            table: info.table(),
            dimension: info.dimension,
            ops: self.operator().1,
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

/// `(operator, HNSW operator class)` of a metric.
fn operator(metric: DistanceMetric) -> (&'static str, &'static str) {
    match metric {
        DistanceMetric::Cosine => ("<=>", "vector_cosine_ops"),
        DistanceMetric::L2 => ("<->", "vector_l2_ops"),
        DistanceMetric::InnerProduct => ("<#>", "vector_ip_ops"),
    }
}

/// A store's HNSW index: its DDL, and its deferred build once the store is large enough.
#[derive(Debug, Clone)]
struct HnswBuild {
    table: String,
    dimension: usize,
    ops: &'static str,
    m: u32,
    ef_construction: u32,
    min_chunks: u64,
}

impl HnswBuild {
    fn ddl(&self) -> String {
        let HnswBuild { table, ops, m, ef_construction, .. } = self;
        format!(
            "CREATE INDEX IF NOT EXISTS {table}_hnsw ON {table} USING hnsw (embedding {ops}) \
             WITH (m = {m}, ef_construction = {ef_construction})"
        )
    }

    /// Whether the store is due an index: none yet, and at least `min_chunks` rows (counted up
    /// to that many, so a large table costs no more than a small one). One round trip.
    async fn due(&self, pool: &PgPool) -> std::result::Result<bool, sqlx::Error> {
        if self.dimension > HNSW_MAX_DIMENSION {
            return Ok(false);
        }
        let table = &self.table;
        let rows: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT CASE WHEN to_regclass($1) IS NULL THEN (SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT $2) s) END"
        )))
        .bind(format!("{table}_hnsw"))
        .bind(i64::try_from(self.min_chunks).unwrap_or(i64::MAX))
        .fetch_one(pool)
        .await?;
        Ok(rows.is_some_and(|n| u64::try_from(n).unwrap_or(0) >= self.min_chunks))
    }

    /// Builds the index from the rows there are, in one transaction: `CREATE INDEX` holds a
    /// SHARE lock, which searches pass (they read on) and writes to this store wait for. One
    /// builder per store across servers (a per-store advisory lock: another builder means this
    /// one has nothing to do); `IF NOT EXISTS` covers a build that finished meanwhile. Returns
    /// whether this call built it.
    async fn build(&self, pool: &PgPool) -> std::result::Result<bool, sqlx::Error> {
        let mut tx = pool.begin().await?;
        // Keyed by the table's OID: unique in the database, where store keys repeat across
        // schemas (each registry counts from 1).
        let mine: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, to_regclass($2)::oid::int4)")
            .bind(BUILD_LOCK)
            .bind(&self.table)
            .fetch_one(&mut *tx)
            .await?;
        if !mine {
            return Ok(false);
        }
        let rows: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {}", self.table))).fetch_one(&mut *tx).await?;
        // The graph in memory: each vector plus its neighbour lists, with room to spare.
        let per_row = 4 * self.dimension as u64 + 64 * u64::from(self.m) + 128;
        let mib = (u64::try_from(rows).unwrap_or(0) * per_row / (1 << 20)).clamp(BUILD_MEMORY_MIN_MIB, BUILD_MEMORY_MAX_MIB);
        sqlx::query(AssertSqlSafe(format!("SET LOCAL maintenance_work_mem = '{mib}MB'"))).execute(&mut *tx).await?;
        sqlx::query(AssertSqlSafe(self.ddl())).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
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
                        Ok(true) => tracing::info!(
                            vector_store_id = %store,
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "{PROVIDER_TYPE} built a vector store's HNSW index"
                        ),
                        Ok(false) => {}
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
        let index_now = self.hnsw_min_chunks == 0;
        let plan = |key| self.hnsw(StoreInfo { key, dimension: dim });
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
            let table = StoreInfo { key, dimension: dim }.table();
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
            if index_now && dim <= HNSW_MAX_DIMENSION {
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
                let table = StoreInfo { key, dimension: 0 }.table();
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
        for c in &chunks {
            check_vector(vector_store_id, info, &c.embedding, &format!("the embedding of chunk '{}'", c.chunk_id))?;
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
        let (op, _) = self.operator();
        let query = format!(
            // Ordered by the distance alone: a second sort key would keep PostgreSQL from
            // walking the HNSW index (it would sort every row: an exact scan). Ties are put in
            // id order below.
            "SELECT id, chunk, (embedding {op} $1::vector)::float8 AS distance FROM {} \
             ORDER BY embedding {op} $1::vector LIMIT $2",
            info.table()
        );
        let query = || {
            sqlx::query(AssertSqlSafe(query.clone()))
                .bind(Vector(embedding))
                .bind(i64::try_from(k).unwrap_or(i64::MAX))
        };
        let failed = |e: sqlx::Error| if table_gone(&e) { not_found(vector_store_id) } else { db_error(doing, e) };
        // HNSW returns at most ef_search rows: the connections' setting covers k up to it (one
        // round trip); a larger k widens it for this query, or searches exactly beyond its cap.
        let rows = if k <= self.ef_search {
            query().fetch_all(&self.pool).await.map_err(failed)?
        } else {
            let setting = if k <= EF_SEARCH_MAX {
                format!("SET LOCAL hnsw.ef_search = {k}")
            } else {
                "SET LOCAL enable_indexscan = off".to_owned()
            };
            let mut tx = self.pool.begin().await.map_err(|e| db_error(doing, e))?;
            sqlx::query(AssertSqlSafe(setting)).execute(&mut *tx).await.map_err(|e| db_error(doing, e))?;
            let rows = query().fetch_all(&mut *tx).await.map_err(failed)?;
            tx.commit().await.map_err(|e| db_error(doing, e))?;
            rows
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
