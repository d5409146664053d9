//! Generated artifacts: `docs/openapi.json`, derived from the server's route table. The file is
//! committed; `cargo xtask codegen --check` and a test in `xtask/tests/` fail when it is stale.

use std::path::PathBuf;

use anyhow::Context;

/// What [`openapi`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The file already held the current document.
    Unchanged,
    /// The file was (re)written.
    Written,
    /// `--check`: the file is missing or differs.
    Stale,
}

/// Where the document lives.
pub fn openapi_path() -> PathBuf {
    crate::workspace_root().join("docs").join("openapi.json")
}

/// The current document: pretty JSON with a trailing newline.
pub fn render_openapi() -> anyhow::Result<String> {
    lls_distribution_starter::link();
    let routes = lls_server::route_table();
    let document = lls_server::openapi::document(&routes);
    let mut text = serde_json::to_string_pretty(&document).context("serialising the OpenAPI document")?;
    text.push('\n');
    Ok(text)
}

/// Writes `docs/openapi.json`, or with `check` only compares it.
pub fn openapi(check: bool) -> anyhow::Result<Outcome> {
    let path = openapi_path();
    let fresh = render_openapi()?;
    let current = std::fs::read_to_string(&path).ok();
    if current.as_deref() == Some(fresh.as_str()) {
        return Ok(Outcome::Unchanged);
    }
    if check {
        return Ok(Outcome::Stale);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, fresh).with_context(|| format!("writing {}", path.display()))?;
    Ok(Outcome::Written)
}
