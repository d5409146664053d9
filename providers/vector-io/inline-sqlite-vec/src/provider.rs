//! [`SqliteVecProvider`]: the [`VectorIo`] trait over one SQLite file with sqlite-vec and FTS5.
//!
//! Reads go through a small connection pool (WAL: readers never wait for the writer); writes are
//! serialised by an async mutex so they queue without holding a thread, and each insert or
//! delete is one transaction. sqlx runs every connection on its own thread, so nothing here
//! blocks the async runtime.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{BuildContext, Error, HealthStatus, Result};
use lls_api_vector_io::{EmbeddedChunk, IndexSpec, ScoredChunk, SearchModes, VectorIo};
use parking_lot::RwLock;
use lls_sql::SqliteOpener;
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, Row, Sqlite, Transaction};

use crate::config::SqliteVecConfig;
use crate::error::db_error;
use crate::extension;
use crate::schema::{self, BATCH_ROWS, KNN_MAX_K, MAX_DIMENSION, Tables};

/// The path that keeps the database in memory (one connection, gone when the provider is).
pub const IN_MEMORY: &str = lls_sql::IN_MEMORY;

/// What the provider remembers of a store between calls (loaded from the registry table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StoreInfo {
    key: i64,
    dimension: usize,
}

/// The `inline::sqlite-vec` vector_io provider.
pub struct SqliteVecProvider {
    pool: SqlitePool,
    stores: RwLock<HashMap<String, StoreInfo>>,
    writer: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SqliteVecProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteVecProvider").field("stores", &self.stores.read().len()).finish_non_exhaustive()
    }
}

/// A chunk ready to write: id, JSON, vector bytes and searchable text.
struct PreparedChunk {
    id: String,
    json: String,
    vector: Vec<u8>,
    text: String,
}

impl SqliteVecProvider {
    /// The descriptor's build function.
    pub async fn build(_ctx: BuildContext, config: SqliteVecConfig) -> Result<Arc<dyn VectorIo>> {
        Ok(Arc::new(Self::open(Path::new(&config.db_path)).await?))
    }

    /// Opens (creating if needed) the database at `path` and loads its store registry.
    pub async fn open(path: &Path) -> Result<Self> {
        let pool = SqliteOpener::new()
            .after_connect(extension::register)
            .open(path)
            .await
            .map_err(|e| db_error(&format!("opening {}", path.display()), e))?;
        let version: String = sqlx::query_scalar("SELECT vec_version()")
            .fetch_one(&pool)
            .await
            .map_err(|e| db_error("loading the sqlite-vec extension", e))?;
        sqlx::query(schema::CREATE_REGISTRY).execute(&pool).await.map_err(|e| db_error("creating the store registry", e))?;
        let rows = sqlx::query(schema::LIST_STORES).fetch_all(&pool).await.map_err(|e| db_error("reading the store registry", e))?;
        let mut stores = HashMap::new();
        for row in rows {
            let id: String = row.try_get(0).map_err(|e| db_error("reading the store registry", e))?;
            let key: i64 = row.try_get(1).map_err(|e| db_error("reading the store registry", e))?;
            let dimension: i64 = row.try_get(2).map_err(|e| db_error("reading the store registry", e))?;
            stores.insert(id, StoreInfo { key, dimension: usize::try_from(dimension).unwrap_or_default() });
        }
        tracing::info!(path = %path.display(), sqlite_vec = %version, stores = stores.len(), "sqlite-vec database open");
        Ok(SqliteVecProvider { pool, stores: RwLock::new(stores), writer: tokio::sync::Mutex::new(()) })
    }

    fn store(&self, id: &str) -> Result<StoreInfo> {
        self.stores.read().get(id).copied().ok_or_else(|| Error::not_found(format!("Vector store '{id}' not found")))
    }

    async fn begin(&self, doing: &str) -> Result<Transaction<'static, Sqlite>> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(|e| db_error(doing, e))
    }
}

fn check_vector(store: &str, info: StoreInfo, v: &[f32], what: &str) -> Result<()> {
    lls_api_vector_io::check_embedding(store, info.dimension, v, what)
}

