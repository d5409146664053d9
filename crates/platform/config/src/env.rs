//! `${env.NAME}`, `${env.NAME:=default}` and `${env.NAME:+value}` expansion over a parsed run.yaml,
//! with upstream 0.3.5's semantics: type coercion, `~` expansion and dropping disabled providers.
//!
//! The pass is pure: variables come from a lookup function (use [`process_env`] for the real
//! environment), and every unset required variable is reported, each with its path.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Number, Value};

use crate::error::ConfigErrors;

/// A `provider_id` with this value (or an empty or null one) turns its list item off.
pub const DISABLED_PROVIDER_ID: &str = "__disabled__";

/// Looks a variable up in the process environment (non-UTF-8 values count as unset).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Whether a resolved `provider_id` turns its item off: null, empty or `__disabled__`.
pub fn is_disabled_provider_id(id: &Value) -> bool {
    match id {
        Value::Null => true,
        Value::String(s) => is_disabled_id(s),
        _ => false,
    }
}

/// The string form of [`is_disabled_provider_id`].
pub fn is_disabled_id(id: &str) -> bool {
    id.is_empty() || id == DISABLED_PROVIDER_ID
}

/// Expands every string in `value`; fails with all unset required variables at once.
///
/// A list item that is an object with a `provider_id` key is dropped, unexpanded, when its
/// `provider_id` resolves to null, "" or `__disabled__`; `~` in substituted values goes to `HOME`
/// as `env` reports it.
pub fn expand(value: &Value, env: &dyn Fn(&str) -> Option<String>) -> Result<Value, ConfigErrors> {
    let mut expander = Expander {
        env,
        errors: ConfigErrors::new(),
    };
    let expanded = expander.value(value, "");
    expander.errors.into_result(expanded)
}

struct Expander<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: ConfigErrors,
}

impl Expander<'_> {
    fn value(&mut self, value: &Value, path: &str) -> Value {
        match value {
            Value::Object(map) => {
                let expanded: Map<String, Value> = map
                    .iter()
                    .map(|(key, item)| (key.clone(), self.value(item, &child_path(path, key))))
                    .collect();
                Value::Object(expanded)
            }
            Value::Array(items) => {
                let mut expanded = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    if !self.is_disabled_item(item, &item_path) {
                        expanded.push(self.value(item, &item_path));
                    }
                }
                Value::Array(expanded)
            }
            Value::String(text) => self.string(text, path),
            other => other.clone(),
        }
    }

    /// Resolves the item's `provider_id` on its own, so that a disabled provider's config is never
    /// expanded. An id that fails to resolve leaves the item to the normal pass, which reports it.
    fn is_disabled_item(&self, item: &Value, item_path: &str) -> bool {
        let Some(id) = item.as_object().and_then(|map| map.get("provider_id")) else {
            return false;
        };
        let mut probe = Expander {
            env: self.env,
            errors: ConfigErrors::new(),
        };
        let resolved = probe.value(id, &child_path(item_path, "provider_id"));
        probe.errors.is_empty() && is_disabled_provider_id(&resolved)
    }

    fn string(&mut self, text: &str, path: &str) -> Value {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut failed = false;
        for caps in env_expression().captures_iter(text) {
            let (Some(whole), Some(name)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            out.push_str(&text[last..whole.start()]);
            last = whole.end();
            let operator = caps.get(2).map(|m| m.as_str());
            let operand = caps.get(3).map_or("", |m| m.as_str());
            match self.substitute(name.as_str(), operator, operand) {
                Some(value) => out.push_str(&value),
                None => {
                    failed = true;
                    self.errors.push(path, unset_message(name.as_str()));
                }
            }
        }
        out.push_str(&text[last..]);
        if failed {
            // The caller discards the tree when there are errors; keep going to find the rest.
            Value::Null
        } else if out != text {
            coerce(out)
        } else {
            Value::String(out)
        }
    }

    /// The text for one expression, or `None` when a required variable is unset.
    fn substitute(&self, name: &str, operator: Option<&str>, operand: &str) -> Option<String> {
        let set = (self.env)(name).filter(|v| !v.is_empty());
        let value = match (operator, set) {
            (Some("="), Some(value)) => value,
            (Some("="), None) if operand.is_empty() => return Some(String::new()),
            (Some("="), None) => operand.to_owned(),
            (Some(_), Some(_)) if operand.is_empty() => return Some(String::new()),
            (Some(_), Some(_)) => operand.to_owned(),
            (Some(_), None) => String::new(),
            (None, Some(value)) => value,
            (None, None) => return None,
        };
        Some(self.expand_home(value))
    }

    /// `~` or `~/...` at the start of a substituted value becomes `$HOME` (as Python's
    /// `os.path.expanduser` does); without a HOME the value stays as it is.
    fn expand_home(&self, value: String) -> String {
        let rest = match value.strip_prefix('~') {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => return value,
        };
        match (self.env)("HOME").filter(|home| !home.is_empty()) {
            Some(home) => {
                let joined = format!("{}{rest}", home.trim_end_matches('/'));
                if joined.is_empty() {
                    "/".to_owned()
                } else {
                    joined
                }
            }
            None => value,
        }
    }
}

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn unset_message(name: &str) -> String {
    format!(
        "environment variable '{name}' is not set or empty. Use ${{env.{name}:=default_value}} to \
         provide a default value, ${{env.{name}:+value_if_set}} to make the field conditional, \
         or set the variable"
    )
}

