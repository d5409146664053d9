//! Search results → model context, as 0.3.5's RAG tool writes it: the best chunks by score,
//! each rendered with `chunk_template` (Python `str.format` fields, metadata as a Python dict
//! repr) until `max_tokens_in_context` would be exceeded, between fixed header and footer lines.

use lls_api_common::{Error, Result};
use lls_api_tool_runtime::{ContentItem, InterleavedContent, RagQueryConfig, RagQueryResult};
use lls_api_vector_io::Chunk;
use lls_api_vector_io::chunk::content_text;
use serde_json::{Map, Number, Value};

/// A search hit and the store it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredChunk {
    pub chunk: Chunk,
    pub score: f32,
    pub vector_db_id: String,
}

/// The placeholders a chunk template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Index,
    Content,
    Metadata,
    ChunkMetadata,
    ChunkId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Field(Field),
}

/// A parsed `chunk_template`: `{index}` (1-based), `{chunk.content}`, `{metadata}` (what the
/// model may see), `{chunk.metadata}` and `{chunk.chunk_id}`; `{{` and `}}` are literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkTemplate(Vec<Segment>);

impl ChunkTemplate {
    pub fn parse(template: &str) -> Result<Self> {
        let bad = |m: String| Error::invalid(format!("query_config.chunk_template: {m}")).with_param("query_config.chunk_template");
        let mut segments = Vec::new();
        let mut text = String::new();
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '}' => return Err(bad("single '}' encountered (write '}}' for a literal brace)".into())),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(bad("unclosed '{'".into())),
                        }
                    }
                    let field = match name.as_str() {
                        "index" => Field::Index,
                        "chunk.content" => Field::Content,
                        "metadata" => Field::Metadata,
                        "chunk.metadata" => Field::ChunkMetadata,
                        "chunk.chunk_id" => Field::ChunkId,
                        other => {
                            return Err(bad(format!(
                                "unknown placeholder {{{other}}}; use {{index}}, {{chunk.content}}, {{metadata}}, {{chunk.metadata}} or {{chunk.chunk_id}}"
                            )));
                        }
                    };
                    segments.push(Segment::Text(std::mem::take(&mut text)));
                    segments.push(Segment::Field(field));
                }
                c => text.push(c),
            }
        }
        segments.push(Segment::Text(text));
        segments.retain(|s| !matches!(s, Segment::Text(t) if t.is_empty()));
        Ok(ChunkTemplate(segments))
    }

    fn render(&self, index: usize, hit: &ScoredChunk, metadata: &Map<String, Value>) -> String {
        let mut out = String::new();
        for s in &self.0 {
            match s {
                Segment::Text(t) => out.push_str(t),
                Segment::Field(Field::Index) => out.push_str(&index.to_string()),
                Segment::Field(Field::Content) => out.push_str(&match &hit.chunk.content {
                    Value::String(s) => s.clone(),
                    other => content_text(other),
                }),
                Segment::Field(Field::Metadata) => out.push_str(&lls_pycompat::repr_map(metadata)),
                Segment::Field(Field::ChunkMetadata) => out.push_str(&lls_pycompat::repr_map(&hit.chunk.metadata)),
                Segment::Field(Field::ChunkId) => out.push_str(&lls_pycompat::repr(&chunk_id(&hit.chunk))),
            }
        }
        out
    }
}

fn chunk_id(chunk: &Chunk) -> Value {
    chunk.chunk_metadata.as_ref().and_then(|m| m.chunk_id.clone()).or_else(|| chunk.chunk_id.clone()).map_or(Value::Null, Value::String)
}

/// Metadata keys kept from the backend's bookkeeping, and keys never shown to the model.
const INCLUDED_CHUNK_METADATA: [&str; 3] = ["chunk_id", "document_id", "source"];
const EXCLUDED_METADATA: [&str; 3] = ["token_count", "metadata_token_count", "vector_db_id"];

