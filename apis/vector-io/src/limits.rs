//! How much one vector stores request may carry, each bound with OpenAI's documented limit
//! where it has one; past a bound the request is a 400 naming the field. The vector stores
//! service calls these `validate` methods first, so no oversized id or map is ever persisted.

use lls_api_common::Result;
use lls_api_common::limits::{
    MAX_ID_CHARS, MapLimits, MapValues, check_chars, check_id, check_len, check_map,
};

use crate::{
    AttachFileRequest, CreateFileBatchRequest, CreateVectorStoreRequest, InsertChunksRequest,
    UpdateFileRequest, UpdateVectorStoreRequest,
};

/// File ids per request (`file_ids` of a new store or of a file batch): OpenAI's file batches
/// take 1..=2000 files.
pub const MAX_FILE_IDS: usize = 2000;

/// A file id or a vector store id named by the client (OpenAI's are under 64 characters).
pub const MAX_ID: usize = MAX_ID_CHARS;

/// A store's `name` (OpenAI documents no limit).
pub const MAX_NAME_CHARS: usize = 256;

/// A file's `attributes`: OpenAI allows 16 pairs, keys of up to 64 characters, values that are
/// strings of up to 512 characters, booleans or numbers.
pub const ATTRIBUTES: MapLimits = MapLimits {
    max_keys: 16,
    max_key_chars: 64,
    max_value_chars: 512,
    values: MapValues::Scalars,
};

/// A store's `metadata`: OpenAI allows 16 pairs, keys of up to 64 characters and string values
/// of up to 512 characters. 0.3.5 takes any JSON value (clients put `embedding_dimension`
/// there as a number), so numbers, booleans and nested values pass, bounded by their JSON text.
pub const METADATA: MapLimits = MapLimits {
    max_keys: 16,
    max_key_chars: 64,
    max_value_chars: 512,
    values: MapValues::Any,
};

/// Chunks per `POST /v1/vector-io/insert` (no OpenAI counterpart): two embeddings requests'
/// worth of OpenAI's 2048 inputs.
pub const MAX_INSERT_CHUNKS: usize = 4096;

fn check_file_ids(ids: &[String]) -> Result<()> {
    check_len("file_ids", ids.len(), MAX_FILE_IDS)?;
    for (i, id) in ids.iter().enumerate() {
        check_id(&format!("file_ids[{i}]"), id, MAX_ID)?;
    }
    Ok(())
}

impl CreateVectorStoreRequest {
    pub fn validate(&self) -> Result<()> {
        if let Some(name) = &self.name {
            check_chars("name", name, MAX_NAME_CHARS)?;
        }
        check_file_ids(self.file_ids.as_deref().unwrap_or_default())?;
        if let Some(metadata) = &self.metadata {
            check_map("metadata", metadata, &METADATA)?;
        }
        for (field, id) in [
            ("provider_id", &self.provider_id),
            ("provider_vector_store_id", &self.provider_vector_store_id),
        ] {
            if let Some(id) = id {
                check_chars(field, id, MAX_ID)?;
            }
        }
        if let Some(e) = &self.expires_after {
            e.validate()?;
        }
        Ok(())
    }
}

impl UpdateVectorStoreRequest {
    pub fn validate(&self) -> Result<()> {
        if let Some(name) = &self.name {
            check_chars("name", name, MAX_NAME_CHARS)?;
        }
        if let Some(metadata) = &self.metadata {
            check_map("metadata", metadata, &METADATA)?;
        }
        if let Some(e) = &self.expires_after {
            e.validate()?;
        }
        Ok(())
    }
}

impl AttachFileRequest {
    pub fn validate(&self) -> Result<()> {
        check_id("file_id", &self.file_id, MAX_ID)?;
        if let Some(attributes) = &self.attributes {
            check_map("attributes", attributes, &ATTRIBUTES)?;
        }
        Ok(())
    }
}

impl UpdateFileRequest {
    pub fn validate(&self) -> Result<()> {
        check_map("attributes", &self.attributes, &ATTRIBUTES)
    }
}

impl CreateFileBatchRequest {
    pub fn validate(&self) -> Result<()> {
        check_file_ids(&self.file_ids)?;
        if let Some(attributes) = &self.attributes {
            check_map("attributes", attributes, &ATTRIBUTES)?;
        }
        Ok(())
    }
}

