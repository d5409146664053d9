//! Source rules: `cfg(feature)` only where composition happens, a `//!` doc on every module,
//! no placeholder macros and no unsupervised background tasks in shipped code.

use std::path::Path;

use regex::Regex;

use super::{Checked, Violation, Workspace, slash};

pub const CFG_FEATURE: &str = "(g) feature cfgs appear only under distributions/";
pub const MODULE_DOCS: &str = "(h) every .rs file under apis/, crates/, providers/ (and xtask/) starts with a //! doc (or #![doc = ...])";
pub const NO_TODO: &str = "(i) no placeholder macros (todo, unimplemented) in non-test code";
pub const SUPERVISED: &str = "(p) background work is spawned through Tasks, never a bare tokio::spawn, in non-test code";

/// Files allowed a bare spawn, and why.
const BARE_SPAWN_ALLOWED: &[(&str, &str)] =
    [("crates/platform/server/src/serve.rs", "waits for the OS signal that begins the shutdown itself")].as_slice();

/// Lines with `//` comments blanked, so prose about a rule does not break it.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(n, line)| {
        let code = if line.trim_start().starts_with("//") { "" } else { line };
        (n + 1, code)
    })
}

fn under(path: &Path, tops: &[&str]) -> bool {
    path.components().next().and_then(|c| c.as_os_str().to_str()).is_some_and(|top| tops.contains(&top))
}

/// (g): a feature switch outside distributions/ means some crate composes itself.
pub fn cfg_feature_only_in_distributions(ws: &Workspace) -> Checked {
    let opener = Regex::new(r"\bcfg(?:_attr)?\s*!?\s*\(").map_err(|e| e.to_string())?;
    let feature = Regex::new(r"\bfeature\s*=").map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for file in ws.rust_files().iter().filter(|f| !under(f, &["distributions"])) {
        let Some(text) = ws.read(file) else { continue };
        let code: String = code_lines(&text).map(|(_, l)| format!("{l}\n")).collect();
        for m in opener.find_iter(&code) {
            if feature.is_match(balanced(&code[m.end()..])) {
                let line = code[..m.start()].matches('\n').count() + 1;
                out.push(Violation {
                    rule: CFG_FEATURE,
                    subject: format!("{}:{line}", slash(file)),
                    message: "uses a feature cfg; features select providers, and only distributions/ do that".to_owned(),
                });
            }
        }
    }
    Ok(out)
}

/// The text up to the parenthesis that closes an already opened one.
fn balanced(rest: &str) -> &str {
    let mut depth = 1usize;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &rest[..i];
                }
            }
            _ => {}
        }
    }
    rest
}

/// (h): every module says what it is for before anything else.
pub fn module_docs(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for file in ws.rust_files().iter().filter(|f| under(f, &["apis", "crates", "providers", "xtask"])) {
        let Some(text) = ws.read(file) else { continue };
        // The doc is `//!` or `#![doc = ...]` (a crate whose docs are its README); other inner
        // attributes may share the top with it, nothing else may precede it.
        let is_doc = |l: &str| l.starts_with("//!") || l.starts_with("#![doc");
        let first = text.lines().map(str::trim).find(|l| !l.is_empty() && (is_doc(l) || !l.starts_with("#![")));
        if !first.is_some_and(is_doc) {
            out.push(Violation {
                rule: MODULE_DOCS,
                subject: slash(file),
                message: "does not start with a `//!` doc comment (what the module is for, in two lines)".to_owned(),
            });
        }
    }
    Ok(out)
}

/// (i): placeholders panic at run time; shipped code (a crate's `src/` and `build.rs`, up to the
/// first `#[cfg(test)]` of a file, without `tests.rs` modules) must not contain them.
pub fn no_todo(ws: &Workspace) -> Checked {
    // Spelled in pieces so this file does not trip its own rule.
    let needles = [concat!("todo", "!("), concat!("unimplemented", "!(")];
    shipped_lines_containing(ws, &needles, NO_TODO, |needle| format!("`{needle})` in non-test code; return an `unsupported` error instead"))
}

/// (p): a task spawned with `tokio::spawn` is invisible to shutdown (it is neither signalled
/// nor waited for); code the server runs spawns through `lls_api_common::Tasks` (test servers
/// in `crates/testkit` and the `xtask` tools are not part of it).
pub fn supervised_background_work(ws: &Workspace) -> Checked {
    let needles = [concat!("tokio::", "spawn("), concat!("tokio::task::", "spawn(")];
    let found = shipped_lines_containing(ws, &needles, SUPERVISED, |needle| {
        format!("`{needle}` in non-test code; spawn through the `tasks: Tasks` of the BuildContext or ServiceContext")
    })?;
    let exempt = |subject: &str| {
        subject.starts_with("crates/testkit/")
            || subject.starts_with("xtask/")
            || BARE_SPAWN_ALLOWED.iter().any(|(file, _)| subject.starts_with(&format!("{file}:")))
    };
    Ok(found.into_iter().filter(|v| !exempt(&v.subject)).collect())
}

/// Violations of `rule` for each line of shipped code containing one of `needles`.
fn shipped_lines_containing(ws: &Workspace, needles: &[&str], rule: &'static str, message: impl Fn(&str) -> String) -> Checked {
    let mut out = Vec::new();
    for file in ws.rust_files() {
        let shipped = ws.packages.iter().any(|p| file.starts_with(p.dir.join("src")) || file == p.dir.join("build.rs"));
        // `src/**/tests.rs` and `src/**/tests/` hold `#[cfg(test)] mod tests;` bodies.
        let test_module = file.file_stem().is_some_and(|s| s == "tests") || file.components().any(|c| c.as_os_str() == "tests");
        if !shipped || test_module {
            continue;
        }
        let Some(text) = ws.read(&file) else { continue };
        for (line_no, line) in code_lines(&text) {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            if let Some(needle) = needles.iter().find(|n| line.contains(**n)) {
                out.push(Violation { rule, subject: format!("{}:{line_no}", slash(&file)), message: message(needle) });
            }
        }
    }
    Ok(out)
}
