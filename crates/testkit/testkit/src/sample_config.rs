//! Provider sample configs expanded exactly as the stack expands run.yaml, so provider tests can
//! check their samples without depending on the config crate themselves.

use serde_json::Value;

/// Parses `yaml` and applies `${env.X}` substitution with `env`; panics (test helper) on error.
#[allow(clippy::panic)] // a test helper: failing the calling test is the point
pub fn expand_sample_config(yaml: &str, env: &dyn Fn(&str) -> Option<String>) -> Value {
    let raw =
        lls_config::parse_yaml(yaml).unwrap_or_else(|e| panic!("sample config is not YAML: {e}"));
    lls_config::expand(&raw, env).unwrap_or_else(|e| panic!("sample config does not expand: {e}"))
}