fn vector_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `1 / L2 distance` as upstream scores it, with an exact match scoring the largest finite
/// `f32` instead of infinity (JSON has no infinity).
fn score_from_distance(distance: f64) -> f32 {
    if distance > 0.0 { (1.0 / distance) as f32 } else { f32::MAX }
}

/// Serialises the chunks for writing (the CPU part of an insert, run off the runtime). A chunk
/// is stored as given (its own `embedding` field included, if the caller set one); an id that
/// comes again later in the batch replaces the earlier chunk in place.
fn prepare(chunks: Vec<EmbeddedChunk>) -> Result<Vec<PreparedChunk>> {
    EmbeddedChunk::last_per_id(chunks)
        .into_iter()
        .map(|c| {
            Ok(PreparedChunk {
                text: c.chunk.content_text(),
                json: serde_json::to_string(&c.chunk)?,
                vector: vector_bytes(&c.embedding),
                id: c.chunk_id,
            })
        })
        .collect()
}

/// Turns `(id, chunk JSON, distance-or-rank)` rows into results.
fn decode(rows: Vec<SqliteRow>, score: impl Fn(f64) -> f32, threshold: f32) -> Result<Vec<ScoredChunk>> {
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

type Tx = Transaction<'static, Sqlite>;

/// Removes the chunks with these ids, where present, from the store's three tables.
async fn delete_ids(tx: &mut Tx, t: &Tables, ids: &[&str]) -> Result<()> {
    let doing = "deleting chunks";
    for batch in ids.chunks(BATCH_ROWS) {
        let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(t.select_rows(batch.len())));
        for id in batch {
            q = q.bind(*id);
        }
        let rows: Vec<i64> = q.fetch_all(&mut **tx).await.map_err(|e| db_error(doing, e))?;
        if rows.is_empty() {
            continue;
        }
        // vec0 and FTS5 find a rowid by equality; one statement per row keeps that a lookup.
        for row in &rows {
            sqlx::query(AssertSqlSafe(t.delete_vector())).bind(row).execute(&mut **tx).await.map_err(|e| db_error(doing, e))?;
            sqlx::query(AssertSqlSafe(t.delete_text())).bind(row).execute(&mut **tx).await.map_err(|e| db_error(doing, e))?;
        }
        let mut q = sqlx::query(AssertSqlSafe(t.delete_chunk_rows(rows.len())));
        for row in &rows {
            q = q.bind(*row);
        }
        q.execute(&mut **tx).await.map_err(|e| db_error(doing, e))?;
    }
    Ok(())
}

/// Writes new chunks (their ids absent from the store) in multi-row statements of
/// [`BATCH_ROWS`]; vectors and text take the row id SQLite gave each chunk.
async fn insert_rows(tx: &mut Tx, t: &Tables, rows: &[PreparedChunk]) -> Result<()> {
    let doing = "inserting chunks";
    for batch in rows.chunks(BATCH_ROWS) {
        let mut q = sqlx::query(AssertSqlSafe(t.insert_chunks(batch.len())));
        for r in batch {
            q = q.bind(r.id.as_str()).bind(r.json.as_str());
        }
        let returned = q.fetch_all(&mut **tx).await.map_err(|e| db_error(doing, e))?;
        let mut row_of: HashMap<String, i64> = HashMap::with_capacity(returned.len());
        for r in returned {
            let row: i64 = r.try_get(0).map_err(|e| db_error(doing, e))?;
            let id: String = r.try_get(1).map_err(|e| db_error(doing, e))?;
            row_of.insert(id, row);
        }
        let mut vectors = sqlx::query(AssertSqlSafe(t.insert_vectors(batch.len())));
        let mut texts = sqlx::query(AssertSqlSafe(t.insert_text(batch.len())));
        for r in batch {
            let row = *row_of.get(&r.id).ok_or_else(|| Error::internal(format!("SQLite returned no row id for chunk '{}'", r.id)))?;
            vectors = vectors.bind(row).bind(r.vector.as_slice());
            texts = texts.bind(row).bind(r.text.as_str());
        }
        vectors.execute(&mut **tx).await.map_err(|e| db_error(doing, e))?;
        texts.execute(&mut **tx).await.map_err(|e| db_error(doing, e))?;
    }
    Ok(())
}

