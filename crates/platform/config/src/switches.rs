//! Providers a run.yaml switches on with an environment variable (`provider_id: ${env.X:+id}`)
//! that are off in this run, so that messages can say which variable turns one on.

use serde::Serialize;
use serde_json::Value;

/// A provider entry left out because its switch variable is unset or empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchedOff {
    /// The API it is listed under (`inference`).
    pub api: String,
    pub provider_type: String,
    /// The variable whose value turns it on (`VLLM_URL`).
    pub variable: String,
}

/// The variable of a `provider_id` that is exactly one `${env.X:+...}` expression, in the
/// expander's own grammar.
fn switch_variable(id: &str) -> Option<&str> {
    let caps = crate::env::env_expression().captures(id)?;
    let whole = caps.get(0)?;
    if whole.start() != 0 || whole.end() != id.len() || caps.get(2)?.as_str() != "+" {
        return None;
    }
    caps.get(1).map(|name| name.as_str())
}

/// The entries of the unexpanded document `raw` whose `provider_id` is `${env.X:+...}` with `X`
/// unset or empty under `env` (so expansion drops them), in document order.
pub fn switched_off(raw: &Value, env: &dyn Fn(&str) -> Option<String>) -> Vec<SwitchedOff> {
    let Some(Value::Object(apis)) = raw.get("providers") else { return Vec::new() };
    let mut off = Vec::new();
    for (api, entries) in apis {
        for entry in entries.as_array().into_iter().flatten() {
            let id = entry.get("provider_id").and_then(Value::as_str).unwrap_or_default();
            let Some(variable) = switch_variable(id.trim()) else { continue };
            if env(variable).is_none_or(|v| v.is_empty()) {
                off.push(SwitchedOff {
                    api: api.clone(),
                    provider_type: entry.get("provider_type").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    variable: variable.to_owned(),
                });
            }
        }
    }
    off
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn unset_and_empty_switches_are_off() {
        let raw = json!({"providers": {
            "inference": [
                {"provider_id": "${env.VLLM_URL:+vllm}", "provider_type": "remote::vllm"},
                {"provider_id": "${env.OPENAI_API_KEY:+openai}", "provider_type": "remote::openai"},
                {"provider_id": "${env.OLLAMA_URL:+ollama}", "provider_type": "remote::ollama"},
                {"provider_id": "always", "provider_type": "inline::x"},
                {"provider_id": "${env.ID:=x}", "provider_type": "inline::y"}
            ]
        }});
        let env = |name: &str| match name {
            "OPENAI_API_KEY" => Some("sk".to_owned()),
            "OLLAMA_URL" => Some(String::new()),
            _ => None,
        };
        let off = switched_off(&raw, &env);
        let vars: Vec<&str> = off.iter().map(|s| s.variable.as_str()).collect();
        assert_eq!(vars, ["VLLM_URL", "OLLAMA_URL"]);
        assert_eq!(off[0].api, "inference");
        assert_eq!(off[0].provider_type, "remote::vllm");
    }
}
