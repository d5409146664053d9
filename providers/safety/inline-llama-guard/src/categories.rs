//! Llama Guard hazard categories S1..S14 and which of them a given shield model uses.

use crate::GuardError;

/// One hazard category: its code (`S1`) and its display name (`Violent Crimes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    pub code: &'static str,
    pub name: &'static str,
}

const fn cat(code: &'static str, name: &'static str) -> Category {
    Category { code, name }
}

/// All fourteen categories, in code order. The moderation result maps always
/// list all fourteen names in this order, whatever the model.
pub const ALL_CATEGORIES: [Category; 14] = [
    cat("S1", "Violent Crimes"),
    cat("S2", "Non-Violent Crimes"),
    cat("S3", "Sex Crimes"),
    cat("S4", "Child Exploitation"),
    cat("S5", "Defamation"),
    cat("S6", "Specialized Advice"),
    cat("S7", "Privacy"),
    cat("S8", "Intellectual Property"),
    cat("S9", "Indiscriminate Weapons"),
    cat("S10", "Hate"),
    cat("S11", "Self-Harm"),
    cat("S12", "Sexual Content"),
    cat("S13", "Elections"),
    cat("S14", "Code Interpreter Abuse"),
];

/// S1..S13: the Llama Guard 3 default set (no Code Interpreter Abuse).
pub fn lg3_default_categories() -> &'static [Category] {
    &ALL_CATEGORIES[..13]
}

/// S1..S14: the default set plus Code Interpreter Abuse.
pub fn lg3_with_code_interpreter() -> &'static [Category] {
    &ALL_CATEGORIES[..]
}

/// Model ids (exact, case-sensitive) that get only S1..S13. Both the short
/// Llama model descriptor and the Hugging Face repo id are recognised.
const MODELS_WITHOUT_S14: [&str; 6] = [
    "Llama-Guard-3-1B",
    "meta-llama/Llama-Guard-3-1B",
    "Llama-Guard-3-11B-Vision",
    "meta-llama/Llama-Guard-3-11B-Vision",
    "Llama-Guard-4-12B",
    "meta-llama/Llama-Guard-4-12B",
];

/// The model id upstream treats as the vision guard (run-shield only; exact
/// short descriptor, not the Hugging Face id).
pub const VISION_MODEL_ID: &str = "Llama-Guard-3-11B-Vision";

/// Categories offered to the model for a shield whose `provider_resource_id`
/// is `model_id`.
///
/// Rule (upstream 0.3.5): Llama-Guard-3-8B (either spelling) gets S1..S14;
/// Llama-Guard-3-1B, -3-11B-Vision and -4-12B (either spelling) get S1..S13;
/// every other id (e.g. `ollama/llama-guard3:1b`, `Llama-Guard-2-8B`, any
/// provider-prefixed id) is treated like Llama-Guard-3-8B and gets S1..S14.
pub fn categories_for_model(model_id: &str) -> &'static [Category] {
    if MODELS_WITHOUT_S14.contains(&model_id) {
        lg3_default_categories()
    } else {
        lg3_with_code_interpreter()
    }
}

/// Category name for a code (`"S10"` -> `"Hate"`), exact match only.
pub fn name_for_code(code: &str) -> Option<&'static str> {
    ALL_CATEGORIES.iter().find(|c| c.code == code).map(|c| c.name)
}

/// Checks `excluded_categories`: every entry must be exactly one of `S1`..`S14`
/// (case-sensitive, no surrounding spaces). `S14` is accepted even for models
/// that do not use it. Upstream rejects (rather than ignores) unknown entries,
/// on every request.
pub fn validate_excluded(excluded: &[String]) -> Result<(), GuardError> {
    let invalid: Vec<String> = excluded
        .iter()
        .filter(|c| name_for_code(c).is_none())
        .cloned()
        .collect();
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(GuardError::InvalidExcludedCategories { invalid })
    }
}

