//! The template language of prompts, as 0.3.5 reads it: `{{ name }}` placeholders (the pattern
//! `\{\{\s*(\w+)\s*\}\}`), the checks a stored prompt must pass, and rendering with values.

use std::collections::{BTreeMap, BTreeSet};

use lls_api_common::{Error, Result};

/// Where an id's 48 lowercase hex digits follow.
pub const ID_PREFIX: &str = "pmpt_";
/// How many hex digits follow the prefix.
pub const ID_HEX_DIGITS: usize = 48;

/// One placeholder: its byte range in the template and the variable it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Placeholder<'a> {
    start: usize,
    end: usize,
    name: &'a str,
}

/// Python's `\s` in a str pattern: Unicode whitespace plus the four ASCII separators.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `\w` in a str pattern: alphanumerics and the underscore.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The placeholder that starts at `start` (where `{{` stands), if one does.
fn placeholder_at(template: &str, start: usize) -> Option<Placeholder<'_>> {
    let inner = start + 2;
    let rest = &template[inner..];
    let name_start = inner + (rest.len() - rest.trim_start_matches(is_space).len());
    let name_len: usize = template[name_start..]
        .chars()
        .take_while(|c| is_word(*c))
        .map(char::len_utf8)
        .sum();
    if name_len == 0 {
        return None;
    }
    let name_end = name_start + name_len;
    let after = template[name_end..].trim_start_matches(is_space);
    after.starts_with("}}").then(|| Placeholder {
        start,
        end: template.len() - after.len() + 2,
        name: &template[name_start..name_end],
    })
}

/// Every placeholder, left to right, not overlapping (as `re.findall` finds them).
fn placeholders(template: &str) -> Vec<Placeholder<'_>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = template[from..].find("{{") {
        let start = from + offset;
        match placeholder_at(template, start) {
            Some(p) => {
                from = p.end;
                found.push(p);
            }
            // `{` is one byte: the next try starts at the second brace.
            None => from = start + 1,
        }
    }
    found
}

/// The variables a template uses, sorted, each once.
pub fn variables_used(template: &str) -> BTreeSet<&str> {
    placeholders(template).into_iter().map(|p| p.name).collect()
}

/// Python's `repr` of a sorted list of names (`['a', 'b']`), as 0.3.5's messages show them.
pub fn name_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = names.into_iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// A template's text must declare every variable it uses (0.3.5's model validation).
pub fn check_declared(template: &str, declared: &[String]) -> Result<()> {
    let undeclared: Vec<&str> = variables_used(template)
        .into_iter()
        .filter(|name| !declared.iter().any(|d| d == name))
        .collect();
    if undeclared.is_empty() {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Prompt contains undeclared variables: {}",
        name_list(undeclared)
    ))
    .with_param("variables"))
}

/// Whether `id` is `pmpt_` and 48 lowercase hex digits.
pub fn is_prompt_id(id: &str) -> bool {
    id.strip_prefix(ID_PREFIX).is_some_and(|hex| {
        hex.len() == ID_HEX_DIGITS && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// A 400 unless `id` is a prompt id (checked before any store is asked).
pub fn check_prompt_id(id: &str) -> Result<()> {
    if is_prompt_id(id) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Invalid prompt id '{id}': expected 'pmpt_' followed by 48 lowercase hex characters"
    ))
    .with_param("prompt_id"))
}

/// A 400 unless `version` is at least 1.
pub fn check_version(version: i64) -> Result<()> {
    if version >= 1 {
        return Ok(());
    }
    Err(Error::invalid(format!("version must be >= 1, got {version}")).with_param("version"))
}

/// The template with each placeholder whose variable has a value replaced by it; the others
/// stay as written.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut copied = 0;
    for p in placeholders(template) {
        if let Some(value) = values.get(p.name) {
            out.push_str(&template[copied..p.start]);
            out.push_str(value);
            copied = p.end;
        }
    }
    out.push_str(&template[copied..]);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(t: &str) -> Vec<&str> {
        variables_used(t).into_iter().collect()
    }

    #[test]
    fn placeholders_as_pythons_pattern_finds_them() {
        assert_eq!(names("Hello {{ name }}, from {{city}}!"), ["city", "name"]);
        assert_eq!(names("{{\tname\n}} {{ name }}"), ["name"]);
        // Not placeholders: no name, two names, a dash, single braces.
        assert!(names("{{ }} {{ a b }} {{ a-b }} { a } {{a}").is_empty());
        // A third brace: the match starts at the second.
        assert_eq!(names("{{{ inner }}}"), ["inner"]);
        assert_eq!(names("{{ café_2 }}"), ["café_2"]);
    }

    #[test]
    fn undeclared_variables_are_named_sorted() {
        assert!(check_declared("Hi {{ a }}", &["a".into(), "unused".into()]).is_ok());
        assert!(check_declared("no variables", &[]).is_ok());
        let e = check_declared("{{ z }} {{ a }} {{ b }}", &["b".into()]).unwrap_err();
        assert_eq!(e.kind(), lls_api_common::ErrorKind::InvalidRequest);
        assert_eq!(
            e.message(),
            "Prompt contains undeclared variables: ['a', 'z']"
        );
    }

    #[test]
    fn ids_and_versions() {
        let good = format!("pmpt_{}", "0a".repeat(24));
        assert!(is_prompt_id(&good));
        assert!(check_prompt_id(&good).is_ok());
        for bad in [
            "pmpt_",
            "invalid_id",
            &format!("pmpt_{}", "0A".repeat(24)),
            &format!("pmpt_{}", "0a".repeat(25)),
            &format!("prmt_{}", "0a".repeat(24)),
            &format!("pmpt_{}g", "0".repeat(47)),
        ] {
            assert!(!is_prompt_id(bad), "{bad}");
            assert_eq!(check_prompt_id(bad).unwrap_err().param(), Some("prompt_id"));
        }
        assert!(check_version(1).is_ok());
        assert!(check_version(0).is_err());
        assert!(check_version(-3).is_err());
    }

    #[test]
    fn render_replaces_known_variables_only() {
        let values: BTreeMap<String, String> = [("name", "Ada"), ("city", "{{ name }}")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        // A value is not scanned again; an unknown placeholder stays as written.
        assert_eq!(
            render("Hi {{ name }} of {{city}}, {{ other }}.", &values),
            "Hi Ada of {{ name }}, {{ other }}."
        );
        assert_eq!(render("", &values), "");
        assert_eq!(render("plain", &BTreeMap::new()), "plain");
    }
}