/// The expression grammar: an upper-case name, then optionally `:=` or `:+` and a value without `}`.
#[allow(
    clippy::expect_used,
    reason = "a constant pattern, compiled by every test of this module"
)]
pub(crate) fn env_expression() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"\$\{env\.([A-Z0-9_]+)(?::([=+])([^}]*))?\}").expect("the env pattern is valid")
    })
}

/// Upstream's conversion of a substituted string: "" is null, true/false (any case) are booleans,
/// then an integer, then a float; anything else stays a string.
pub fn coerce(text: String) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    match text.to_ascii_lowercase().as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if let Some(number) = python_number(&text) {
        return Value::Number(number);
    }
    Value::String(text)
}

/// Parses a number the way Python's `int()` and then `float()` do: surrounding whitespace and
/// single underscores between digits are allowed. Non-finite floats have no JSON form and stay text.
fn python_number(text: &str) -> Option<Number> {
    let trimmed = text.trim();
    let digits = strip_digit_underscores(trimmed)?;
    if let Ok(int) = digits.parse::<i64>() {
        return Some(Number::from(int));
    }
    if let Ok(int) = digits.parse::<u64>() {
        return Some(Number::from(int));
    }
    digits.parse::<f64>().ok().and_then(Number::from_f64)
}

/// Removes underscores that sit between two digits; any other underscore makes it no number.
fn strip_digit_underscores(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    for (i, ch) in text.char_indices() {
        if ch == '_' {
            let before = i.checked_sub(1).and_then(|j| bytes.get(j));
            let after = bytes.get(i + 1);
            if !(before.is_some_and(u8::is_ascii_digit) && after.is_some_and(u8::is_ascii_digit)) {
                return None;
            }
        } else {
            out.push(ch);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    fn with_env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        move |name| map.get(name).map(|v| (*v).to_owned())
    }

    fn run(value: Value, vars: &[(&str, &str)]) -> Result<Value, ConfigErrors> {
        expand(&value, &with_env(vars))
    }

    fn one(text: &str, vars: &[(&str, &str)]) -> Value {
        run(json!({ "v": text }), vars).unwrap()["v"].clone()
    }

    #[test]
    fn plain_reference_takes_the_value() {
        assert_eq!(
            one("${env.URL}", &[("URL", "http://x:1")]),
            json!("http://x:1")
        );
    }

    #[test]
    fn default_form_uses_the_value_or_the_default() {
        assert_eq!(
            one("${env.URL:=http://d}", &[("URL", "http://set")]),
            json!("http://set")
        );
        assert_eq!(one("${env.URL:=http://d}", &[]), json!("http://d"));
        assert_eq!(
            one("${env.URL:=http://d}", &[("URL", "")]),
            json!("http://d"),
            "empty counts as unset"
        );
    }

    #[test]
    fn empty_default_gives_null_after_coercion() {
        assert_eq!(one("${env.KEY:=}", &[]), Value::Null);
        assert_eq!(one("key-${env.KEY:=}", &[]), json!("key-"));
    }

    #[test]
    fn conditional_form_gives_the_value_only_when_set() {
        assert_eq!(
            one("${env.OLLAMA_URL:+ollama}", &[("OLLAMA_URL", "http://o")]),
            json!("ollama")
        );
        assert_eq!(one("${env.OLLAMA_URL:+ollama}", &[]), Value::Null);
        assert_eq!(
            one("${env.OLLAMA_URL:+ollama}", &[("OLLAMA_URL", "")]),
            Value::Null
        );
        assert_eq!(
            one("${env.OLLAMA_URL:+}", &[("OLLAMA_URL", "x")]),
            Value::Null
        );
    }

    #[test]
    fn several_expressions_inside_other_text() {
        let vars = [("HOST", "db"), ("PORT", "5432")];
        assert_eq!(
            one(
                "postgres://${env.HOST}:${env.PORT:=1}/${env.DB:=stack}?x=${env.NONE:+y}",
                &vars
            ),
            json!("postgres://db:5432/stack?x=")
        );
    }

    #[test]
    fn lower_case_and_malformed_names_are_left_untouched() {
        assert_eq!(
            one("${env.lower}", &[("lower", "x")]),
            json!("${env.lower}")
        );
        assert_eq!(one("${env.Mixed:=x}", &[]), json!("${env.Mixed:=x}"));
        assert_eq!(
            one("${env.X:-x}", &[]),
            json!("${env.X:-x}"),
            "only := and :+ are operators"
        );
        assert_eq!(one("$env.X", &[("X", "1")]), json!("$env.X"));
    }

    #[test]
    fn value_stops_at_the_first_closing_brace() {
        assert_eq!(one("${env.X:=a}b}", &[]), json!("ab}"));
    }

    #[test]
    fn untouched_strings_are_not_coerced() {
        assert_eq!(one("4096", &[]), json!("4096"));
        assert_eq!(one("true", &[]), json!("true"));
        assert_eq!(one("", &[]), json!(""));
    }

    #[test]
    fn substituted_strings_are_coerced() {
        assert_eq!(one("${env.MAX:=4096}", &[]), json!(4096));
        assert_eq!(one("${env.MAX}", &[("MAX", "-12")]), json!(-12));
        assert_eq!(one("${env.T}", &[("T", "True")]), json!(true));
        assert_eq!(one("${env.T}", &[("T", "FALSE")]), json!(false));
        assert_eq!(one("${env.F:=1.5}", &[]), json!(1.5));
        assert_eq!(one("${env.F:=1e3}", &[]), json!(1000.0));
        assert_eq!(one("${env.N:=1_000}", &[]), json!(1000));
        assert_eq!(one("${env.N:= 42 }", &[]), json!(42));
        assert_eq!(one("${env.N:=18446744073709551615}", &[]), json!(u64::MAX));
        assert_eq!(one("${env.S:=hello}", &[]), json!("hello"));
        assert_eq!(one("${env.S:=1__0}", &[]), json!("1__0"));
        assert_eq!(one("${env.S:=_1}", &[]), json!("_1"));
        assert_eq!(
            one("${env.S:=inf}", &[]),
            json!("inf"),
            "no JSON form for infinity"
        );
        assert_eq!(one("${env.S:=nan}", &[]), json!("nan"));
    }

    #[test]
    fn whole_result_is_coerced_not_each_piece() {
        assert_eq!(one("${env.A:=1}${env.B:=2}", &[]), json!(12));
        assert_eq!(one("v${env.A:=1}", &[]), json!("v1"));
    }

    #[test]
    fn non_strings_pass_through() {
        let input = json!({ "n": 3, "b": false, "z": null, "f": 0.5 });
        assert_eq!(run(input.clone(), &[]).unwrap(), input);
    }

    #[test]
    fn tilde_in_substituted_values_becomes_home() {
        let vars = [("HOME", "/home/me/"), ("DIR", "~/data")];
        assert_eq!(
            one("${env.D:=~/.llama}/kv.db", &vars),
            json!("/home/me/.llama/kv.db")
        );
        assert_eq!(one("${env.DIR}", &vars), json!("/home/me/data"));
        assert_eq!(one("${env.D:=~}", &vars), json!("/home/me"));
        assert_eq!(one("${env.D:=~user/x}", &vars), json!("~user/x"));
        assert_eq!(
            one("x${env.D:=/a}~/b", &vars),
            json!("x/a~/b"),
            "only the substituted value"
        );
        assert_eq!(
            one("${env.D:=~/x}", &[]),
            json!("~/x"),
            "no HOME, no expansion"
        );
    }

    #[test]
    fn unset_required_variable_names_path_and_fixes() {
        let errors = run(json!({ "a": { "b": ["${env.API_KEY}"] } }), &[]).unwrap_err();
        assert_eq!(errors.len(), 1);
        let error = &errors.0[0];
        assert_eq!(error.path, "a.b[0]");
        assert!(error.message.contains("'API_KEY'"), "{}", error.message);
        assert!(
            error.message.contains("${env.API_KEY:=default_value}"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("${env.API_KEY:+value_if_set}"),
            "{}",
            error.message
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let input = json!({
            "providers": { "inference": [
                { "provider_id": "a", "config": { "url": "${env.A_URL}" } },
                { "provider_id": "b", "config": { "url": "${env.B_URL}/${env.B_PATH}" } },
            ]},
            "server": { "port": "${env.PORT}" },
        });
        let errors = run(input, &[]).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "providers.inference[0].config.url",
                "providers.inference[1].config.url",
                "providers.inference[1].config.url",
                "server.port",
            ]
        );
        assert!(errors.0[2].message.contains("B_PATH"));
    }

    #[test]
    fn disabled_provider_is_dropped_without_expanding_its_config() {
        let input = json!({ "inference": [
            { "provider_id": "${env.VLLM_URL:+vllm}", "config": { "url": "${env.VLLM_URL}" } },
            { "provider_id": "__disabled__", "config": { "key": "${env.MISSING}" } },
            { "provider_id": "", "config": { "key": "${env.MISSING}" } },
            { "provider_id": null, "config": { "key": "${env.MISSING}" } },
            { "provider_id": "${env.ON:=fake}", "config": { "n": "${env.N:=4096}" } },
        ]});
        let out = run(input, &[]).unwrap();
        assert_eq!(
            out,
            json!({ "inference": [ { "provider_id": "fake", "config": { "n": 4096 } } ] })
        );
    }

    #[test]
    fn enabled_provider_is_expanded() {
        let input = json!([{ "provider_id": "${env.VLLM_URL:+vllm}", "config": { "url": "${env.VLLM_URL}" } }]);
        let out = run(input, &[("VLLM_URL", "http://v")]).unwrap();
        assert_eq!(
            out,
            json!([{ "provider_id": "vllm", "config": { "url": "http://v" } }])
        );
    }

    #[test]
    fn provider_id_that_fails_to_resolve_is_expanded_normally_and_reported() {
        let input = json!([{ "provider_id": "${env.PID}", "config": { "url": "${env.URL}" } }]);
        let errors = run(input, &[]).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["[0].provider_id", "[0].config.url"]);
    }

    #[test]
    fn disabling_applies_to_any_list_of_objects_with_provider_id() {
        let input = json!({ "registered_resources": {
            "shields": [
                { "shield_id": "${env.SAFETY_MODEL}", "provider_id": "${env.SAFETY_MODEL:+llama-guard}" },
                { "shield_id": "code", "provider_id": "code-scanner" },
            ],
            "datasets": [ { "dataset_id": "d" } ],
        }});
        let out = run(input, &[]).unwrap();
        assert_eq!(
            out["registered_resources"],
            json!({ "shields": [ { "shield_id": "code", "provider_id": "code-scanner" } ], "datasets": [ { "dataset_id": "d" } ] })
        );
    }

    #[test]
    fn numeric_provider_id_is_not_disabled() {
        let out = run(json!([{ "provider_id": "${env.P:=7}" }]), &[]).unwrap();
        assert_eq!(out, json!([{ "provider_id": 7 }]));
    }

    #[test]
    fn keys_are_not_expanded() {
        let out = run(json!({ "${env.K:=k}": "v" }), &[]).unwrap();
        assert_eq!(out, json!({ "${env.K:=k}": "v" }));
    }

    #[test]
    fn process_env_reads_the_real_environment() {
        // PATH is set in every environment cargo test runs in.
        assert!(process_env("PATH").is_some());
        assert_eq!(process_env("LLS_CONFIG_SURELY_UNSET_VARIABLE"), None);
    }
}
