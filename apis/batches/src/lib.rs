//! The batches API (OpenAI's `/v1/batches`): a batch runs every request of a JSONL file from
//! the files API against one endpoint (`/v1/chat/completions`, `/v1/completions`,
//! `/v1/embeddings`, and `/v1/responses` where the stack serves the Responses API) in the
//! background and writes the answers and the failures as JSONL files.
//! This crate holds OpenAI's batch object, the create and list shapes, the checks a create
//! request gets before any batch exists, and the [`Batches`] trait the one batches provider
//! (`inline::reference`) implements.

use std::collections::BTreeMap;
use async_trait::async_trait;
use lls_api_common::limits::{MapLimits, MapValues, check_map, type_name};
use lls_api_common::{Api, ApiSpec, Error, RequestContext, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The endpoints a batch may target: 0.3.5's three and, as OpenAI offers it, `/v1/responses`.
pub const ENDPOINTS: [&str; 4] = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"];
/// The only completion window OpenAI offers.
pub const COMPLETION_WINDOW: &str = "24h";
/// Seconds a batch has to finish (its `completion_window`).
pub const COMPLETION_WINDOW_SECONDS: i64 = 24 * 60 * 60;
/// A batch's `metadata`: OpenAI allows 16 pairs, keys of up to 64 characters and string values
/// of up to 512 characters.
pub const METADATA: MapLimits = MapLimits { max_keys: 16, max_key_chars: 64, max_value_chars: 512, values: MapValues::Strings };
/// The default and largest page of `GET /v1/batches`.
pub const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 100;

/// Where a batch is in its life: `validating` → `in_progress` → `finalizing` → `completed`;
/// or `failed` (the input did not validate), `expired` (not done within the window),
/// `cancelling` → `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Validating,
    Failed,
    InProgress,
    Finalizing,
    Completed,
    Expired,
    Cancelling,
    Cancelled,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Validating => "validating",
            BatchStatus::Failed => "failed",
            BatchStatus::InProgress => "in_progress",
            BatchStatus::Finalizing => "finalizing",
            BatchStatus::Completed => "completed",
            BatchStatus::Expired => "expired",
            BatchStatus::Cancelling => "cancelling",
            BatchStatus::Cancelled => "cancelled",
        }
    }

    /// No more work happens to a batch in this status.
    pub fn is_terminal(self) -> bool {
        matches!(self, BatchStatus::Failed | BatchStatus::Completed | BatchStatus::Expired | BatchStatus::Cancelled)
    }
}

/// One reason a batch failed validation (OpenAI's `BatchError`): `line` is the 1-based line
/// of the input file, `param` the field at fault (`body.model`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BatchError {
    pub code: String,
    pub line: Option<u64>,
    pub message: String,
    pub param: Option<String>,
}

impl BatchError {
    pub fn new(code: &str, line: Option<u64>, message: impl Into<String>, param: Option<&str>) -> Self {
        BatchError { code: code.to_owned(), line, message: message.into(), param: param.map(str::to_owned) }
    }
}

/// `errors` of a batch: always a list object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BatchErrors {
    /// Always `"list"`.
    #[serde(default = "list_object")]
    pub object: String,
    pub data: Vec<BatchError>,
}

impl BatchErrors {
    pub fn new(data: Vec<BatchError>) -> Self {
        BatchErrors { object: list_object(), data }
    }
}

fn list_object() -> String {
    "list".to_owned()
}

/// How many requests the batch has, and how many ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequestCounts {
    pub total: u64,
    pub completed: u64,
    pub failed: u64,
}

