//! [`MilvusIndex`]: the [`VectorIo`] trait over one Milvus database, one collection per store.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{Error, HealthStatus, Result};
use lls_api_vector_io::{EmbeddedChunk, Filter, IndexSpec, ScoredChunk, SearchModes, VectorIo};
use milvus::v2::error::Error as MilvusError;
use milvus::v2::prelude::*;
use parking_lot::RwLock;
use serde_json::{Value, json};

use crate::connect::ConnectOptions;
use crate::error::{COLLECTION_NOT_FOUND, COLLECTION_NOT_LOADED, milvus_error, server_code};
use crate::expr::{METADATA_FIELD, filter_expression};
use crate::naming::collection_name;
use crate::settings::IndexSettings;

const ID_FIELD: &str = "chunk_id";
const CHUNK_FIELD: &str = "chunk";
const CONTENT_FIELD: &str = "content";
const VECTOR_FIELD: &str = "vector";
const SPARSE_FIELD: &str = "sparse";
/// Milvus's largest `VARCHAR` (bytes): the chunk JSON must fit; longer text is indexed for
/// keyword search up to this length.
pub const MAX_VARCHAR_BYTES: usize = 65_535;
/// Longest chunk id (bytes).
pub const MAX_CHUNK_ID_BYTES: usize = 1_024;
/// Milvus answers at most this many results per search (`topk`).
pub const MAX_TOP_K: usize = 16_384;
/// Milvus takes dense vectors of 2 to 32,768 dimensions.
pub const MAX_DIMENSION: usize = 32_768;
/// Bytes of row data per upsert call (Milvus refuses gRPC messages over 64 MiB).
const BATCH_BYTES: usize = 16 << 20;

/// The `VectorIo` of a Milvus server, shared by `remote::milvus` and `inline::milvus`.
pub struct MilvusIndex {
    client: ClientV2,
    settings: IndexSettings,
    provider: &'static str,
    /// Store id → dimension, read from the collection's schema once.
    dimensions: RwLock<HashMap<String, usize>>,
}

impl std::fmt::Debug for MilvusIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MilvusIndex").field("provider", &self.provider).field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// A search hit: `(chunk id, chunk JSON, raw distance)`.
type Hit = (String, String, f32);

impl MilvusIndex {
    /// Connects (and checks the server answers) for `provider` (its type, named in errors).
    pub async fn connect(provider: &'static str, options: &ConnectOptions, settings: IndexSettings) -> Result<Self> {
        let client = ClientV2::new(&options.sdk()).await.map_err(|e| {
            let mut err = milvus_error(provider, &format!("connecting to {}", options.uri), &e);
            // Not reaching the server in time is the server being unavailable.
            if matches!(
                err.kind(),
                lls_api_common::ErrorKind::Internal | lls_api_common::ErrorKind::UpstreamError | lls_api_common::ErrorKind::Timeout
            ) {
                err = Error::new(lls_api_common::ErrorKind::UpstreamUnavailable, err.message().to_owned()).with_provider(provider);
            }
            err
        })?;
        Ok(MilvusIndex { client, settings, provider, dimensions: RwLock::new(HashMap::new()) })
    }

    fn failed(&self, doing: &str, e: &MilvusError) -> Error {
        milvus_error(self.provider, doing, e)
    }

    /// A failure on store `id`: a missing collection is the store's 404 (and forgets it).
    fn store_failed(&self, id: &str, doing: &str, e: &MilvusError) -> Error {
        if server_code(e) == Some(COLLECTION_NOT_FOUND) {
            self.dimensions.write().remove(id);
            return not_found(id);
        }
        self.failed(doing, e)
    }

    /// The dimension of store `id`'s collection, `None` when it has none.
    async fn describe(&self, id: &str) -> Result<Option<usize>> {
        let request = DescribeCollectionRequest::builder()
            .collection_name(collection_name(id))
            .build()
            .map_err(|e| self.failed("describing a collection", &e))?;
        match self.client.describe_collection(request).await {
            Ok(d) => {
                let dimension = d
                    .description()
                    .get_schema()
                    .get_fields()
                    .iter()
                    .find(|f| f.get_name() == VECTOR_FIELD)
                    .map(|f| f.get_dimension() as usize)
                    .ok_or_else(|| {
                        Error::internal(format!(
                            "Milvus collection '{}' of vector store '{id}' has no '{VECTOR_FIELD}' field: it was not made by this provider",
                            collection_name(id)
                        ))
                    })?;
                Ok(Some(dimension))
            }
            Err(e) if server_code(&e) == Some(COLLECTION_NOT_FOUND) => Ok(None),
            Err(e) => Err(self.failed("describing a collection", &e)),
        }
    }