impl InsertChunksRequest {
    pub fn validate(&self) -> Result<()> {
        check_len("chunks", self.chunks.len(), MAX_INSERT_CHUNKS)?;
        for (i, c) in self.chunks.iter().enumerate() {
            if let Some(id) = &c.chunk_id {
                check_chars(&format!("chunks[{i}].chunk_id"), id, MAX_ID)?;
            }
        }
        Ok(())
    }
}

/// A vector store id from a path, before it is looked up (an oversized one is never a store).
pub fn check_store_id(id: &str) -> Result<()> {
    check_chars("vector_store_id", id, MAX_ID)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn param(r: Result<()>) -> Option<String> {
        r.err().and_then(|e| e.param().map(str::to_owned))
    }

    fn attach(body: Value) -> AttachFileRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn attributes_follow_openai() {
        assert!(
            attach(json!({"file_id": "f", "attributes": {"a": "x", "n": 1, "b": true}}))
                .validate()
                .is_ok()
        );
        assert_eq!(
            param(attach(json!({"file_id": ""})).validate()).as_deref(),
            Some("file_id")
        );
        assert_eq!(
            param(attach(json!({"file_id": "x".repeat(MAX_ID + 1)})).validate()).as_deref(),
            Some("file_id")
        );
        let many: serde_json::Map<String, Value> =
            (0..17).map(|i| (format!("k{i}"), json!(i))).collect();
        assert_eq!(
            param(attach(json!({"file_id": "f", "attributes": many})).validate()).as_deref(),
            Some("attributes")
        );
        let e = attach(json!({"file_id": "f", "attributes": {"a": "x".repeat(513)}}))
            .validate()
            .unwrap_err();
        assert_eq!(
            e.message(),
            "'attributes.a' must be at most 512 characters long (got 513)"
        );
        assert!(
            attach(json!({"file_id": "f", "attributes": {"a": {"nested": 1}}}))
                .validate()
                .is_err()
        );
        let update: UpdateFileRequest =
            serde_json::from_value(json!({"attributes": {"k".repeat(65): 1}})).unwrap();
        assert_eq!(param(update.validate()).as_deref(), Some("attributes"));
    }

    #[test]
    fn stores_batches_and_inserts_are_bounded() {
        let create = |body: Value| {
            serde_json::from_value::<CreateVectorStoreRequest>(body)
                .unwrap()
                .validate()
        };
        assert!(
            create(
                json!({"name": "n", "metadata": {"embedding_dimension": 384}, "file_ids": ["a"]})
            )
            .is_ok()
        );
        let ids: Vec<String> = (0..=MAX_FILE_IDS).map(|i| format!("file-{i}")).collect();
        assert_eq!(
            param(create(json!({"file_ids": ids}))).as_deref(),
            Some("file_ids")
        );
        assert_eq!(
            param(create(json!({"file_ids": ["ok", ""]}))).as_deref(),
            Some("file_ids[1]")
        );
        assert_eq!(
            param(create(json!({"name": "x".repeat(MAX_NAME_CHARS + 1)}))).as_deref(),
            Some("name")
        );
        assert_eq!(
            param(create(json!({"metadata": {"a": "x".repeat(513)}}))).as_deref(),
            Some("metadata.a")
        );
        let update: UpdateVectorStoreRequest =
            serde_json::from_value(json!({"metadata": {"k".repeat(65): "v"}})).unwrap();
        assert_eq!(param(update.validate()).as_deref(), Some("metadata"));

        let batch: CreateFileBatchRequest =
            serde_json::from_value(json!({"file_ids": ids})).unwrap();
        assert_eq!(param(batch.validate()).as_deref(), Some("file_ids"));

        let chunks: Vec<Value> = (0..=MAX_INSERT_CHUNKS)
            .map(|_| json!({"content": "c", "metadata": {}}))
            .collect();
        let insert: InsertChunksRequest =
            serde_json::from_value(json!({"vector_db_id": "vs", "chunks": chunks})).unwrap();
        assert_eq!(param(insert.validate()).as_deref(), Some("chunks"));
        assert!(check_store_id(&"v".repeat(MAX_ID + 1)).is_err());
    }
}
