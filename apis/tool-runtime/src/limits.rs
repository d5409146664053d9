//! What one tool group registration may carry (OpenAI has no tool groups, so the bounds are
//! ours); past a bound the request is a 400 naming the field, before anything is stored.

use lls_api_common::Result;
use lls_api_common::limits::{MAX_ID_CHARS, MapLimits, MapValues, check_chars, check_id, check_map};

use crate::RegisterToolGroupRequest;

/// `toolgroup_id`: not empty, at most this many characters.
pub const MAX_TOOLGROUP_ID_CHARS: usize = MAX_ID_CHARS;

/// `mcp_endpoint.uri`: the length browsers and proxies reliably pass.
pub const MAX_ENDPOINT_URI_CHARS: usize = 2048;

/// `args`: 0.3.5 takes any JSON (`builtin::rag` gets `vector_db_ids` lists), so values are
/// bounded by their JSON text rather than by type.
pub const ARGS: MapLimits = MapLimits {
    max_keys: 64,
    max_key_chars: 256,
    max_value_chars: 16 * 1024,
    values: MapValues::Any,
};

impl RegisterToolGroupRequest {
    /// Bounds only; the provider and the endpoint's scheme are checked by the tool groups table.
    pub fn validate(&self) -> Result<()> {
        check_id("toolgroup_id", &self.toolgroup_id, MAX_TOOLGROUP_ID_CHARS)?;
        check_chars("provider_id", &self.provider_id, MAX_ID_CHARS)?;
        if let Some(endpoint) = &self.mcp_endpoint {
            check_chars("mcp_endpoint.uri", &endpoint.uri, MAX_ENDPOINT_URI_CHARS)?;
        }
        if let Some(args) = &self.args {
            check_map("args", args, &ARGS)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn param(body: serde_json::Value) -> Option<String> {
        let request: RegisterToolGroupRequest = serde_json::from_value(body).unwrap();
        request
            .validate()
            .err()
            .and_then(|e| e.param().map(str::to_owned))
    }

    #[test]
    fn registrations_are_bounded() {
        assert_eq!(
            param(
                json!({"toolgroup_id": "mcp::x", "provider_id": "p", "args": {"vector_db_ids": ["vs_1"]}})
            ),
            None
        );
        assert_eq!(
            param(json!({"toolgroup_id": "", "provider_id": "p"})).as_deref(),
            Some("toolgroup_id")
        );
        assert_eq!(
            param(json!({"toolgroup_id": "x".repeat(257), "provider_id": "p"})).as_deref(),
            Some("toolgroup_id")
        );
        let uri = format!("http://h/{}", "x".repeat(MAX_ENDPOINT_URI_CHARS));
        assert_eq!(
            param(json!({"toolgroup_id": "g", "provider_id": "p", "mcp_endpoint": {"uri": uri}}))
                .as_deref(),
            Some("mcp_endpoint.uri")
        );
        let big = "x".repeat(ARGS.max_value_chars);
        assert_eq!(
            param(json!({"toolgroup_id": "g", "provider_id": "p", "args": {"a": [big]}}))
                .as_deref(),
            Some("args.a")
        );
    }
}
