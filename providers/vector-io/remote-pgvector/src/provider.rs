//! [`PgVectorProvider`]: the [`VectorIo`] trait over PostgreSQL with pgvector.
//!
//! One table per vector store (`lls_pgv_{key}`: id, chunk JSON, searchable text, `vector(dim)`
//! kept in the row, a generated `tsvector`, the row's index generation), with a GIN index for
//! full text and, once the store holds `hnsw_min_chunks` chunks, an HNSW index for the
//! configured metric, kept as [`crate::index`] says (built in one pass, bulk writes taken in
//! by the next build rather than row by row). The index is over the vectors in half precision
//! (`halfvec`, an expression index; for cosine of the vectors scaled to unit length first,
//! which keeps every value in range): half the pages to walk, up to 4,000 dimensions, and the
//! candidates it finds are ranked again by the full-precision vectors in the row, so scores
//! are exact. A pgvector older than 0.7 (no
//! `halfvec`) gets a full-precision index, as stores indexed before this scheme keep theirs.
//! A registry table maps store ids to their key and dimension. Nothing is cached in the
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
use crate::index::{Coverage, HNSW_MAX_DIMENSION, HNSW_MAX_DIMENSION_FULL, HnswParams, Index, IndexKeeper, IndexKind, StoreRef, indexed, operator};
use crate::wire::Vector;

/// The store registry.
const REGISTRY: &str = "lls_pgvector_stores";
/// The advisory lock schema changes take ("llspgvec" in ASCII).
const SCHEMA_LOCK: i64 = 0x6c6c_7370_6776_6563;
/// pgvector's `vector` type holds at most this many dimensions.
pub const MAX_DIMENSION: usize = 16_000;
/// The largest magnitude `halfvec` holds; L2 and inner-product stores (whose index casts the
/// vectors as they are) refuse values beyond it.
pub const HALFVEC_MAX: f32 = 65_504.0;
/// Rows per insert statement (four array parameters, whatever the count).
const BATCH_ROWS: usize = 1000;
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
pub(crate) fn is_sqlstate(e: &sqlx::Error, code: &str) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == code)
}

/// `42P01`: the store's table is gone (another server deleted the store meanwhile).
pub(crate) fn table_gone(e: &sqlx::Error) -> bool {
    is_sqlstate(e, "42P01")
}

/// A store as the registry has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StoreInfo {
    key: i64,
    dimension: usize,
    /// Its HNSW index, if it has one yet.
    index: Option<Index>,
    /// The generation bulk writes take.
    pending_gen: i32,
}

impl StoreInfo {
    fn table(&self) -> String {
        table_name(self.key)
    }

    fn store_ref(&self, id: &str) -> StoreRef {
        StoreRef { id: id.to_owned(), key: self.key, dimension: self.dimension }
    }
}

pub(crate) fn table_name(key: i64) -> String {
    format!("lls_pgv_{key}")
}

