//! `inline::reference` config: 0.3.5's `kvstore`, `max_concurrent_batches` and
//! `max_concurrent_requests_per_batch`, plus the input limits and the shape of result bodies.
//! Checked without I/O.

use lls_api_common::store::KvStoreRef;
use lls_api_common::{Error, ProviderConfig, Result};
use serde::{Deserialize, Serialize};

/// run.yaml `config:` of an `inline::reference` batches provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceBatchesConfig {
    /// Where batches, their progress and cancellations are kept (a `kv_*` backend and a
    /// namespace). Replicas sharing it share the batches; exactly one runs each.
    pub kvstore: KvStoreRef,
    /// Batches this server runs at once; more wait their turn in `validating`.
    #[serde(default = "default_batches")]
    pub max_concurrent_batches: usize,
    /// Requests of one batch in flight at once.
    #[serde(default = "default_requests")]
    pub max_concurrent_requests_per_batch: usize,
    /// Most requests one input file may hold (OpenAI's limit: 50,000).
    #[serde(default = "default_max_requests")]
    pub max_requests_per_batch: usize,
    /// Longest input line in bytes; a longer one fails the batch's validation.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    /// How a result line carries the endpoint's answer: `object` (OpenAI's format,
    /// `response.body` is the JSON object) or `json_string` (0.3.5's: the same JSON as a
    /// string, which 0.3.5's own tests `json.loads`).
    #[serde(default)]
    pub response_body: ResponseBody,
}

/// How `response.body` is written in result files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseBody {
    /// The answer as a JSON object, as OpenAI writes it.
    #[default]
    Object,
    /// The answer's JSON text as a string, as Llama Stack 0.3.5 writes it.
    JsonString,
}

pub const DEFAULT_MAX_REQUESTS: usize = 50_000;
pub const DEFAULT_MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

fn default_batches() -> usize {
    1
}

fn default_requests() -> usize {
    10
}

fn default_max_requests() -> usize {
    DEFAULT_MAX_REQUESTS
}

fn default_max_line_bytes() -> usize {
    DEFAULT_MAX_LINE_BYTES
}

impl ReferenceBatchesConfig {
    /// A config keeping batches in `namespace` of the kv backend `backend`, defaults elsewhere.
    pub fn new(backend: impl Into<String>, namespace: impl Into<String>) -> Self {
        ReferenceBatchesConfig {
            kvstore: KvStoreRef {
                backend: backend.into(),
                namespace: namespace.into(),
            },
            max_concurrent_batches: default_batches(),
            max_concurrent_requests_per_batch: default_requests(),
            max_requests_per_batch: DEFAULT_MAX_REQUESTS,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            response_body: ResponseBody::Object,
        }
    }
}

impl ProviderConfig for ReferenceBatchesConfig {
    fn validate(&self) -> Result<()> {
        let positive = [
            ("max_concurrent_batches", self.max_concurrent_batches),
            (
                "max_concurrent_requests_per_batch",
                self.max_concurrent_requests_per_batch,
            ),
            ("max_requests_per_batch", self.max_requests_per_batch),
            ("max_line_bytes", self.max_line_bytes),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(
                    Error::invalid(format!("config.{name}: must be at least 1")).with_param(name)
                );
            }
        }
        if self.kvstore.namespace.trim().is_empty() {
            return Err(
                Error::invalid("config.kvstore.namespace: must not be empty")
                    .with_param("kvstore.namespace"),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn upstream_config_parses_with_its_defaults() {
        let c: ReferenceBatchesConfig = lls_api_common::provider::parse_config(&json!({
            "kvstore": {"backend": "kv_default", "namespace": "batches"}
        }))
        .unwrap();
        assert_eq!(c, ReferenceBatchesConfig::new("kv_default", "batches"));
        assert_eq!(
            (
                c.max_concurrent_batches,
                c.max_concurrent_requests_per_batch
            ),
            (1, 10)
        );
    }

    #[test]
    fn zero_limits_and_unknown_keys_are_refused() {
        let mut c = ReferenceBatchesConfig::new("kv_default", "batches");
        c.max_concurrent_requests_per_batch = 0;
        assert!(
            c.validate()
                .unwrap_err()
                .message()
                .contains("max_concurrent_requests_per_batch")
        );
        let unknown = lls_api_common::provider::parse_config::<ReferenceBatchesConfig>(&json!({
            "kvstore": {"backend": "kv_default", "namespace": "batches"}, "max_batches": 2
        }));
        assert!(unknown.is_err());
        let body: ReferenceBatchesConfig = lls_api_common::provider::parse_config(&json!({
            "kvstore": {"backend": "kv_default", "namespace": "batches"}, "response_body": "json_string"
        }))
        .unwrap();
        assert_eq!(body.response_body, ResponseBody::JsonString);
    }
}