/// The category lines that go into the prompt, e.g. `"S1: Violent Crimes."`.
///
/// Categories in `excluded` are left out, except that when `excluded` (as a
/// set) is exactly all fourteen codes, nothing is left out.
pub fn prompt_category_lines(model_categories: &[Category], excluded: &[String]) -> Vec<String> {
    let excludes_everything = ALL_CATEGORIES
        .iter()
        .all(|c| excluded.iter().any(|e| e == c.code))
        && excluded.iter().all(|e| name_for_code(e).is_some());
    model_categories
        .iter()
        .filter(|c| excludes_everything || !excluded.iter().any(|e| e == c.code))
        .map(|c| format!("{}: {}.", c.code, c.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn codes_and_names() {
        assert_eq!(name_for_code("S1"), Some("Violent Crimes"));
        assert_eq!(name_for_code("S6"), Some("Specialized Advice"));
        assert_eq!(name_for_code("S11"), Some("Self-Harm"));
        assert_eq!(name_for_code("S14"), Some("Code Interpreter Abuse"));
        assert_eq!(name_for_code("s1"), None);
        assert_eq!(name_for_code(" S1"), None);
        assert_eq!(name_for_code("S15"), None);
        for (i, c) in ALL_CATEGORIES.iter().enumerate() {
            assert_eq!(c.code, format!("S{}", i + 1));
        }
    }

    #[test]
    fn model_category_sets() {
        for m in ["Llama-Guard-3-8B", "meta-llama/Llama-Guard-3-8B"] {
            assert_eq!(categories_for_model(m).len(), 14, "{m}");
        }
        for m in MODELS_WITHOUT_S14 {
            assert_eq!(categories_for_model(m).len(), 13, "{m}");
            assert!(categories_for_model(m).iter().all(|c| c.code != "S14"));
        }
        // Unknown ids default to the 8B set (with S14).
        for m in [
            "ollama/llama-guard3:1b",
            "llama-guard3:8b",
            "Llama-Guard-2-8B",
            "llama-guard-3-1b",
            "together/meta-llama/Llama-Guard-3-1B",
        ] {
            assert_eq!(categories_for_model(m).len(), 14, "{m}");
        }
    }

    #[test]
    fn excluded_validation() {
        assert!(validate_excluded(&[]).is_ok());
        assert!(validate_excluded(&s(&["S1", "S14", "S1"])).is_ok());
        let err = validate_excluded(&s(&["S1", "s2", "S15", "Hate"])).unwrap_err();
        assert_eq!(
            err,
            GuardError::InvalidExcludedCategories { invalid: s(&["s2", "S15", "Hate"]) }
        );
        assert!(err.to_string().starts_with(
            "Invalid categories in excluded categories. Expected format is ['S1', 'S2', ..]"
        ));
    }

    #[test]
    fn prompt_lines_with_exclusions() {
        let all = lg3_with_code_interpreter();
        let lines = prompt_category_lines(all, &[]);
        assert_eq!(lines.len(), 14);
        assert_eq!(lines[0], "S1: Violent Crimes.");
        assert_eq!(lines[13], "S14: Code Interpreter Abuse.");

        let lines = prompt_category_lines(all, &s(&["S2", "S14"]));
        assert_eq!(lines.len(), 12);
        assert!(!lines.iter().any(|l| l.starts_with("S2:") || l.starts_with("S14:")));

        // Excluding all fourteen codes excludes nothing.
        let every: Vec<String> = ALL_CATEGORIES.iter().map(|c| c.code.to_string()).collect();
        assert_eq!(prompt_category_lines(all, &every).len(), 14);
        // ...but excluding S1..S13 on a 13-category model leaves no lines.
        let thirteen: Vec<String> = every[..13].to_vec();
        assert!(prompt_category_lines(lg3_default_categories(), &thirteen).is_empty());
        // Excluding S14 on a 13-category model changes nothing.
        assert_eq!(prompt_category_lines(lg3_default_categories(), &s(&["S14"])).len(), 13);
    }
}
