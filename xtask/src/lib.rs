//! Repository automation behind `cargo xtask`: the gateway benchmark ([`bench`]), the generated
//! OpenAPI document ([`codegen`]) and the architecture checks run by `cargo test` ([`tidy`]).

pub mod bench;
pub mod codegen;
pub mod embeddings_bench;
pub mod host;
pub mod tidy;

use std::path::{Path, PathBuf};

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// The `cargo` that runs us (cargo sets `$CARGO` for its children), else `cargo` from `PATH`.
pub fn cargo_command() -> std::process::Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(workspace_root());
    cmd
}