    async fn dimension(&self, id: &str) -> Result<usize> {
        if let Some(d) = self.dimensions.read().get(id) {
            return Ok(*d);
        }
        let d = self.describe(id).await?.ok_or_else(|| not_found(id))?;
        self.dimensions.write().insert(id.to_owned(), d);
        Ok(d)
    }

    fn schema(&self, id: &str, dimension: usize) -> CollectionSchema {
        CollectionSchema::new()
            .description(format!("llama-stack vector store {id}"))
            .add_field(FieldSchema::new().name(ID_FIELD).data_type(DataType::VarChar).max_length(MAX_CHUNK_ID_BYTES as u32).primary_key(true))
            .add_field(FieldSchema::new().name(CHUNK_FIELD).data_type(DataType::VarChar).max_length(MAX_VARCHAR_BYTES as u32))
            .add_field(
                FieldSchema::new().name(CONTENT_FIELD).data_type(DataType::VarChar).max_length(MAX_VARCHAR_BYTES as u32).enable_analyzer(true),
            )
            .add_field(FieldSchema::new().name(METADATA_FIELD).data_type(DataType::Json))
            .add_field(FieldSchema::new().name(VECTOR_FIELD).data_type(DataType::FloatVector).dimension(dimension as u32))
            .add_field(FieldSchema::new().name(SPARSE_FIELD).data_type(DataType::SparseFloatVector))
            .add_function(
                Function::new().name("content_bm25").function_type(FunctionType::Bm25).input_fields([CONTENT_FIELD]).output_fields([SPARSE_FIELD]),
            )
    }

    fn index_params(&self) -> Vec<IndexParam> {
        vec![
            IndexParam::new()
                .field_name(VECTOR_FIELD)
                .index_type(self.settings.index_type.milvus())
                .metric_type(self.settings.metric_type.milvus())
                .extra_params(self.settings.index_params_text()),
            IndexParam::new().field_name(SPARSE_FIELD).index_type(IndexType::SparseInvertedIndex).metric_type(MetricType::Bm25),
        ]
    }

    /// Runs one search on store `id`, loading the collection once if Milvus says it is not.
    async fn search(&self, id: &str, field: &str, vectors: SearchVectors, metric: MetricType, k: usize, filter: Option<&Filter>) -> Result<Vec<Hit>> {
        let doing = if field == SPARSE_FIELD { "searching text" } else { "searching vectors" };
        let mut builder = SearchRequest::builder()
            .collection_name(collection_name(id))
            .vector_field(field)
            .vectors(vectors)
            .output_fields([ID_FIELD, CHUNK_FIELD])
            .limit(k.min(MAX_TOP_K) as i64)
            .metric_type(metric)
            .consistency_level(self.settings.consistency.level());
        if field == VECTOR_FIELD && !self.settings.search_params.is_empty() {
            builder = builder.extra_params(self.settings.search_params_text());
        }
        if let Some(expr) = filter.and_then(filter_expression) {
            builder = builder.filter(expr);
        }
        let request = builder.build().map_err(|e| self.failed(doing, &e))?;
        let response = match self.client.search(request.clone()).await {
            Err(e) if server_code(&e) == Some(COLLECTION_NOT_LOADED) => {
                self.load(id).await?;
                self.client.search(request).await
            }
            other => other,
        }
        .map_err(|e| self.store_failed(id, doing, &e))?;
        let mut hits = Vec::new();
        for result in response.results() {
            let scores = result.get_scores();
            for row in result.rows().map_err(|e| self.failed(doing, &e))? {
                let chunk_id = row.get_str(ID_FIELD).map_err(|e| self.failed(doing, &e))?.to_owned();
                let chunk = row.get_str(CHUNK_FIELD).map_err(|e| self.failed(doing, &e))?.to_owned();
                let distance = scores.get(row.index()).copied().ok_or_else(|| {
                    self.failed(doing, &MilvusError::MalformedResponse("fewer scores than rows".into()))
                })?;
                hits.push((chunk_id, chunk, distance));
            }
        }
        Ok(hits)
    }

    async fn load(&self, id: &str) -> Result<()> {
        let request = LoadCollectionRequest::builder()
            .collection_name(collection_name(id))
            .build()
            .map_err(|e| self.failed("loading a collection", &e))?;
        self.client.load_collection(request).await.map_err(|e| self.store_failed(id, "loading a collection", &e))
    }

