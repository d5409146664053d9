//! The resources and messages of the safety API, in 0.3.5's wire shapes.

use std::collections::BTreeMap;

use lls_api_common::{Error, Result};
use lls_api_inference::ChatMessage;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The registry's resource type for shields (and the `type` field of a [`Shield`]).
pub const SHIELD_RESOURCE: &str = "shield";

/// Longest shield id accepted (they become registry keys and URL paths).
const MAX_ID_CHARS: usize = 256;

/// A registered shield: `provider_resource_id` is what its provider judges with (Llama Guard:
/// the inference model; TrustyAI: the detector or orchestrator shield).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Shield {
    pub identifier: String,
    #[serde(default)]
    pub provider_resource_id: Option<String>,
    pub provider_id: String,
    #[serde(rename = "type", default = "shield_kind")]
    pub kind: String,
    #[serde(default)]
    pub params: Option<Map<String, Value>>,
}

fn shield_kind() -> String {
    SHIELD_RESOURCE.into()
}

impl Shield {
    pub fn new(
        identifier: impl Into<String>,
        provider_resource_id: impl Into<String>,
        provider_id: impl Into<String>,
        params: Map<String, Value>,
    ) -> Self {
        Shield {
            identifier: identifier.into(),
            provider_resource_id: Some(provider_resource_id.into()),
            provider_id: provider_id.into(),
            kind: shield_kind(),
            params: Some(params),
        }
    }

    /// What the provider judges with: `provider_resource_id`, else the identifier.
    pub fn provider_resource(&self) -> &str {
        self.provider_resource_id
            .as_deref()
            .unwrap_or(&self.identifier)
    }
}

/// `POST /v1/shields` (and run.yaml's `registered_resources.shields[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegisterShieldRequest {
    pub shield_id: String,
    #[serde(default)]
    pub provider_shield_id: Option<String>,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub params: Option<Map<String, Value>>,
}

impl RegisterShieldRequest {
    pub fn validate(&self) -> Result<()> {
        check_id("shield_id", &self.shield_id)?;
        if let Some(p) = &self.provider_shield_id {
            check_id("provider_shield_id", p)?;
        }
        Ok(())
    }
}

fn check_id(field: &str, id: &str) -> Result<()> {
    if id.trim().is_empty() {
        return Err(Error::invalid(format!("'{field}' must not be empty")).with_param(field));
    }
    if id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "'{field}' must be at most {MAX_ID_CHARS} characters, without control characters"
        ))
        .with_param(field));
    }
    Ok(())
}

/// `GET /v1/shields`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListShieldsResponse {
    pub data: Vec<Shield>,
}

/// `POST /v1/safety/run-shield`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunShieldRequest {
    pub shield_id: String,
    pub messages: Vec<ChatMessage>,
    /// 0.3.5 requires the key; `null` and absent read as `{}` here.
    #[serde(default)]
    pub params: Option<Map<String, Value>>,
}

impl RunShieldRequest {
    pub fn validate(&self) -> Result<()> {
        check_id("shield_id", &self.shield_id)?;
        for (i, m) in self.messages.iter().enumerate() {
            m.validate().map_err(|e| {
                Error::invalid(format!("messages[{i}]: {}", e.message()))
                    .with_param(format!("messages[{i}]"))
            })?;
        }
        Ok(())
    }
}

/// How serious a violation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ViolationLevel {
    /// Informational: no action needed.
    Info,
    /// Caution, but the conversation may go on.
    Warn,
    /// Block: the content must not be used.
    Error,
}

/// What a shield found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SafetyViolation {
    pub violation_level: ViolationLevel,
    /// What to tell the user.
    #[serde(default)]
    pub user_message: Option<String>,
    /// Provider details (violation codes and the like).
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// `run-shield`'s answer: no violation (`null`) or one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunShieldResponse {
    #[serde(default)]
    pub violation: Option<SafetyViolation>,
}

/// OpenAI's moderation `input`: one text or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ModerationInput {
    One(String),
    Many(Vec<String>),
}

/// `POST /v1/moderations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunModerationRequest {
    pub input: ModerationInput,
    /// The `provider_resource_id` of exactly one registered shield. OpenAI lets it be omitted;
    /// with no default moderation model here, it is required (a 400 names it).
    #[serde(default)]
    pub model: Option<String>,
}

