//! `inline::meta-reference` config, as 0.3.5 reads it: where agent state (the v1alpha agents
//! and sessions) and stored responses live.

use lls_api_common::store::{KvStoreRef, QueuedSqlStoreRef};
use lls_api_common::{Error, ProviderConfig, Result};
use serde::{Deserialize, Serialize};

/// run.yaml `config:` of an `inline::meta-reference` agents provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaReferenceConfig {
    pub persistence: Persistence,
}

/// `persistence`: a kv store for agent state and a SQL backend for responses. As in 0.3.5,
/// the responses tables are `openai_responses` and `conversation_messages` whatever
/// `responses.table_name` says; the reference picks the backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persistence {
    pub agent_state: KvStoreRef,
    pub responses: QueuedSqlStoreRef,
}

impl ProviderConfig for MetaReferenceConfig {
    fn validate(&self) -> Result<()> {
        if self.persistence.responses.backend.is_empty() {
            return Err(Error::invalid(
                "config.persistence.responses.backend: name a sql_* storage backend (e.g. sql_default)",
            ));
        }
        if self.persistence.agent_state.backend.is_empty() {
            return Err(Error::invalid(
                "config.persistence.agent_state.backend: name a kv_* storage backend (e.g. kv_default)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lls_api_common::provider::{check_config, parse_config};
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_upstreams_persistence_block() {
        let c: MetaReferenceConfig = parse_config(&json!({"persistence": {
            "agent_state": {"namespace": "agents", "backend": "kv_default"},
            "responses": {"table_name": "responses", "backend": "sql_default", "max_write_queue_size": 10000, "num_writers": 4}
        }}))
        .unwrap();
        assert_eq!(c.persistence.agent_state.namespace, "agents");
        assert_eq!(c.persistence.responses.backend, "sql_default");
        assert!(check_config::<MetaReferenceConfig>(&json!({})).is_err());
        let e = check_config::<MetaReferenceConfig>(&json!({"persistence": {
            "agent_state": {"namespace": "agents", "backend": "kv_default"},
            "responses": {"table_name": "responses", "backend": ""}
        }}))
        .unwrap_err();
        assert!(e.message().contains("persistence.responses.backend"), "{e}");
    }
}