    /// The `k` nearest chunks to `embedding` scoring at least `score_threshold` whose metadata
    /// passes `filter`: what Milvus can evaluate goes into the search as an expression
    /// ([`filter_expression`]), the rest is checked on the results (which may then be fewer
    /// than `k`).
    pub async fn query_vector_filtered(
        &self,
        id: &str,
        embedding: &[f32],
        k: usize,
        score_threshold: f32,
        filter: Option<&Filter>,
    ) -> Result<Vec<ScoredChunk>> {
        let dimension = self.dimension(id).await?;
        lls_api_vector_io::check_embedding(id, dimension, embedding, "the query embedding")?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let metric = self.settings.metric_type;
        let hits = self.search(id, VECTOR_FIELD, SearchVectors::Float(vec![embedding.to_vec()]), metric.milvus(), k, filter).await?;
        decode(hits, |d| metric.score(d), score_threshold, filter)
    }

    /// The `k` best BM25 matches for `query` (Milvus's full-text search over the chunks'
    /// text) whose metadata passes `filter`, as [`Self::query_vector_filtered`] filters.
    pub async fn query_keyword_filtered(
        &self,
        id: &str,
        query: &str,
        k: usize,
        score_threshold: f32,
        filter: Option<&Filter>,
    ) -> Result<Vec<ScoredChunk>> {
        self.dimension(id).await?;
        if k == 0 || !query.chars().any(char::is_alphanumeric) {
            return Ok(Vec::new());
        }
        let text = truncate(&query.replace('\0', ""), MAX_VARCHAR_BYTES).to_owned();
        let hits = self.search(id, SPARSE_FIELD, SearchVectors::EmbeddedText(vec![text]), MetricType::Bm25, k, filter).await?;
        // BM25 is never negative; Milvus Lite reports it negated (its search sorts ascending).
        let hits = hits.into_iter().filter(|h| h.2 != 0.0).collect();
        decode(hits, f32::abs, score_threshold, filter)
    }
}

