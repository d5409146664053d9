//! What a Milvus vector_io provider's config says about its collections: the consistency level,
//! the vector index (type, metric, build parameters) and the search parameters. Both Milvus
//! providers' configs carry these fields under the same names.

use std::collections::{BTreeMap, HashMap};

use lls_api_common::{Error, Result};
use milvus::v2::prelude::{ConsistencyLevel, IndexType, MetricType};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Milvus's consistency levels (0.3.5's `consistency_level`, default `Strong`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Consistency {
    #[default]
    #[serde(alias = "strong", alias = "STRONG")]
    Strong,
    #[serde(alias = "session", alias = "SESSION")]
    Session,
    #[serde(alias = "bounded", alias = "BOUNDED")]
    Bounded,
    #[serde(alias = "eventually", alias = "EVENTUALLY")]
    Eventually,
}

/// `deserialize_with` for a config's `consistency_level`: null or blank (an unset
/// `${env.X:=}`) is the default, anything else one of the four levels.
pub fn consistency_or_default<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Consistency, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Consistency::default()),
        Value::String(s) if s.trim().is_empty() => Ok(Consistency::default()),
        other => serde_json::from_value(other).map_err(|e| {
            serde::de::Error::custom(format!("{e} (expected Strong, Session, Bounded or Eventually)"))
        }),
    }
}

impl Consistency {
    pub(crate) fn level(self) -> ConsistencyLevel {
        match self {
            Consistency::Strong => ConsistencyLevel::Strong,
            Consistency::Session => ConsistencyLevel::Session,
            Consistency::Bounded => ConsistencyLevel::Bounded,
            Consistency::Eventually => ConsistencyLevel::Eventually,
        }
    }
}

/// How vectors are compared. Scores are higher-is-better: the similarity itself for cosine and
/// inner product (as 0.3.5's Milvus provider answers), `1 / distance` for L2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Metric {
    #[default]
    #[serde(alias = "cosine")]
    Cosine,
    #[serde(alias = "l2")]
    L2,
    #[serde(alias = "ip", alias = "inner_product")]
    Ip,
}

impl Metric {
    pub(crate) fn milvus(self) -> MetricType {
        match self {
            Metric::Cosine => MetricType::Cosine,
            Metric::L2 => MetricType::L2,
            Metric::Ip => MetricType::Ip,
        }
    }

    /// The score of a Milvus search "distance": L2 comes back squared.
    pub(crate) fn score(self, distance: f32) -> f32 {
        match self {
            Metric::Cosine | Metric::Ip => distance,
            Metric::L2 if distance > 0.0 => 1.0 / distance.sqrt(),
            Metric::L2 => f32::MAX,
        }
    }
}

/// The dense vector index type (upstream builds `FLAT`: exact search).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKind {
    #[default]
    #[serde(rename = "FLAT")]
    Flat,
    #[serde(rename = "IVF_FLAT")]
    IvfFlat,
    #[serde(rename = "IVF_SQ8")]
    IvfSq8,
    #[serde(rename = "IVF_PQ")]
    IvfPq,
    #[serde(rename = "HNSW")]
    Hnsw,
    #[serde(rename = "DISKANN")]
    DiskAnn,
    #[serde(rename = "SCANN")]
    Scann,
    #[serde(rename = "AUTOINDEX")]
    AutoIndex,
}

impl IndexKind {
    pub(crate) fn milvus(self) -> IndexType {
        match self {
            IndexKind::Flat => IndexType::Flat,
            IndexKind::IvfFlat => IndexType::IvfFlat,
            IndexKind::IvfSq8 => IndexType::IvfSq8,
            IndexKind::IvfPq => IndexType::IvfPq,
            IndexKind::Hnsw => IndexType::Hnsw,
            IndexKind::DiskAnn => IndexType::DiskAnn,
            IndexKind::Scann => IndexType::Scann,
            IndexKind::AutoIndex => IndexType::AutoIndex,
        }
    }
}

/// The collection and search settings of a provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexSettings {
    pub consistency: Consistency,
    pub index_type: IndexKind,
    pub metric_type: Metric,
    /// Build parameters of the vector index (`M`, `efConstruction`, `nlist`, …).
    pub index_params: BTreeMap<String, Value>,
    /// Search parameters (`ef`, `nprobe`, …).
    pub search_params: BTreeMap<String, Value>,
}

impl IndexSettings {
    /// Checks the parameter maps: scalar values only (Milvus takes them as strings).
    pub fn validate(&self) -> Result<()> {
        for (field, map) in [("index_params", &self.index_params), ("search_params", &self.search_params)] {
            for (key, value) in map {
                if key.trim().is_empty() || matches!(value, Value::Null | Value::Array(_) | Value::Object(_)) {
                    return Err(Error::invalid(format!(
                        "config.{field}.{key}: must be a non-empty key with a string, number or boolean value"
                    ))
                    .with_param(field));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn index_params_text(&self) -> HashMap<String, String> {
        as_text(&self.index_params)
    }

    pub(crate) fn search_params_text(&self) -> HashMap<String, String> {
        as_text(&self.search_params)
    }
}

fn as_text(map: &BTreeMap<String, Value>) -> HashMap<String, String> {
    map.iter()
        .map(|(k, v)| (k.clone(), match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_read_as_upstream_and_milvus_spell_them() {
        assert_eq!(serde_json::from_value::<Consistency>(json!("Bounded")).unwrap(), Consistency::Bounded);
        assert_eq!(serde_json::from_value::<Consistency>(json!("strong")).unwrap(), Consistency::Strong);
        assert!(serde_json::from_value::<Consistency>(json!("Sometimes")).is_err());
        assert_eq!(serde_json::from_value::<Metric>(json!("IP")).unwrap(), Metric::Ip);
        assert_eq!(serde_json::from_value::<Metric>(json!("l2")).unwrap(), Metric::L2);
        assert_eq!(serde_json::from_value::<IndexKind>(json!("HNSW")).unwrap(), IndexKind::Hnsw);
        assert!(serde_json::from_value::<IndexKind>(json!("BTREE")).is_err());
    }

    #[test]
    fn scores_are_higher_for_nearer_vectors() {
        assert!(Metric::L2.score(1.0) > Metric::L2.score(4.0));
        assert_eq!(Metric::L2.score(4.0), 0.5);
        assert_eq!(Metric::L2.score(0.0), f32::MAX);
        assert_eq!(Metric::Cosine.score(0.25), 0.25);
    }

    #[test]
    fn parameters_must_be_scalars() {
        let mut s = IndexSettings::default();
        s.index_params.insert("M".into(), json!(16));
        s.search_params.insert("ef".into(), json!("64"));
        s.validate().unwrap();
        assert_eq!(s.index_params_text()["M"], "16");
        s.search_params.insert("bad".into(), json!({"x": 1}));
        assert_eq!(s.validate().unwrap_err().param(), Some("search_params"));
    }
}
