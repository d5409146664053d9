//! Model discovery shared by OpenAI-like providers: `GET /models` entries and the
//! `allowed_models` filter of upstream's `RemoteInferenceProviderConfig`.

use std::collections::BTreeSet;

use lls_api_common::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One entry of `GET {base}/models`; vendor fields (vLLM's `max_model_len`, ...) stay in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteModel {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"object": "list", "data": [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ModelList {
    pub data: Vec<RemoteModel>,
}

/// run.yaml's `allowed_models`: `None` allows every model.
#[derive(Debug, Clone, Default)]
pub struct AllowedModels(Option<BTreeSet<String>>);

impl AllowedModels {
    pub fn new(models: Option<&[String]>) -> Self {
        AllowedModels(models.map(|m| m.iter().cloned().collect()))
    }

    pub fn allows(&self, model: &str) -> bool {
        self.0.as_ref().is_none_or(|set| set.contains(model))
    }

    /// An `InvalidRequest` naming the allowed models when `model` is not one of them.
    pub fn check(&self, provider: &str, model: &str) -> Result<()> {
        match &self.0 {
            Some(set) if !set.contains(model) => {
                let allowed: Vec<&str> = set.iter().map(String::as_str).collect();
                Err(Error::invalid(format!(
                    "Model '{model}' is not in the allowed models of provider {provider}: [{}]",
                    allowed.join(", ")
                ))
                .with_param("model")
                .with_provider(provider))
            }
            _ => Ok(()),
        }
    }

    /// Drops the models the filter does not allow.
    pub fn filter(&self, models: Vec<RemoteModel>) -> Vec<RemoteModel> {
        models.into_iter().filter(|m| self.allows(&m.id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_models_filter_and_check() {
        let any = AllowedModels::default();
        assert!(any.allows("x"));
        assert!(any.check("p", "x").is_ok());
        let some = AllowedModels::new(Some(&["a".to_owned()]));
        assert!(some.check("p", "a").is_ok());
        let e = some.check("p", "b").unwrap_err();
        assert_eq!(e.kind(), lls_api_common::ErrorKind::InvalidRequest);
        assert!(e.message().contains("[a]"));
        let listed: ModelList =
            serde_json::from_str(r#"{"object":"list","data":[{"id":"a","object":"model","max_model_len":8},{"id":"b"}]}"#).unwrap();
        let kept = some.filter(listed.data);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].extra["max_model_len"], 8);
    }
}