fn not_found(id: &str) -> Error {
    Error::not_found(format!("Vector store '{id}' not found"))
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Hits into results best first (ties by id), keeping scores of at least `threshold` and
/// metadata passing `filter`.
fn decode(hits: Vec<Hit>, score: impl Fn(f32) -> f32, threshold: f32, filter: Option<&Filter>) -> Result<Vec<ScoredChunk>> {
    let mut out = Vec::with_capacity(hits.len());
    for (id, json, distance) in hits {
        let s = score(distance);
        if s < threshold {
            continue;
        }
        let chunk = ScoredChunk::from_stored(id, &json, s)?;
        if filter.is_none_or(|f| f.matches(&chunk.chunk.metadata)) {
            out.push(chunk);
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id().cmp(b.id())));
    Ok(out)
}

/// A chunk as a Milvus row; 4xx when it cannot be stored.
fn row(c: &EmbeddedChunk) -> Result<Value> {
    if c.chunk_id.is_empty() || c.chunk_id.len() > MAX_CHUNK_ID_BYTES {
        return Err(Error::invalid(format!(
            "chunk id '{}' must be 1 to {MAX_CHUNK_ID_BYTES} bytes long to be stored in Milvus",
            truncate(&c.chunk_id, 64)
        )));
    }
    let json = serde_json::to_string(&c.chunk)?;
    if json.len() > MAX_VARCHAR_BYTES {
        return Err(Error::invalid(format!(
            "chunk '{}' is {} bytes as JSON; Milvus stores at most {MAX_VARCHAR_BYTES} bytes per chunk (split it into smaller chunks)",
            c.chunk_id,
            json.len()
        )));
    }
    let text = c.chunk.content_text().replace('\0', "");
    Ok(json!({
        ID_FIELD: c.chunk_id,
        CHUNK_FIELD: json,
        CONTENT_FIELD: truncate(&text, MAX_VARCHAR_BYTES),
        METADATA_FIELD: Value::Object(c.chunk.metadata.clone()),
        VECTOR_FIELD: c.embedding,
    }))
}

#[async_trait]
impl VectorIo for MilvusIndex {
    fn search_modes(&self) -> SearchModes {
        SearchModes { vector: true, keyword: true }
    }

    async fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        let (id, dim) = (spec.vector_store_id.as_str(), spec.embedding_dimension);
        if !(2..=MAX_DIMENSION).contains(&dim) {
            return Err(Error::invalid(format!("embedding_dimension {dim} is out of range: Milvus takes 2 to {MAX_DIMENSION}")));
        }
        let check = |existing: usize| {
            if existing == dim {
                Ok(())
            } else {
                Err(Error::conflict(format!("Vector store '{id}' already exists with dimension {existing}, not {dim}")))
            }
        };
        if let Some(existing) = self.describe(id).await? {
            self.dimensions.write().insert(id.to_owned(), existing);
            return check(existing);
        }
        let request = CreateCollectionRequest::builder()
            .collection_name(collection_name(id))
            .schema(self.schema(id, dim))
            .index_params(self.index_params())
            .consistency_level(self.settings.consistency.level())
            .build()
            .map_err(|e| self.failed("creating a collection", &e))?;
        if let Err(e) = self.client.create_collection(request).await {
            // Another server may have created it meanwhile.
            return match self.describe(id).await? {
                Some(existing) => check(existing),
                None => Err(self.failed("creating a collection", &e)),
            };
        }
        self.dimensions.write().insert(id.to_owned(), dim);
        Ok(())
    }

    async fn delete_index(&self, vector_store_id: &str) -> Result<()> {
        self.dimensions.write().remove(vector_store_id);
        let request = DropCollectionRequest::builder()
            .collection_name(collection_name(vector_store_id))
            .build()
            .map_err(|e| self.failed("dropping a collection", &e))?;
        match self.client.drop_collection(request).await {
            Err(e) if server_code(&e) != Some(COLLECTION_NOT_FOUND) => Err(self.failed("dropping a collection", &e)),
            _ => Ok(()),
        }
    }

    async fn insert(&self, vector_store_id: &str, chunks: Vec<EmbeddedChunk>) -> Result<()> {
        let dimension = self.dimension(vector_store_id).await?;
        for c in &chunks {
            lls_api_vector_io::check_embedding(vector_store_id, dimension, &c.embedding, &format!("the embedding of chunk '{}'", c.chunk_id))?;
        }
        if chunks.is_empty() {
            return Ok(());
        }
        let rows = tokio::task::spawn_blocking(move || {
            EmbeddedChunk::last_per_id(chunks).iter().map(|c| row(c).map(|r| (r.to_string().len(), r))).collect::<Result<Vec<_>>>()
        })
        .await
        .map_err(|e| Error::internal(format!("preparing chunks failed: {e}")))??;
        let mut batch = Vec::new();
        let mut bytes = 0;
        let mut rows = rows.into_iter().peekable();
        while let Some((size, r)) = rows.next() {
            bytes += size;
            batch.push(r);
            if bytes >= BATCH_BYTES || rows.peek().is_none() {
                let insert = InsertRequest::builder()
                    .collection_name(collection_name(vector_store_id))
                    .rows(std::mem::take(&mut batch))
                    .build()
                    .map_err(|e| self.failed("inserting chunks", &e))?;
                let request = UpsertRequest::builder().insert(insert).build().map_err(|e| self.failed("inserting chunks", &e))?;
                self.client.upsert(request).await.map_err(|e| self.store_failed(vector_store_id, "inserting chunks", &e))?;
                bytes = 0;
            }
        }
        Ok(())
    }

    async fn delete_chunks(&self, vector_store_id: &str, chunk_ids: &[String]) -> Result<()> {
        self.dimension(vector_store_id).await?;
        for ids in chunk_ids.chunks(1_000) {
            // An explicit `in` list: Milvus Lite does not take the SDK's filter template for ids.
            let list: Vec<String> = ids.iter().map(|id| Value::String(id.clone()).to_string()).collect();
            let request = DeleteRequest::builder()
                .collection_name(collection_name(vector_store_id))
                .filter(format!("{ID_FIELD} in [{}]", list.join(", ")))
                .consistency_level(self.settings.consistency.level())
                .build()
                .map_err(|e| self.failed("deleting chunks", &e))?;
            self.client.delete(request).await.map_err(|e| self.store_failed(vector_store_id, "deleting chunks", &e))?;
        }
        Ok(())
    }

    /// Searches restricted by the filter's Milvus expression, when it has one.
    fn filtered(self: Arc<Self>, filter: &Filter) -> Option<Arc<dyn VectorIo>> {
        crate::filter_expression(filter)?;
        Some(Arc::new(Filtered { index: self, filter: filter.clone() }))
    }

    async fn query_vector(&self, vector_store_id: &str, embedding: &[f32], k: usize, score_threshold: f32) -> Result<Vec<ScoredChunk>> {
        self.query_vector_filtered(vector_store_id, embedding, k, score_threshold, None).await
    }

    async fn query_keyword(&self, vector_store_id: &str, query: &str, k: usize, score_threshold: f32) -> Result<Vec<ScoredChunk>> {
        self.query_keyword_filtered(vector_store_id, query, k, score_threshold, None).await
    }

    async fn health(&self) -> HealthStatus {
        let request = match CheckHealthRequest::builder().build() {
            Ok(r) => r,
            Err(e) => return HealthStatus::error(self.failed("checking health", &e).to_string()),
        };
        match self.client.check_health(request).await {
            Ok(h) if h.is_healthy() => HealthStatus::ok(),
            Ok(_) => HealthStatus::error(format!("{}: Milvus reports itself unhealthy", self.provider)),
            Err(e) => HealthStatus::error(self.failed("checking health", &e).to_string()),
        }
    }
}

