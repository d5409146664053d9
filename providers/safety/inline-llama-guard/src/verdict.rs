//! Reading the guard model's answer into run-shield and moderation results (0.3.5's rules),
//! never passing an answer it cannot read.

use std::collections::BTreeMap;

use lls_api_safety::{ModerationResult, SafetyViolation, ViolationLevel};
use serde_json::{Map, Value};

use crate::GuardError;
use crate::categories::{ALL_CATEGORIES, name_for_code};

/// The user-facing text of every Llama Guard violation.
pub const CANNED_RESPONSE_TEXT: &str = "I can't answer that. Can I help with something else?";

/// `^unsafe\n(.*)$` on the trimmed answer: the second line (no further newline).
fn unsafe_codes_line(trimmed: &str) -> Option<&str> {
    let rest = trimmed.strip_prefix("unsafe\n")?;
    if rest.contains('\n') || rest.is_empty() {
        return None;
    }
    Some(rest)
}

/// Every comma-separated piece of `line` (not trimmed, as 0.3.5) is excluded.
fn all_codes_excluded(line: &str, excluded: &[String]) -> bool {
    line.split(',').all(|code| excluded.iter().any(|e| e == code))
}

/// run-shield: exactly `safe` → no violation; `unsafe\n<codes>` → an `error` violation with the
/// canned message and `{"violation_type": "<codes>"}` (the raw line), unless every code is
/// excluded; anything else → [`GuardError::UnexpectedResponse`].
pub fn run_shield_verdict(model_output: Option<&str>, excluded: &[String]) -> Result<Option<SafetyViolation>, GuardError> {
    let trimmed = model_output.ok_or(GuardError::MissingModelContent)?.trim();
    if trimmed == "safe" {
        return Ok(None);
    }
    let line = unsafe_codes_line(trimmed).ok_or_else(|| GuardError::UnexpectedResponse(trimmed.to_owned()))?;
    if all_codes_excluded(line, excluded) {
        return Ok(None);
    }
    let mut metadata = Map::new();
    metadata.insert("violation_type".into(), Value::String(line.to_owned()));
    Ok(Some(SafetyViolation { violation_level: ViolationLevel::Error, user_message: Some(CANNED_RESPONSE_TEXT.into()), metadata }))
}

/// The result for a safe text, as 0.3.5 writes it: every category false with score 1.0 (sic;
/// upstream's tests check it), no input types.
pub fn safe_result() -> ModerationResult {
    result_for(&[], None, Map::new())
}

fn result_for(codes: &[String], user_message: Option<String>, metadata: Map<String, Value>) -> ModerationResult {
    let flagged = !codes.is_empty();
    let hit = |name: &str| codes.iter().any(|c| name_for_code(c) == Some(name));
    let mut categories = BTreeMap::new();
    let mut scores = BTreeMap::new();
    let mut input_types = BTreeMap::new();
    for c in &ALL_CATEGORIES {
        let on = hit(c.name);
        categories.insert(c.name.to_owned(), on);
        scores.insert(c.name.to_owned(), if !flagged || on { 1.0 } else { 0.0 });
        input_types.insert(c.name.to_owned(), if on { vec!["text".to_owned()] } else { Vec::new() });
    }
    ModerationResult {
        flagged,
        categories: Some(categories),
        category_applied_input_types: Some(input_types),
        category_scores: Some(scores),
        user_message,
        metadata,
    }
}