/// At most this many texts in one moderation request.
pub const MAX_MODERATION_INPUTS: usize = 1024;

impl RunModerationRequest {
    /// The texts to judge, in order; a 400 for an empty list or a missing model.
    pub fn inputs(&self) -> Result<Vec<String>> {
        let inputs = match &self.input {
            ModerationInput::One(s) => vec![s.clone()],
            ModerationInput::Many(v) => v.clone(),
        };
        if inputs.is_empty() {
            return Err(
                Error::invalid("'input' must be a string or a non-empty list of strings")
                    .with_param("input"),
            );
        }
        if inputs.len() > MAX_MODERATION_INPUTS {
            return Err(Error::invalid(format!(
                "'input' holds {} texts; at most {MAX_MODERATION_INPUTS} are accepted",
                inputs.len()
            ))
            .with_param("input"));
        }
        Ok(inputs)
    }

    /// The model named, or a 400.
    pub fn model(&self) -> Result<&str> {
        match self.model.as_deref() {
            Some(m) if !m.trim().is_empty() => Ok(m),
            _ => Err(Error::invalid(
                "'model' is required: the provider_resource_id of a registered shield",
            )
            .with_param("model")),
        }
    }
}

/// OpenAI's moderation object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModerationObject {
    pub id: String,
    pub model: String,
    pub results: Vec<ModerationResult>,
}

/// One input's moderation (`user_message` and `metadata` are Llama Stack's extensions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModerationResult {
    pub flagged: bool,
    #[serde(default)]
    pub categories: Option<BTreeMap<String, bool>>,
    #[serde(default)]
    pub category_applied_input_types: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    pub category_scores: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    pub user_message: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn shields_write_every_field_as_0_3_5_does() {
        let s = Shield::new("llama-guard", "mock/mock-guard", "llama-guard", Map::new());
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"identifier": "llama-guard", "provider_resource_id": "mock/mock-guard", "provider_id": "llama-guard", "type": "shield", "params": {}})
        );
        let back: Shield =
            serde_json::from_value(json!({"identifier": "x", "provider_id": "p"})).unwrap();
        assert_eq!(
            (back.kind.as_str(), back.provider_resource()),
            ("shield", "x")
        );
    }

    #[test]
    fn moderation_inputs_and_model() {
        let one: RunModerationRequest =
            serde_json::from_value(json!({"input": "hi", "model": "m"})).unwrap();
        assert_eq!(one.inputs().unwrap(), ["hi"]);
        let many: RunModerationRequest =
            serde_json::from_value(json!({"input": ["a", ""], "model": "m"})).unwrap();
        assert_eq!(many.inputs().unwrap(), ["a", ""]);
        let empty: RunModerationRequest =
            serde_json::from_value(json!({"input": [], "model": "m"})).unwrap();
        assert_eq!(empty.inputs().unwrap_err().param(), Some("input"));
        let no_model: RunModerationRequest = serde_json::from_value(json!({"input": "x"})).unwrap();
        assert_eq!(no_model.model().unwrap_err().param(), Some("model"));
        assert!(
            serde_json::from_value::<RunModerationRequest>(json!({"input": 3, "model": "m"}))
                .is_err()
        );
    }

    #[test]
    fn run_shield_requests_are_checked() {
        let ok: RunShieldRequest =
            serde_json::from_value(json!({"shield_id": "s", "messages": [{"role": "user", "content": "hi"}], "params": {}})).unwrap();
        ok.validate().unwrap();
        let bad: RunShieldRequest = serde_json::from_value(
            json!({"shield_id": "s", "messages": [{"role": "tool", "content": "x"}]}),
        )
        .unwrap();
        assert_eq!(bad.validate().unwrap_err().param(), Some("messages[0]"));
        let blank: RunShieldRequest =
            serde_json::from_value(json!({"shield_id": " ", "messages": []})).unwrap();
        assert!(blank.validate().is_err());
        assert_eq!(
            serde_json::to_value(ViolationLevel::Error).unwrap(),
            json!("error")
        );
    }
}
