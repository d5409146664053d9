//! Records the git commit this binary is built from (`LLS_GIT_COMMIT`, shown by `--version`);
//! nothing when building outside a git checkout or without git.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LLS_GIT_COMMIT");
    let commit = std::env::var("LLS_GIT_COMMIT").ok().or_else(|| git(&["rev-parse", "--short=12", "HEAD"])).unwrap_or_default();
    println!("cargo:rustc-env=LLS_GIT_COMMIT={commit}");
    // Built again when HEAD moves: HEAD itself (a branch switch) and the branch's ref.
    for name in ["HEAD", "packed-refs"] {
        if let Some(path) = git(&["rev-parse", "--git-path", name]).filter(|p| Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(path) = git(&["rev-parse", "--git-path", &branch]).filter(|p| Path::new(p).exists())
    {
        println!("cargo:rerun-if-changed={path}");
    }
}
