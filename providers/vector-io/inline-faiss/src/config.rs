//! `inline::faiss` config: upstream 0.3.5's `persistence` kv reference, plus how large stores
//! are indexed. Checked without I/O.

use lls_api_common::store::KvStoreRef;
use lls_api_common::{Error, ProviderConfig, Result};
use serde::{Deserialize, Serialize};

/// run.yaml `config:` of an `inline::faiss` provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaissConfig {
    /// The kv store (a `kv_*` backend and a namespace) holding every vector store's spec and
    /// chunks, one key per chunk. Required, as in 0.3.5.
    pub persistence: KvStoreRef,
    /// `auto` (default): exact search (`IndexFlatL2`) until a store holds `ivf_min_chunks`
    /// chunks, an IVF index above. `flat`: always exact, as 0.3.5 does.
    #[serde(default)]
    pub index: IndexKind,
    /// Store size at which `auto` trains an IVF index for the store.
    #[serde(default = "default_ivf_min_chunks")]
    pub ivf_min_chunks: usize,
    /// Share of the IVF lists a query scans (more is slower and nearer to exact).
    #[serde(default = "default_ivf_probe_fraction")]
    pub ivf_probe_fraction: f64,
}

/// How a store's vectors are searched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexKind {
    /// Exact below `ivf_min_chunks`, approximate (IVF) above.
    #[default]
    Auto,
    /// Always exact.
    Flat,
}

pub const DEFAULT_IVF_MIN_CHUNKS: usize = 20_000;
pub const DEFAULT_IVF_PROBE_FRACTION: f64 = 0.0625;
/// Fewer chunks than this cannot train a useful IVF index.
pub const MIN_IVF_MIN_CHUNKS: usize = 1_000;

fn default_ivf_min_chunks() -> usize {
    DEFAULT_IVF_MIN_CHUNKS
}

fn default_ivf_probe_fraction() -> f64 {
    DEFAULT_IVF_PROBE_FRACTION
}

impl FaissConfig {
    /// A config persisting into `namespace` of the kv backend `backend`, defaults elsewhere.
    pub fn new(backend: impl Into<String>, namespace: impl Into<String>) -> Self {
        FaissConfig {
            persistence: KvStoreRef { backend: backend.into(), namespace: namespace.into() },
            index: IndexKind::Auto,
            ivf_min_chunks: DEFAULT_IVF_MIN_CHUNKS,
            ivf_probe_fraction: DEFAULT_IVF_PROBE_FRACTION,
        }
    }
}

impl ProviderConfig for FaissConfig {
    fn validate(&self) -> Result<()> {
        if self.persistence.namespace.trim().is_empty() {
            return Err(Error::invalid("config.persistence.namespace: must not be empty").with_param("persistence.namespace"));
        }
        if self.ivf_min_chunks < MIN_IVF_MIN_CHUNKS {
            return Err(Error::invalid(format!(
                "config.ivf_min_chunks: {} is too small to train an IVF index; use at least {MIN_IVF_MIN_CHUNKS}",
                self.ivf_min_chunks
            ))
            .with_param("ivf_min_chunks"));
        }
        if !(self.ivf_probe_fraction > 0.0 && self.ivf_probe_fraction <= 1.0) {
            return Err(Error::invalid(format!(
                "config.ivf_probe_fraction: {} is not in (0, 1]",
                self.ivf_probe_fraction
            ))
            .with_param("ivf_probe_fraction"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::parse_config;
    use serde_json::json;

    #[test]
    fn upstream_config_parses_with_defaults() {
        let c: FaissConfig =
            parse_config(&json!({"persistence": {"namespace": "vector_io::faiss", "backend": "kv_default"}})).unwrap();
        assert_eq!(c, FaissConfig::new("kv_default", "vector_io::faiss"));
        assert_eq!(c.index, IndexKind::Auto);
    }

    #[test]
    fn bad_configs_name_their_field() {
        let e = parse_config::<FaissConfig>(&json!({})).unwrap_err();
        assert!(e.message().contains("persistence"), "{e}");
        let base = json!({"persistence": {"namespace": "n", "backend": "kv_default"}});
        let with = |k: &str, v: serde_json::Value| {
            let mut c = base.clone();
            c[k] = v;
            parse_config::<FaissConfig>(&c).unwrap_err()
        };
        assert!(with("index", json!("hnsw")).message().contains("index"));
        assert_eq!(with("ivf_min_chunks", json!(10)).param(), Some("ivf_min_chunks"));
        assert_eq!(with("ivf_probe_fraction", json!(0.0)).param(), Some("ivf_probe_fraction"));
        assert!(with("kvstore", json!({})).message().contains("kvstore"));
        let e = parse_config::<FaissConfig>(&json!({"persistence": {"namespace": " ", "backend": "kv_default"}})).unwrap_err();
        assert_eq!(e.param(), Some("persistence.namespace"));
    }
}