/// The `remote::pgvector` vector_io provider.
pub struct PgVectorProvider {
    pool: PgPool,
    metric: DistanceMetric,
    ef_search: usize,
    /// Builds and folds the stores' indexes (its tasks are the stack's, so shutdown sees them).
    keeper: IndexKeeper,
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
        let provider = Self::connect(&config.url(), &config).await?.with_tasks(ctx.tasks.clone());
        provider.keeper.resume();
        Ok(Arc::new(provider))
    }

    /// Runs the background index builds under `tasks` (a provider from [`PgVectorProvider::connect`]
    /// has a supervisor of its own).
    pub fn with_tasks(mut self, tasks: Tasks) -> Self {
        self.keeper = self.keeper.with_tasks(tasks);
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
        let mut params = HnswParams {
            kind: IndexKind::Half,
            metric: config.distance_metric,
            m: config.hnsw_m,
            ef_construction: config.hnsw_ef_construction,
            min_chunks: config.hnsw_min_chunks,
        };
        let provider = |params| PgVectorProvider {
            pool: pool.clone(),
            metric: config.distance_metric,
            ef_search: config.hnsw_ef_search as usize,
            keeper: IndexKeeper::new(pool.clone(), params, REGISTRY, Tasks::new()),
        };
        let setup = [
            "CREATE EXTENSION IF NOT EXISTS vector".to_owned(),
            format!(
                "CREATE TABLE IF NOT EXISTS {REGISTRY} (id TEXT PRIMARY KEY, key BIGSERIAL UNIQUE, \
                 dimension INTEGER NOT NULL, embedding_model TEXT NOT NULL)"
            ),
            // Registries and stores made before index generations: their rows are generation
            // 0, and a b-tree finds the pending ones. The ALTERs only where the column is
            // missing: they lock the table, and a store's would wait on a running index build.
            format!(
                "DO $$ DECLARE t text; BEGIN \
                 IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('{REGISTRY}') \
                   AND attname = 'pending_gen' AND NOT attisdropped) THEN \
                   ALTER TABLE {REGISTRY} ADD COLUMN pending_gen INTEGER NOT NULL DEFAULT 1; \
                 END IF; \
                 FOR t IN SELECT 'lls_pgv_' || key FROM {REGISTRY} \
                   WHERE to_regclass('lls_pgv_' || key) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute \
                   WHERE attrelid = to_regclass('lls_pgv_' || key) AND attname = 'gen' AND NOT attisdropped) LOOP \
                   EXECUTE format('ALTER TABLE %I ADD COLUMN gen INTEGER NOT NULL DEFAULT 0', t); \
                   EXECUTE format('CREATE INDEX %I ON %I (gen)', t || '_gen', t); \
                 END LOOP; END $$"
            ),
        ];
        let check = provider(params);
        if let Err(e) = check.change_schema("setting up", &setup, |tx| async { Ok(tx) }).await {
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
            .fetch_one(&pool)
            .await
            .map_err(|e| db_error("reading the pgvector version", e))?;
        if !half {
            tracing::warn!("{PROVIDER_TYPE}: this pgvector has no halfvec type (0.7 or later has): stores get full-precision HNSW indexes, of at most {HNSW_MAX_DIMENSION_FULL} dimensions");
            params.kind = IndexKind::Full;
        }
        Ok(provider(params))
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
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT key, dimension, pending_gen, {} FROM {REGISTRY} WHERE id = $1",
            crate::index::index_names_sql("('lls_pgv_' || key)")
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("reading the store registry", e))?;
        let row = row.ok_or_else(|| not_found(id))?;
        let failed = |e| db_error("reading the store registry", e);
        let key: i64 = row.try_get(0).map_err(failed)?;
        let dimension: i32 = row.try_get(1).map_err(failed)?;
        let pending_gen: i32 = row.try_get(2).map_err(failed)?;
        let names: Vec<String> = row.try_get(3).map_err(failed)?;
        let index = Index::current(&table_name(key), &names);
        Ok(StoreInfo { key, dimension: usize::try_from(dimension).unwrap_or_default(), index, pending_gen })
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
        let params = self.keeper.params();
        // `hnsw_min_chunks: 0`: an index over every row from the start, taking writes as they come.
        let index_now = params.min_chunks == 0 && dim <= crate::index::max_indexed_dimension(params.kind);
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
                     tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED, \
                     gen INTEGER NOT NULL DEFAULT 0)"
                ),
                // pgvector's type is stored out of line (EXTERNAL) in a row over 2 kB, as a
                // 384-d vector beside its chunk is: every exact scan would then read it back
                // from the TOAST table. MAIN keeps it in the row while it fits.
                format!("ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE MAIN"),
                format!("CREATE INDEX {table}_tsv ON {table} USING gin (tsv)"),
                format!("CREATE INDEX {table}_gen ON {table} (gen)"),
            ];
            if index_now {
                ddl.push(params.ddl(&table, dim, Index { kind: params.kind, coverage: Coverage::All }));
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
        // An index build under way on the store's table (this server's or another's) would
        // hold up the DROP, and every schema change queued behind it, until it ended, only to
        // fail: it is cancelled first. Best effort: without the right to cancel it, the DROP
        // waits.
        let cancelled = sqlx::query(AssertSqlSafe(format!(
            "SELECT pg_cancel_backend(p.pid) FROM pg_stat_progress_create_index p JOIN {REGISTRY} r \
             ON p.relid = to_regclass('lls_pgv_' || r.key) WHERE r.id = $1"
        )))
        .bind(&id)
        .execute(&self.pool)
        .await;
        if let Err(e) = cancelled {
            tracing::debug!(vector_store_id = %id, "{PROVIDER_TYPE}: cancelling an index build before deleting the store failed: {e}");
        }
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
        let kind = info.index.map_or(self.keeper.params().kind, |i| i.kind);
        for c in &chunks {
            let what = format!("the embedding of chunk '{}'", c.chunk_id);
            check_vector(vector_store_id, info, &c.embedding, &what)?;
            check_indexable(kind, self.metric, info, &c.embedding, &what)?;
        }
        if chunks.is_empty() {
            return Ok(());
        }
        // The store is not quiet (its pending rows not due their index) while this write runs.
        let _writing = self.keeper.writing(info.key);
        let rows = tokio::task::spawn_blocking(move || prepare(chunks))
            .await
            .map_err(|e| Error::internal(format!("preparing chunks failed: {e}")))??;
        let doing = "inserting chunks";
        let table = info.table();
        // A small write to an indexed store goes into the index now; others are pending until
        // the next build or fold takes them in (a rewritten row too: it is a new row version).
        let generation = Index::generation_for(info.index, rows.len(), info.pending_gen);
        let pending = !info.index.is_some_and(|i| i.covers(generation));
        // One statement per batch whatever its size (the same prepared statement every time):
        // the columns as arrays, the embeddings in binary.
        let sql = format!(
            "INSERT INTO {table} (id, chunk, content, embedding, gen) \
             SELECT u.*, $5::int4 FROM unnest($1::text[], $2::text[], $3::text[], $4::vector[]) u \
             ON CONFLICT (id) DO UPDATE SET chunk = EXCLUDED.chunk, content = EXCLUDED.content, embedding = EXCLUDED.embedding, \
             gen = EXCLUDED.gen"
        );
        let mut tx = self.pool.begin().await.map_err(|e| db_error(doing, e))?;
        for batch in rows.chunks(BATCH_ROWS) {
            sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(batch.iter().map(|r| r.id.as_str()).collect::<Vec<_>>())
                .bind(batch.iter().map(|r| r.json.as_str()).collect::<Vec<_>>())
                .bind(batch.iter().map(|r| r.text.as_str()).collect::<Vec<_>>())
                .bind(batch.iter().map(|r| Vector(&r.vector)).collect::<Vec<_>>())
                .bind(generation)
                .execute(&mut *tx)
                .await
                .map_err(|e| if table_gone(&e) { not_found(vector_store_id) } else { db_error(doing, e) })?;
        }
        tx.commit().await.map_err(|e| db_error(doing, e))?;
        if pending {
            self.keeper.wrote_pending(info.store_ref(vector_store_id), info.index, rows.len() as u64).await;
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
        // A generation index covers the rows up to its generation: the pending ones are scanned
        // exactly beside its walk (a b-tree on `gen` finds them), and the two lists merged.
        let exact = format!(
            "SELECT id, chunk, (embedding {op} $1::vector)::float8 AS distance FROM {table} \
             ORDER BY embedding {op} $1::vector LIMIT $2"
        );
        let walk = |index: Index, filter: &str| {
            let (column, param) = (
                indexed(index.kind, self.metric, info.dimension, "embedding"),
                indexed(index.kind, self.metric, info.dimension, "$1::vector"),
            );
            format!(
                "SELECT id, chunk, (embedding {op} $1::vector)::float8 AS distance FROM \
                 (SELECT id, chunk, embedding FROM {table} {filter} ORDER BY {column} {op} {param} LIMIT $2) candidates"
            )
        };
        let query = match info.index {
            Some(_) if k > EF_SEARCH_MAX => exact,
            Some(index @ Index { kind: IndexKind::Half, coverage: Coverage::All }) => format!("{} ORDER BY distance LIMIT $2", walk(index, "")),
            Some(index @ Index { coverage: Coverage::UpTo(g), .. }) => format!(
                "SELECT id, chunk, distance FROM ({} UNION ALL (SELECT id, chunk, (embedding {op} $1::vector)::float8 AS distance \
                 FROM {table} WHERE gen > {g} ORDER BY embedding {op} $1::vector LIMIT $2)) found ORDER BY distance LIMIT $2",
                walk(index, &format!("WHERE gen <= {g}"))
            ),
            Some(Index { kind: IndexKind::Full, coverage: Coverage::All }) | None => exact,
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
            Some(Index { kind: IndexKind::Full, coverage: Coverage::All }) => Some("SET LOCAL enable_indexscan = off".to_owned()),
            Some(_) | None => None,
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
    use crate::index::QUIET;

    const POSTGRES: Prerequisite = Prerequisite {
        what: "PostgreSQL with pgvector (LLS_TEST_POSTGRES_URL)",
        how: "export LLS_TEST_POSTGRES_URL=$(scripts/postgres.sh start)",
        opt_out: "LLS_TEST_NO_POSTGRES",
    };

    /// `LLS_TEST_POSTGRES_URL`, or `None` when the test opted out of PostgreSQL (it then says
    /// so, naming `test` and `why` it needs the database).
    fn postgres_url(test: &str, why: &str) -> Option<String> {
        let url = std::env::var("LLS_TEST_POSTGRES_URL").ok().filter(|u| !u.trim().is_empty());
        POSTGRES.require(test, url, why)
    }

    #[tokio::test]
    async fn every_pooled_connection_searches_as_wide_as_configured() {
        let Some(url) = postgres_url("pgvector ef_search per connection", "it reads the setting back") else { return };
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

    /// `url` with connections on a fresh schema (then `public`, where the extension is).
    async fn fresh_schema(url: &str, name: &str) -> String {
        let admin = sqlx::PgPool::connect(url).await.unwrap();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let schema = format!("pgv_unit_{name}_{}_{}", std::process::id(), nanos % 1_000_000_000_000);
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-c%20search_path%3D{schema}%2Cpublic")
    }

    #[tokio::test]
    async fn pending_rows_a_stopped_server_left_are_indexed_after_the_next_start() {
        let Some(url) = postgres_url("pgvector upkeep after a start", "it builds an index") else { return };
        drop(PgVectorProvider::connect(&url, &serde_json::from_value(serde_json::json!({})).unwrap()).await.unwrap());
        let url = fresh_schema(&url, "resume").await;
        let config: PgVectorConfig = serde_json::from_value(serde_json::json!({"distance_metric": "l2", "hnsw_min_chunks": 50})).unwrap();
        let first = Tasks::new();
        let p = PgVectorProvider::connect(&url, &config).await.unwrap().with_tasks(first.clone());
        p.create_index(&IndexSpec { vector_store_id: "left".into(), embedding_model: "m".into(), embedding_dimension: 2 }).await.unwrap();
        let chunks = (0..60)
            .map(|i| {
                let mut chunk = lls_api_vector_io::Chunk::text("x", serde_json::Map::new());
                chunk.chunk_id = Some(format!("c{i}"));
                EmbeddedChunk { chunk_id: format!("c{i}"), chunk, embedding: vec![i as f32, 1.0] }
            })
            .collect();
        p.insert("left", chunks).await.unwrap();
        // The server stops before the store is quiet: its watch ends with it.
        first.shutdown(std::time::Duration::from_secs(5)).await;
        let indexes = || async {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexdef LIKE '%USING hnsw%'")
                .fetch_one(&p.pool)
                .await
                .unwrap()
        };
        tokio::time::sleep(QUIET + std::time::Duration::from_millis(500)).await;
        assert_eq!(indexes().await, 0);
        let again = PgVectorProvider::connect(&url, &config).await.unwrap().with_tasks(Tasks::new());
        again.keeper.resume();
        for _ in 0..600 {
            if indexes().await == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(indexes().await, 1, "the next start built the index");
    }

    #[tokio::test]
    async fn a_deleted_stores_index_has_nothing_to_keep() {
        let Some(url) = postgres_url("pgvector upkeep of a deleted store", "it looks up the store's table") else { return };
        let config: PgVectorConfig = serde_json::from_value(serde_json::json!({})).unwrap();
        let p = PgVectorProvider::connect(&url, &config).await.unwrap();
        // A quiet watch that outlived its store ends: the table is gone, nobody holds its lock.
        let gone = StoreRef { id: "gone".into(), key: i64::MAX, dimension: 3 };
        assert_eq!(p.keeper.upkeep(&gone, true).await.unwrap(), crate::index::Upkeep::Nothing);
    }
}
