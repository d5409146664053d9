//! Finding the real all-MiniLM-L6-v2 weights for tests: where the provider looks by default
//! (`scripts/models.sh` installs them). Absent weights skip a test with a note, unless
//! `LLS_REQUIRE_MODELS=1` (scripts/test.sh sets it), which makes absence a failure.

use std::path::PathBuf;

use lls_inference_inline_sentence_transformers::{DEFAULT_MODEL, SearchPaths};

/// The weights directory, or `None` (after a note on stderr) when a test should skip.
pub fn weights_dir(test: &str) -> Option<PathBuf> {
    match SearchPaths::from_env(None, &[]).find(DEFAULT_MODEL, true) {
        Ok(dir) => Some(dir),
        Err(looked) => {
            let looked: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
            let why = format!("{DEFAULT_MODEL} weights not found (looked in {}); run scripts/models.sh", looked.join(", "));
            #[allow(clippy::panic)]
            if std::env::var("LLS_REQUIRE_MODELS").is_ok_and(|v| v == "1") {
                panic!("{test}: LLS_REQUIRE_MODELS=1 but {why}");
            }
            eprintln!("{test}: skipped: {why}");
            None
        }
    }
}
