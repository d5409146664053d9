//! Finding the real all-MiniLM-L6-v2 weights for tests: where the provider looks by default
//! (`scripts/models.sh` installs them). Absent weights fail a test, unless
//! `LLS_TEST_NO_MODELS=1`, which lets it pass without running and says so on stderr.

use std::path::PathBuf;

use lls_inference_inline_sentence_transformers::{DEFAULT_MODEL, SearchPaths};
use lls_testkit::Prerequisite;

pub const WEIGHTS: Prerequisite = Prerequisite {
    what: "the all-MiniLM-L6-v2 weights",
    how: "scripts/models.sh",
    opt_out: "LLS_TEST_NO_MODELS",
};

/// The weights directory, or `None` when the developer opted out (see [`WEIGHTS`]).
pub fn weights_dir(test: &str) -> Option<PathBuf> {
    match SearchPaths::from_env(None, &[]).find(DEFAULT_MODEL, true) {
        Ok(dir) => Some(dir),
        Err(looked) => {
            let looked: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
            let why = format!("{DEFAULT_MODEL} weights not found (looked in {})", looked.join(", "));
            WEIGHTS.require(&format!("{} {test}", env!("CARGO_PKG_NAME")), None, &why)
        }
    }
}