/// A [`MilvusIndex`] whose searches carry a metadata filter (see `VectorIo::filtered`); the
/// other operations are the index's own.
struct Filtered {
    index: Arc<MilvusIndex>,
    filter: Filter,
}

#[async_trait]
impl VectorIo for Filtered {
    fn search_modes(&self) -> SearchModes {
        self.index.search_modes()
    }
    async fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        self.index.create_index(spec).await
    }
    async fn delete_index(&self, vector_store_id: &str) -> Result<()> {
        self.index.delete_index(vector_store_id).await
    }
    async fn insert(&self, vector_store_id: &str, chunks: Vec<EmbeddedChunk>) -> Result<()> {
        self.index.insert(vector_store_id, chunks).await
    }
    async fn delete_chunks(&self, vector_store_id: &str, chunk_ids: &[String]) -> Result<()> {
        self.index.delete_chunks(vector_store_id, chunk_ids).await
    }
    async fn query_vector(&self, vector_store_id: &str, embedding: &[f32], k: usize, score_threshold: f32) -> Result<Vec<ScoredChunk>> {
        self.index.query_vector_filtered(vector_store_id, embedding, k, score_threshold, Some(&self.filter)).await
    }
    async fn query_keyword(&self, vector_store_id: &str, query: &str, k: usize, score_threshold: f32) -> Result<Vec<ScoredChunk>> {
        self.index.query_keyword_filtered(vector_store_id, query, k, score_threshold, Some(&self.filter)).await
    }
    async fn health(&self) -> HealthStatus {
        self.index.health().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_vector_io::Chunk;

    fn embedded(id: &str, text: &str) -> EmbeddedChunk {
        let mut metadata = serde_json::Map::new();
        metadata.insert("topic".into(), json!("ai"));
        EmbeddedChunk { chunk_id: id.into(), chunk: Chunk::text(text, metadata), embedding: vec![1.0, 0.0] }
    }

    #[test]
    fn rows_carry_every_field_and_refuse_what_milvus_cannot_hold() {
        let r = row(&embedded("c1", "hello")).unwrap();
        assert_eq!(r[ID_FIELD], "c1");
        assert_eq!(r[CONTENT_FIELD], "hello");
        assert_eq!(r[METADATA_FIELD]["topic"], "ai");
        assert_eq!(r[VECTOR_FIELD], json!([1.0, 0.0]));
        let back: Chunk = serde_json::from_str(r[CHUNK_FIELD].as_str().unwrap()).unwrap();
        assert_eq!(back.content, json!("hello"));
        let e = row(&embedded(&"x".repeat(MAX_CHUNK_ID_BYTES + 1), "t")).unwrap_err();
        assert_eq!(e.kind(), lls_api_common::ErrorKind::InvalidRequest);
        let e = row(&embedded("big", &"é".repeat(MAX_VARCHAR_BYTES))).unwrap_err();
        assert!(e.message().contains("at most 65535 bytes"), "{e}");
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }

    #[test]
    fn decode_sorts_thresholds_and_post_filters() {
        let json = |topic: &str| format!(r#"{{"content":"x","metadata":{{"topic":"{topic}"}}}}"#);
        let hits = vec![("b".into(), json("ai"), 0.5), ("a".into(), json("ai"), 0.5), ("c".into(), json("ml"), 0.9), ("d".into(), json("ai"), 0.1)];
        let filter = Filter::parse(&json!({"type": "eq", "key": "topic", "value": "ai"})).unwrap();
        let r = decode(hits.clone(), |d| d, 0.2, Some(&filter)).unwrap();
        assert_eq!(r.iter().map(ScoredChunk::id).collect::<Vec<_>>(), ["a", "b"]);
        let r = decode(hits, |d| d, 0.0, None).unwrap();
        assert_eq!(r.iter().map(ScoredChunk::id).collect::<Vec<_>>(), ["c", "a", "b", "d"]);
        assert_eq!(r[0].chunk.chunk_id.as_deref(), Some("c"));
    }
}