/// Moderations: an answer starting with `safe` (any case) is safe; otherwise it must be
/// `unsafe\n<codes>`; all codes excluded → safe; a code outside S1–S14 is an error (0.3.5 passes
/// it silently); else flagged: the named categories true with score 1.0 and input type `text`,
/// the canned message, `{"violation_type": [codes]}`. Maps are keyed by Llama Guard's category
/// names, all fourteen, as 0.3.5 writes them.
pub fn moderation_verdict(model_output: Option<&str>, excluded: &[String]) -> Result<ModerationResult, GuardError> {
    let trimmed = model_output.ok_or(GuardError::MissingModelContent)?.trim();
    if trimmed.to_lowercase().starts_with("safe") {
        return Ok(safe_result());
    }
    let line = unsafe_codes_line(trimmed).ok_or_else(|| GuardError::UnexpectedResponse(trimmed.to_owned()))?;
    if all_codes_excluded(line, excluded) {
        return Ok(safe_result());
    }
    let codes: Vec<String> = line.split(',').map(|c| c.trim().to_owned()).collect();
    let unknown: Vec<String> = codes.iter().filter(|c| name_for_code(c).is_none()).cloned().collect();
    if !unknown.is_empty() {
        return Err(GuardError::UnknownCategoryCodes(unknown));
    }
    let mut metadata = Map::new();
    metadata.insert("violation_type".into(), Value::Array(codes.iter().cloned().map(Value::String).collect()));
    Ok(result_for(&codes, Some(CANNED_RESPONSE_TEXT.into()), metadata))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn shield_safe_and_unsafe() {
        assert_eq!(run_shield_verdict(Some("safe"), &[]), Ok(None));
        assert_eq!(run_shield_verdict(Some("  \n safe \n"), &[]), Ok(None));
        let v = run_shield_verdict(Some("unsafe\nS1,S2"), &[]).unwrap().unwrap();
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            json!({"violation_level": "error", "user_message": "I can't answer that. Can I help with something else?",
                   "metadata": {"violation_type": "S1,S2"}})
        );
        // The raw line is kept, spaces included; unknown codes still violate.
        let v = run_shield_verdict(Some("\nunsafe\n S1, S99 \n"), &[]).unwrap().unwrap();
        assert_eq!(v.metadata["violation_type"], json!(" S1, S99"));
    }

    #[test]
    fn shield_exclusions() {
        let ex = s(&["S1", "S2"]);
        assert_eq!(run_shield_verdict(Some("unsafe\nS1"), &ex), Ok(None));
        assert_eq!(run_shield_verdict(Some("unsafe\nS2,S1"), &ex), Ok(None));
        assert!(run_shield_verdict(Some("unsafe\nS1,S3"), &ex).unwrap().is_some());
        // Pieces are not trimmed for the exclusion check.
        assert!(run_shield_verdict(Some("unsafe\nS1, S2"), &ex).unwrap().is_some());
    }

    #[test]
    fn shield_unexpected_answers_are_errors_never_passes() {
        for bad in ["Safe", "SAFE", "unsafe", "unsafe S1", "unsafe\nS1\nS2", "unsafe\r\nS1", "I think it's fine", ""] {
            let err = run_shield_verdict(Some(bad), &[]).unwrap_err();
            assert_eq!(err, GuardError::UnexpectedResponse(bad.trim().to_string()), "{bad:?}");
        }
        assert_eq!(run_shield_verdict(Some("maybe"), &[]).unwrap_err().to_string(), "Unexpected response: maybe");
        assert_eq!(run_shield_verdict(None, &[]), Err(GuardError::MissingModelContent));
    }

    #[test]
    fn moderation_safe_shape() {
        let r = moderation_verdict(Some("safe"), &[]).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["flagged"], json!(false));
        assert_eq!(v["categories"]["Violent Crimes"], json!(false));
        assert_eq!(v["category_scores"]["Code Interpreter Abuse"], json!(1.0));
        assert_eq!(v["category_applied_input_types"]["Hate"], json!([]));
        assert_eq!(v["user_message"], Value::Null);
        assert_eq!(v["metadata"], json!({}));
        assert_eq!(v["categories"].as_object().unwrap().len(), 14);
        for ok in ["Safe", "SAFE\nS1", "safety first"] {
            assert_eq!(moderation_verdict(Some(ok), &[]).unwrap(), safe_result());
        }
    }

    #[test]
    fn moderation_flagged_shape() {
        let r = moderation_verdict(Some("unsafe\nS1, S10"), &[]).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["flagged"], json!(true));
        assert_eq!((v["categories"]["Violent Crimes"].clone(), v["categories"]["Hate"].clone()), (json!(true), json!(true)));
        assert_eq!(v["categories"]["Privacy"], json!(false));
        assert_eq!((v["category_scores"]["Hate"].clone(), v["category_scores"]["Privacy"].clone()), (json!(1.0), json!(0.0)));
        assert_eq!(v["category_applied_input_types"]["Violent Crimes"], json!(["text"]));
        assert_eq!(v["category_applied_input_types"]["Privacy"], json!([]));
        assert_eq!(v["user_message"], json!(CANNED_RESPONSE_TEXT));
        assert_eq!(v["metadata"], json!({"violation_type": ["S1", "S10"]}));
    }

    #[test]
    fn moderation_exclusions_unknown_codes_and_errors() {
        let ex = s(&["S1"]);
        assert!(!moderation_verdict(Some("unsafe\nS1"), &ex).unwrap().flagged);
        assert!(moderation_verdict(Some("unsafe\nS1, S1"), &ex).unwrap().flagged);
        // Unknown codes: 0.3.5 silently answers safe; here it is an error.
        assert_eq!(moderation_verdict(Some("unsafe\nS1,S15"), &[]), Err(GuardError::UnknownCategoryCodes(s(&["S15"]))));
        for bad in ["unsafe", "Unsafe\nS1", "unsafe\nS1\nS2", "no"] {
            assert_eq!(moderation_verdict(Some(bad), &[]), Err(GuardError::UnexpectedResponse(bad.to_string())));
        }
    }
}