#[async_trait]
impl VectorIo for SqliteVecProvider {
    fn search_modes(&self) -> SearchModes {
        SearchModes { vector: true, keyword: true }
    }

    async fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        let (id, dim) = (spec.vector_store_id.as_str(), spec.embedding_dimension);
        if !(1..=MAX_DIMENSION).contains(&dim) {
            return Err(Error::invalid(format!("embedding_dimension {dim} is out of range: sqlite-vec takes 1 to {MAX_DIMENSION}")));
        }
        let _writing = self.writer.lock().await;
        if let Some(existing) = self.stores.read().get(id) {
            if existing.dimension == dim {
                return Ok(());
            }
            return Err(Error::conflict(format!(
                "Vector store '{id}' already exists with dimension {}, not {dim}",
                existing.dimension
            )));
        }
        let doing = "creating a vector store";
        let mut tx = self.begin(doing).await?;
        let key: i64 = sqlx::query_scalar(schema::INSERT_STORE)
            .bind(id)
            .bind(spec.embedding_model.as_str())
            .bind(dim as i64)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| db_error(doing, e))?;
        for ddl in Tables::for_key(key).create(dim) {
            sqlx::query(AssertSqlSafe(ddl)).execute(&mut *tx).await.map_err(|e| db_error(doing, e))?;
        }
        tx.commit().await.map_err(|e| db_error(doing, e))?;
        self.stores.write().insert(id.to_owned(), StoreInfo { key, dimension: dim });
        Ok(())
    }

    async fn delete_index(&self, vector_store_id: &str) -> Result<()> {
        let _writing = self.writer.lock().await;
        let Some(info) = self.stores.read().get(vector_store_id).copied() else {
            return Ok(());
        };
        let doing = "deleting a vector store";
        let mut tx = self.begin(doing).await?;
        for ddl in Tables::for_key(info.key).drop() {
            sqlx::query(AssertSqlSafe(ddl)).execute(&mut *tx).await.map_err(|e| db_error(doing, e))?;
        }
        sqlx::query(schema::DELETE_STORE).bind(info.key).execute(&mut *tx).await.map_err(|e| db_error(doing, e))?;
        tx.commit().await.map_err(|e| db_error(doing, e))?;
        self.stores.write().remove(vector_store_id);
        Ok(())
    }

    async fn insert(&self, vector_store_id: &str, chunks: Vec<EmbeddedChunk>) -> Result<()> {
        let info = self.store(vector_store_id)?;
        for c in &chunks {
            check_vector(vector_store_id, info, &c.embedding, &format!("the embedding of chunk '{}'", c.chunk_id))?;
        }
        if chunks.is_empty() {
            return Ok(());
        }
        let rows = tokio::task::spawn_blocking(move || prepare(chunks))
            .await
            .map_err(|e| Error::internal(format!("preparing chunks failed: {e}")))??;
        let _writing = self.writer.lock().await;
        // The store may have been dropped (or dropped and re-created) while we waited.
        if self.store(vector_store_id)? != info {
            return Err(Error::not_found(format!("Vector store '{vector_store_id}' not found")));
        }
        let t = Tables::for_key(info.key);
        let mut tx = self.begin("inserting chunks").await?;
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        delete_ids(&mut tx, &t, &ids).await?;
        insert_rows(&mut tx, &t, &rows).await?;
        tx.commit().await.map_err(|e| db_error("inserting chunks", e))
    }

    async fn delete_chunks(&self, vector_store_id: &str, chunk_ids: &[String]) -> Result<()> {
        let info = self.store(vector_store_id)?;
        if chunk_ids.is_empty() {
            return Ok(());
        }
        let _writing = self.writer.lock().await;
        if self.store(vector_store_id)? != info {
            return Err(Error::not_found(format!("Vector store '{vector_store_id}' not found")));
        }
        let t = Tables::for_key(info.key);
        let mut tx = self.begin("deleting chunks").await?;
        let ids: Vec<&str> = chunk_ids.iter().map(String::as_str).collect();
        delete_ids(&mut tx, &t, &ids).await?;
        tx.commit().await.map_err(|e| db_error("deleting chunks", e))
    }

    async fn query_vector(&self, vector_store_id: &str, embedding: &[f32], k: usize, score_threshold: f32) -> Result<Vec<ScoredChunk>> {
        let info = self.store(vector_store_id)?;
        check_vector(vector_store_id, info, embedding, "the query embedding")?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let t = Tables::for_key(info.key);
        let sql = if k <= KNN_MAX_K { t.knn() } else { t.scan() };
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(vector_bytes(embedding))
            .bind(i64::try_from(k).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("querying vectors", e))?;
        decode(rows, score_from_distance, score_threshold)
    }

    async fn query_keyword(&self, vector_store_id: &str, query: &str, k: usize, score_threshold: f32) -> Result<Vec<ScoredChunk>> {
        let info = self.store(vector_store_id)?;
        let Some(fts) = schema::fts_query(query) else {
            return Ok(Vec::new());
        };
        if k == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(AssertSqlSafe(Tables::for_key(info.key).keyword()))
            .bind(fts)
            .bind(i64::try_from(k).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("searching text", e))?;
        // bm25() is negative and lower is better; its negation is a positive, higher-is-better score.
        decode(rows, |rank| (-rank) as f32, score_threshold)
    }

    async fn health(&self) -> HealthStatus {
        match sqlx::query_scalar::<_, String>("SELECT vec_version()").fetch_one(&self.pool).await {
            Ok(_) => HealthStatus::ok(),
            Err(e) => HealthStatus::error(db_error("checking the database", e).to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::ErrorKind;
    use lls_api_vector_io::Chunk;
    use serde_json::Map;

    fn spec(id: &str, dim: usize) -> IndexSpec {
        IndexSpec { vector_store_id: id.into(), embedding_model: "m".into(), embedding_dimension: dim }
    }

    fn ec(id: &str, text: &str, v: Vec<f32>) -> EmbeddedChunk {
        let mut chunk = Chunk::text(text, Map::new());
        chunk.chunk_id = Some(id.into());
        EmbeddedChunk { chunk_id: id.into(), chunk, embedding: v }
    }

    async fn count(p: &SqliteVecProvider, table: &str) -> i64 {
        sqlx::query_scalar(AssertSqlSafe(format!(r#"SELECT count(*) FROM "{table}""#))).fetch_one(&p.pool).await.unwrap()
    }

    #[tokio::test]
    async fn vector_scores_are_one_over_l2_and_an_exact_match_is_max() {
        let p = SqliteVecProvider::open(Path::new(IN_MEMORY)).await.unwrap();
        p.create_index(&spec("s", 2)).await.unwrap();
        p.insert("s", vec![ec("a", "a", vec![0.0, 0.0]), ec("b", "b", vec![3.0, 4.0])]).await.unwrap();
        let r = p.query_vector("s", &[0.0, 0.0], 2, 0.0).await.unwrap();
        assert_eq!(r[0].id(), "a");
        assert_eq!(r[0].score, f32::MAX);
        assert!((r[1].score - 0.2).abs() < 1e-6, "{}", r[1].score);
    }

    #[tokio::test]
    async fn the_exhaustive_scan_beyond_k_4096_agrees_with_the_index() {
        let p = SqliteVecProvider::open(Path::new(IN_MEMORY)).await.unwrap();
        p.create_index(&spec("s", 3)).await.unwrap();
        let chunks = (0..20).map(|i| ec(&format!("c{i}"), "x", vec![i as f32, (i % 3) as f32, 1.0])).collect();
        p.insert("s", chunks).await.unwrap();
        let q = [7.3, 0.5, 1.0];
        let knn = p.query_vector("s", &q, 20, 0.0).await.unwrap();
        let scan = p.query_vector("s", &q, KNN_MAX_K + 1, 0.0).await.unwrap();
        assert_eq!(knn.iter().map(|c| (c.id(), c.score)).collect::<Vec<_>>(), scan.iter().map(|c| (c.id(), c.score)).collect::<Vec<_>>());
        assert!(p.query_vector("s", &q, 0, 0.0).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn keyword_scores_are_negated_bm25() {
        let p = SqliteVecProvider::open(Path::new(IN_MEMORY)).await.unwrap();
        p.create_index(&spec("s", 1)).await.unwrap();
        p.insert("s", vec![ec("a", "llama llama llama", vec![0.0]), ec("b", "one llama among many other words here", vec![1.0])]).await.unwrap();
        let r = p.query_keyword("s", "llama", 5, 0.0).await.unwrap();
        assert_eq!(r.iter().map(|c| c.id()).collect::<Vec<_>>(), ["a", "b"]);
        let t = Tables::for_key(p.store("s").unwrap().key);
        let raw: f64 = sqlx::query_scalar(AssertSqlSafe(format!(r#"SELECT bm25("{0}") AS r FROM "{0}" WHERE "{0}" MATCH 'llama' ORDER BY r LIMIT 1"#, t.text)))
            .fetch_one(&p.pool)
            .await
            .unwrap();
        assert!(raw < 0.0);
        assert!((r[0].score - (-raw) as f32).abs() < 1e-5, "{} vs {}", r[0].score, -raw);
        assert!(p.query_keyword("s", "?!", 5, 0.0).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn replacing_and_deleting_leave_no_stale_rows_in_any_table() {
        let p = SqliteVecProvider::open(Path::new(IN_MEMORY)).await.unwrap();
        p.create_index(&spec("s", 2)).await.unwrap();
        let t = Tables::for_key(p.store("s").unwrap().key);
        p.insert("s", vec![ec("a", "first", vec![0.0, 1.0]), ec("b", "second", vec![1.0, 0.0])]).await.unwrap();
        p.insert("s", vec![ec("a", "again", vec![0.0, 2.0])]).await.unwrap();
        for table in [&t.chunks, &t.vectors, &t.text] {
            assert_eq!(count(&p, table).await, 2, "{table}");
        }
        p.delete_chunks("s", &["a".into(), "b".into()]).await.unwrap();
        for table in [&t.chunks, &t.vectors, &t.text] {
            assert_eq!(count(&p, table).await, 0, "{table}");
        }
        p.delete_index("s").await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name LIKE 'lls_vs_%'").fetch_one(&p.pool).await.unwrap();
        assert_eq!(left, 0, "dropping the store left tables behind");
    }

    #[tokio::test]
    async fn bad_specs_and_vectors_are_client_errors() {
        let p = SqliteVecProvider::open(Path::new(IN_MEMORY)).await.unwrap();
        assert_eq!(p.create_index(&spec("s", 0)).await.unwrap_err().kind(), ErrorKind::InvalidRequest);
        assert_eq!(p.create_index(&spec("s", MAX_DIMENSION + 1)).await.unwrap_err().kind(), ErrorKind::InvalidRequest);
        p.create_index(&spec("s", 2)).await.unwrap();
        let e = p.create_index(&spec("s", 3)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        let e = p.insert("s", vec![ec("a", "a", vec![f32::NAN, 0.0])]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        let e = p.query_vector("s", &[1.0, 2.0, 3.0], 1, 0.0).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(e.message().contains("dimension 3") && e.message().contains("dimension 2"), "{e}");
    }

    #[tokio::test]
    async fn ids_that_would_clash_as_sql_identifiers_stay_separate() {
        let p = SqliteVecProvider::open(Path::new(IN_MEMORY)).await.unwrap();
        for id in ["vs-a", "vs_a", "vs a\"; DROP TABLE x; --"] {
            p.create_index(&spec(id, 1)).await.unwrap();
            p.insert(id, vec![ec("c", id, vec![1.0])]).await.unwrap();
        }
        for id in ["vs-a", "vs_a", "vs a\"; DROP TABLE x; --"] {
            let r = p.query_vector(id, &[1.0], 5, 0.0).await.unwrap();
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].chunk.content, serde_json::json!(id));
        }
    }

    #[tokio::test]
    async fn a_restart_keeps_the_registry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b.db");
        let p = SqliteVecProvider::open(&path).await.unwrap();
        p.create_index(&spec("s", 4)).await.unwrap();
        drop(p);
        let p = SqliteVecProvider::open(&path).await.unwrap();
        assert_eq!(p.store("s").unwrap().dimension, 4);
        assert!(p.health().await.status == lls_api_common::HealthState::Ok);
    }
}
