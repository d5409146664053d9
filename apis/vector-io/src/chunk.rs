//! `Chunk`, `ChunkMetadata` and `QueryChunksResponse` in 0.3.5's wire shape.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Backend bookkeeping for a chunk, never shown to a model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChunkMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_window: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_tokenizer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_embedding_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_embedding_dimension: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_token_count: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_token_count: Option<usize>,
}

/// A piece of content stored in a vector store. `content` is 0.3.5's `InterleavedContent`: a
/// string, one content item, or a list of items (`{"type": "text", "text": …}`, images, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Chunk {
    pub content: Value,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
    /// `stored_chunk_id` is 0.3.5's field name, which Python clients send when they dump a
    /// `Chunk` by name rather than by alias.
    #[serde(
        default,
        alias = "stored_chunk_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub chunk_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_metadata: Option<ChunkMetadata>,
}

impl Chunk {
    /// A text chunk with metadata.
    pub fn text(text: impl Into<String>, metadata: Map<String, Value>) -> Self {
        Chunk {
            content: Value::String(text.into()),
            metadata,
            embedding: None,
            chunk_id: None,
            chunk_metadata: None,
        }
    }

    /// Moves a `chunk_id` given inside `metadata` to the top-level field, as 0.3.5 does on parse.
    pub fn normalized(mut self) -> Self {
        if let Some(id) = self.metadata.remove("chunk_id")
            && self.chunk_id.is_none()
        {
            self.chunk_id = Some(match id {
                Value::String(s) => s,
                other => other.to_string(),
            });
        }
        self
    }

    /// The document this chunk came from: `metadata.document_id`, else `chunk_metadata.document_id`.
    pub fn document_id(&self) -> Option<&str> {
        match self.metadata.get("document_id") {
            Some(Value::String(s)) => Some(s),
            Some(_) => None,
            None => self
                .chunk_metadata
                .as_ref()
                .and_then(|m| m.document_id.as_deref()),
        }
    }

    /// The text of the content: a string as is, text items joined with a space, other items skipped.
    pub fn content_text(&self) -> String {
        content_text(&self.content)
    }
}

/// Text of an `InterleavedContent` value.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(content_text)
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        Value::Object(item) => match (item.get("type").and_then(Value::as_str), item.get("text")) {
            (Some("text") | None, Some(Value::String(t))) => t.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// `POST /v1/vector-io/query`'s answer: chunks and their scores, best first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueryChunksResponse {
    pub chunks: Vec<Chunk>,
    pub scores: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chunk_id_in_metadata_moves_to_the_top_level() {
        let c: Chunk = serde_json::from_value(
            json!({"content": "hi", "metadata": {"chunk_id": "c1", "document_id": "d"}}),
        )
        .unwrap();
        let c = c.normalized();
        assert_eq!(c.chunk_id.as_deref(), Some("c1"));
        assert!(!c.metadata.contains_key("chunk_id"));
        assert_eq!(c.document_id(), Some("d"));
    }

    #[test]
    fn stored_chunk_id_is_read_as_chunk_id() {
        let c: Chunk =
            serde_json::from_value(json!({"content": "hi", "stored_chunk_id": "c9"})).unwrap();
        assert_eq!(c.chunk_id.as_deref(), Some("c9"));
    }

    #[test]
    fn content_text_reads_every_interleaved_shape() {
        assert_eq!(content_text(&json!("plain")), "plain");
        assert_eq!(content_text(&json!({"type": "text", "text": "one"})), "one");
        let mixed = json!([{"type": "text", "text": "a"}, {"type": "image", "image": {"url": {"uri": "x"}}}, "b"]);
        assert_eq!(content_text(&mixed), "a b");
        assert_eq!(content_text(&json!(3)), "");
    }

    #[test]
    fn document_id_falls_back_to_chunk_metadata() {
        let mut c = Chunk::text("x", Map::new());
        assert_eq!(c.document_id(), None);
        c.chunk_metadata = Some(ChunkMetadata {
            document_id: Some("doc".into()),
            ..Default::default()
        });
        assert_eq!(c.document_id(), Some("doc"));
    }
}
