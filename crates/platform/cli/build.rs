//! Records the git commit this binary is built from (`LLS_GIT_COMMIT`, shown by `--version`),
//! read from the checkout's `.git` files (no git process); empty outside a git checkout.

use std::path::{Path, PathBuf};

/// The `.git` folder of the checkout holding `dir` (a worktree's `.git` file points at it).
fn git_dir(mut dir: &Path) -> Option<PathBuf> {
    loop {
        let candidate = dir.join(".git");
        if candidate.is_dir() {
            return Some(candidate);
        }
        if let Ok(text) = std::fs::read_to_string(&candidate) {
            return text.strip_prefix("gitdir:").map(|p| dir.join(p.trim()));
        }
        dir = dir.parent()?;
    }
}

/// The commit HEAD names, watching the files it was read from.
fn head_commit(git: &Path) -> Option<String> {
    let head = git.join("HEAD");
    println!("cargo:rerun-if-changed={}", head.display());
    let text = std::fs::read_to_string(&head).ok()?;
    let Some(reference) = text.trim().strip_prefix("ref:").map(str::trim) else {
        return Some(text.trim().to_owned());
    };
    // A worktree keeps its HEAD apart but its refs in the common folder.
    let common = std::fs::read_to_string(git.join("commondir")).map_or_else(|_| git.to_owned(), |c| git.join(c.trim()));
    let loose = common.join(reference);
    println!("cargo:rerun-if-changed={}", loose.display());
    if let Ok(hash) = std::fs::read_to_string(&loose) {
        return Some(hash.trim().to_owned());
    }
    let packed = common.join("packed-refs");
    println!("cargo:rerun-if-changed={}", packed.display());
    let packed = std::fs::read_to_string(packed).ok()?;
    packed.lines().find_map(|l| l.strip_suffix(reference).map(|h| h.trim().to_owned()))
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LLS_GIT_COMMIT");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let commit = std::env::var("LLS_GIT_COMMIT")
        .ok()
        .or_else(|| git_dir(Path::new(&manifest)).and_then(|g| head_commit(&g)))
        .filter(|c| c.len() >= 7 && c.chars().all(|ch| ch.is_ascii_hexdigit()))
        .map(|c| c[..12.min(c.len())].to_owned())
        .unwrap_or_default();
    println!("cargo:rustc-env=LLS_GIT_COMMIT={commit}");
}