/// Tokens the batch's successful requests used (OpenAI's batch `usage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BatchUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub input_tokens_details: InputTokensDetails,
    pub output_tokens_details: OutputTokensDetails,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InputTokensDetails {
    pub cached_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutputTokensDetails {
    pub reasoning_tokens: u64,
}

/// OpenAI's batch object. Every field is written, absent ones as `null`, as OpenAI does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BatchObject {
    /// `batch_` and hex digits.
    pub id: String,
    /// Always `"batch"`.
    pub object: String,
    pub endpoint: String,
    #[serde(default)]
    pub errors: Option<BatchErrors>,
    pub input_file_id: String,
    pub completion_window: String,
    pub status: BatchStatus,
    #[serde(default)]
    pub output_file_id: Option<String>,
    #[serde(default)]
    pub error_file_id: Option<String>,
    pub created_at: i64,
    #[serde(default)]
    pub in_progress_at: Option<i64>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub finalizing_at: Option<i64>,
    #[serde(default)]
    pub completed_at: Option<i64>,
    #[serde(default)]
    pub failed_at: Option<i64>,
    #[serde(default)]
    pub expired_at: Option<i64>,
    #[serde(default)]
    pub cancelling_at: Option<i64>,
    #[serde(default)]
    pub cancelled_at: Option<i64>,
    #[serde(default)]
    pub request_counts: Option<RequestCounts>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// The model of the batch's requests (the first request's, as OpenAI reports one).
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub usage: Option<BatchUsage>,
}

/// `POST /v1/batches`. `metadata` is checked by [`CreateBatchRequest::validate`] rather than
/// typed, so a wrong value gets OpenAI's message naming its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateBatchRequest {
    /// A file of the files API holding one request per line (`{custom_id, method, url, body}`).
    pub input_file_id: String,
    /// The endpoint every request goes to: `/v1/chat/completions`, `/v1/completions`,
    /// `/v1/embeddings` or `/v1/responses`.
    pub endpoint: String,
    /// Always `"24h"`.
    pub completion_window: String,
    /// Up to 16 string pairs.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub metadata: Option<Value>,
    /// Llama Stack's extension: the same key with the same parameters answers the batch it
    /// created; with other parameters it is a 409.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

impl CreateBatchRequest {
    /// The checks before a batch exists (each a 400 naming the field, with OpenAI's
    /// `invalid_value` code); answers the metadata as string pairs.
    pub fn validate(&self) -> Result<Option<BTreeMap<String, String>>> {
        if !ENDPOINTS.contains(&self.endpoint.as_str()) {
            return Err(Error::invalid(format!(
                "Invalid value: '{}'. Supported values for 'endpoint' are: {}.",
                self.endpoint,
                ENDPOINTS.map(|e| format!("'{e}'")).join(", ")
            ))
            .with_param("endpoint")
            .with_code("invalid_value"));
        }
        if self.completion_window != COMPLETION_WINDOW {
            return Err(Error::invalid(format!(
                "Invalid value: '{}'. Supported values for 'completion_window' are: '{COMPLETION_WINDOW}'.",
                self.completion_window
            ))
            .with_param("completion_window")
            .with_code("invalid_value"));
        }
        if self.input_file_id.trim().is_empty() {
            return Err(Error::invalid("'input_file_id' must not be empty").with_param("input_file_id"));
        }
        if self.idempotency_key.as_deref().is_some_and(str::is_empty) {
            return Err(Error::invalid("'idempotency_key' must not be empty").with_param("idempotency_key"));
        }
        self.metadata.as_ref().filter(|m| !m.is_null()).map(metadata_pairs).transpose()
    }
}

/// Metadata as OpenAI takes it: an object of string pairs within [`METADATA`].
fn metadata_pairs(value: &Value) -> Result<BTreeMap<String, String>> {
    let Value::Object(map) = value else {
        return Err(Error::invalid(format!(
            "Invalid type for 'metadata': expected an object, but got {} instead.",
            type_name(value)
        ))
        .with_param("metadata")
        .with_code("invalid_type"));
    };
    check_map("metadata", map, &METADATA)?;
    Ok(map.iter().filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned()))).collect())
}

/// `GET /v1/batches` parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListBatchesQuery {
    /// The id of the batch to list after (batches come newest first).
    #[serde(default)]
    pub after: Option<String>,
    /// 1 to 100; 20 when absent.
    #[serde(default)]
    pub limit: Option<i64>,
}

/// A page of batches, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListBatchesResponse {
    /// Always `"list"`.
    pub object: String,
    pub data: Vec<BatchObject>,
    pub first_id: Option<String>,
    pub last_id: Option<String>,
    pub has_more: bool,
}