/// What `{metadata}` shows: `chunk_id`, `document_id` and `source` from the chunk's
/// bookkeeping, then its metadata (which wins on a shared key) without token counts.
fn context_metadata(chunk: &Chunk) -> Map<String, Value> {
    let bookkeeping = chunk.chunk_metadata.clone().unwrap_or_default();
    let mut out = Map::new();
    for key in INCLUDED_CHUNK_METADATA {
        let v = match key {
            "chunk_id" => chunk_id(chunk),
            "document_id" => bookkeeping.document_id.clone().map_or(Value::Null, Value::String),
            _ => bookkeeping.source.clone().map_or(Value::Null, Value::String),
        };
        out.insert(key.to_owned(), v);
    }
    for (k, v) in &chunk.metadata {
        if !EXCLUDED_METADATA.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

fn tokens_of(chunk: &Chunk) -> i64 {
    let n = |k: &str| chunk.metadata.get(k).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))).unwrap_or(0);
    n("token_count") + n("metadata_token_count")
}

/// A score as JSON, written as its shortest `f32` decimal (0.8, not 0.800000011920929).
fn score_value(score: f32) -> Value {
    format!("{score}").parse::<f64>().ok().and_then(Number::from_f64).map_or(Value::Null, Value::Number)
}

/// The answer to a query over `hits` from every store: `content` is `None` when there are
/// none. Hits are ordered by score (ties keep store order), cut to `max_chunks`, and rendered
/// while the running token count stays within `max_tokens_in_context`; the metadata lists the
/// rendered chunks.
pub fn format_results(
    mut hits: Vec<ScoredChunk>,
    config: &RagQueryConfig,
    template: &ChunkTemplate,
    query: &str,
) -> RagQueryResult {
    if hits.is_empty() {
        return RagQueryResult { content: None, metadata: Map::new() };
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    hits.truncate(usize::try_from(config.max_chunks).unwrap_or(usize::MAX));
    let text = |t: String| ContentItem::Text { text: t };
    let mut items = vec![text(format!(
        "knowledge_search tool found {} chunks:\nBEGIN of knowledge_search tool results.\n",
        hits.len()
    ))];
    let mut tokens = 0i64;
    let mut shown = 0;
    for (i, hit) in hits.iter().enumerate() {
        tokens += tokens_of(&hit.chunk);
        if tokens > config.max_tokens_in_context {
            tracing::debug!(chunks = shown, tokens, "knowledge_search: reached max_tokens_in_context");
            break;
        }
        items.push(text(template.render(i + 1, hit, &context_metadata(&hit.chunk))));
        shown += 1;
    }
    items.push(text("END of knowledge_search tool results.\n".into()));
    items.push(text(format!(
        "The above results were retrieved to help answer the user's query: \"{query}\". Use them as supporting information only in answering this query.\n"
    )));
    let shown = &hits[..shown];
    let mut metadata = Map::new();
    metadata.insert(
        "document_ids".into(),
        shown.iter().map(|h| h.chunk.document_id().map_or(Value::Null, |d| Value::String(d.to_owned()))).collect(),
    );
    metadata.insert("chunks".into(), shown.iter().map(|h| h.chunk.content.clone()).collect());
    metadata.insert("scores".into(), shown.iter().map(|h| score_value(h.score)).collect());
    metadata.insert("vector_db_ids".into(), shown.iter().map(|h| Value::String(h.vector_db_id.clone())).collect());
    RagQueryResult { content: Some(InterleavedContent::Items(items)), metadata }
}

#[cfg(test)]
mod tests {
    use lls_api_vector_io::ChunkMetadata;
    use serde_json::json;

    use super::*;

    fn hit(text: &str, score: f32, tokens: i64, store: &str) -> ScoredChunk {
        let metadata = json!({"document_id": format!("file-{text}"), "topic": "t", "token_count": tokens, "metadata_token_count": 2})
            .as_object()
            .cloned()
            .unwrap();
        let mut chunk = Chunk::text(text, metadata);
        chunk.chunk_metadata = Some(ChunkMetadata { chunk_id: Some(format!("c-{text}")), document_id: Some(format!("file-{text}")), ..Default::default() });
        ScoredChunk { chunk, score, vector_db_id: store.into() }
    }

    fn texts(r: &RagQueryResult) -> Vec<String> {
        match r.content.as_ref().unwrap() {
            InterleavedContent::Items(items) => items.iter().map(|i| i.text().unwrap().to_owned()).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn default_template() -> ChunkTemplate {
        ChunkTemplate::parse(lls_api_tool_runtime::DEFAULT_CHUNK_TEMPLATE).unwrap()
    }

    #[test]
    fn results_are_formatted_as_0_3_5_writes_them() {
        let hits = vec![hit("low", 0.25, 10, "vs1"), hit("high", 0.75, 10, "vs2")];
        let r = format_results(hits, &RagQueryConfig::default(), &default_template(), "what?");
        assert_eq!(
            texts(&r),
            [
                "knowledge_search tool found 2 chunks:\nBEGIN of knowledge_search tool results.\n",
                "Result 1\nContent: high\nMetadata: {'chunk_id': 'c-high', 'document_id': 'file-high', 'source': None, 'topic': 't'}\n",
                "Result 2\nContent: low\nMetadata: {'chunk_id': 'c-low', 'document_id': 'file-low', 'source': None, 'topic': 't'}\n",
                "END of knowledge_search tool results.\n",
                "The above results were retrieved to help answer the user's query: \"what?\". Use them as supporting information only in answering this query.\n",
            ]
        );
        assert_eq!(
            Value::Object(r.metadata),
            json!({"document_ids": ["file-high", "file-low"], "chunks": ["high", "low"], "scores": [0.75, 0.25], "vector_db_ids": ["vs2", "vs1"]})
        );
    }

    #[test]
    fn max_chunks_cuts_and_max_tokens_in_context_stops_rendering() {
        let hits: Vec<_> = (0..6).map(|i| hit(&format!("h{i}"), i as f32, 100, "vs")).collect();
        let config = RagQueryConfig { max_chunks: 4, max_tokens_in_context: 250, ..Default::default() };
        let r = format_results(hits, &config, &default_template(), "q");
        let t = texts(&r);
        // 4 found; each costs 102 tokens, so two fit in 250.
        assert!(t[0].starts_with("knowledge_search tool found 4 chunks:"), "{t:?}");
        assert_eq!(t.len(), 1 + 2 + 2);
        assert!(t[1].contains("Content: h5") && t[2].contains("Content: h4"), "{t:?}");
        assert_eq!(r.metadata["chunks"], json!(["h5", "h4"]));
        // Even the first chunk can be too big.
        let config = RagQueryConfig { max_tokens_in_context: 50, ..Default::default() };
        let r = format_results(vec![hit("a", 1.0, 100, "vs")], &config, &default_template(), "q");
        assert_eq!(texts(&r).len(), 3);
        assert_eq!(r.metadata["document_ids"], json!([]));
    }

    #[test]
    fn no_hits_is_no_content() {
        let r = format_results(Vec::new(), &RagQueryConfig::default(), &default_template(), "q");
        assert_eq!((r.content, r.metadata.len()), (None, 0));
    }

    #[test]
    fn templates_use_python_format_fields() {
        let t = ChunkTemplate::parse("[{index}] {{{chunk.chunk_id}}} {chunk.content} {chunk.metadata}").unwrap();
        let r = format_results(vec![hit("x", 1.0, 1, "vs")], &RagQueryConfig::default(), &t, "q");
        assert_eq!(
            texts(&r)[1],
            "[1] {'c-x'} x {'document_id': 'file-x', 'topic': 't', 'token_count': 1, 'metadata_token_count': 2}"
        );
        for bad in ["{index} {chunk.content} {oops}", "{index} {chunk.content} }", "{index} {chunk.content", "{index:>3}{chunk.content}"] {
            assert!(ChunkTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