/// The batches API: create, read, list and cancel batches. Every id not the caller's (or not
/// there) is a 404; cancelling a batch that ended is a 409.
#[async_trait]
pub trait Batches: Send + Sync {
    async fn create_batch(&self, ctx: &RequestContext, request: CreateBatchRequest) -> Result<BatchObject>;
    async fn retrieve_batch(&self, ctx: &RequestContext, batch_id: &str) -> Result<BatchObject>;
    async fn cancel_batch(&self, ctx: &RequestContext, batch_id: &str) -> Result<BatchObject>;
    async fn list_batches(&self, ctx: &RequestContext, query: ListBatchesQuery) -> Result<ListBatchesResponse>;
}

/// The batches API: providers build `dyn Batches`; the service routes to the one configured.
#[derive(Debug)]
pub struct BatchesApi;

impl ApiSpec for BatchesApi {
    const API: Api = Api::Batches;
    type Provider = dyn Batches;
    type Service = dyn Batches;
}

/// Registers a batches provider; `build` must return `Arc<dyn Batches>`.
#[macro_export]
macro_rules! register_provider {
    ($($body:tt)*) => {
        $crate::__common::__register_provider! { spec: $crate::BatchesApi, $($body)* }
    };
}

#[doc(hidden)]
pub use lls_api_common as __common;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(body: Value) -> CreateBatchRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn endpoint_and_window_are_checked_with_openai_codes() {
        let e = request(json!({"input_file_id": "f", "endpoint": "/v1/nope", "completion_window": "24h"})).validate().unwrap_err();
        assert_eq!(e.param(), Some("endpoint"));
        assert_eq!(e.code(), Some("invalid_value"));
        assert!(e.message().contains("/v1/nope") && e.message().to_lowercase().contains("supported values"));
        let e = request(json!({"input_file_id": "f", "endpoint": "/v1/embeddings", "completion_window": "1h"})).validate().unwrap_err();
        assert_eq!(e.param(), Some("completion_window"));
    }

    #[test]
    fn metadata_must_be_string_pairs_within_openai_limits() {
        let ok = request(json!({"input_file_id": "f", "endpoint": "/v1/embeddings", "completion_window": "24h", "metadata": {"a": "b"}}));
        assert_eq!(ok.validate().unwrap().unwrap()["a"], "b");
        let bad = request(json!({"input_file_id": "f", "endpoint": "/v1/embeddings", "completion_window": "24h", "metadata": {"tags": ["x"]}}));
        let e = bad.validate().unwrap_err();
        assert_eq!(e.param(), Some("metadata.tags"));
        assert!(e.message().contains("string"));
        let many: serde_json::Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
        let e = request(json!({"input_file_id": "f", "endpoint": "/v1/embeddings", "completion_window": "24h", "metadata": many})).validate().unwrap_err();
        assert!(e.message().contains("at most 16"));
        let none = request(json!({"input_file_id": "f", "endpoint": "/v1/embeddings", "completion_window": "24h", "metadata": null}));
        assert_eq!(none.validate().unwrap(), None);
    }

    #[test]
    fn a_batch_object_writes_every_field() {
        let batch = BatchObject {
            id: "batch_1".into(),
            object: "batch".into(),
            endpoint: "/v1/embeddings".into(),
            errors: None,
            input_file_id: "file-1".into(),
            completion_window: "24h".into(),
            status: BatchStatus::Validating,
            output_file_id: None,
            error_file_id: None,
            created_at: 1,
            in_progress_at: None,
            expires_at: Some(2),
            finalizing_at: None,
            completed_at: None,
            failed_at: None,
            expired_at: None,
            cancelling_at: None,
            cancelled_at: None,
            request_counts: None,
            metadata: None,
            model: None,
            usage: None,
        };
        let v = serde_json::to_value(&batch).unwrap();
        assert_eq!(v["status"], "validating");
        assert!(v.as_object().unwrap().contains_key("output_file_id"));
        assert_eq!(serde_json::from_value::<BatchObject>(v).unwrap(), batch);
    }
}
