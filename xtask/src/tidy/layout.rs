//! Layout rules: every provider crate has the same file set and one name everywhere
//! (folder, package, provider type, distribution feature), and `ARCHITECTURE.md`'s code map
//! stays true to the workspace.

use std::path::{Path, PathBuf};

use regex::Regex;

use super::{Area, Checked, DepKind, Package, Violation, Workspace, slash};

pub const FILE_SET: &str =
    "(e) every provider crate has README.md, src/lib.rs (PROVIDER_TYPE + register_provider!), src/config.rs, tests/conformance.rs";
pub const NAMING: &str = "(f) providers/<api>/<inline|remote>-<name> <-> lls-<api>-<inline|remote>-<name> <-> <inline|remote>::<name> <-> feature <api>-<inline|remote>-<name>";
pub const MEMBERS: &str = "(k) every crate folder under apis/, crates/*/, providers/, distributions/ is a workspace member";
pub const CODE_MAP: &str = "(j) ARCHITECTURE.md names every workspace member's path";
pub const CODE_MAP_TRUE: &str = "(j) every repository path quoted in ARCHITECTURE.md exists";

/// (e): a new provider is one folder with a known shape (OpenDAL's service crates).
pub fn provider_file_set(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for p in ws.in_area(Area::Providers) {
        let mut missing = |what: String| out.push(Violation { rule: FILE_SET, subject: p.describe(), message: what });
        if !ws.root.join(&p.dir).join("README.md").is_file() {
            missing("README.md is missing (what it wraps, config table with defaults, example run.yaml block)".to_owned());
        }
        let lib = ws.read(&p.dir.join("src/lib.rs")).unwrap_or_default();
        if lib.is_empty() {
            missing("src/lib.rs is missing or empty".to_owned());
        } else {
            if provider_type(&lib).is_none() {
                missing("src/lib.rs declares no `pub const PROVIDER_TYPE: &str = \"...\"`".to_owned());
            }
            if !lib.contains("register_provider!") {
                missing("src/lib.rs has no `register_provider!` call".to_owned());
            }
        }
        if !ws.root.join(&p.dir).join("src/config.rs").is_file() {
            missing("src/config.rs is missing (serde config with deny_unknown_fields, defaults and validate())".to_owned());
        }
        match ws.read(&p.dir.join("tests/conformance.rs")) {
            None => missing("tests/conformance.rs is missing (one macro call into the API's conformance suite)".to_owned()),
            Some(text) if !text.contains("conformance!") => {
                missing("tests/conformance.rs does not call the API's conformance macro (`..._conformance!`)".to_owned());
            }
            Some(_) => {}
        }
    }
    Ok(out)
}

/// The `PROVIDER_TYPE` value declared in `lib`.
fn provider_type(lib: &str) -> Option<String> {
    let re = Regex::new(r#"const\s+PROVIDER_TYPE\s*:\s*&\s*(?:'static\s+)?str\s*=\s*"([^"]*)""#).ok()?;
    re.captures(lib).and_then(|c| c.get(1)).map(|m| m.as_str().to_owned())
}

/// `providers/<api>/<kind>-<name>` split into `(api, kind, name)`.
fn provider_parts(dir: &Path) -> Option<(String, String, String)> {
    let parts: Vec<String> = dir.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let [top, api, leaf] = parts.as_slice() else { return None };
    let (kind, name) = leaf.split_once('-')?;
    (top == "providers" && matches!(kind, "inline" | "remote") && !name.is_empty() && !api.is_empty())
        .then(|| (api.clone(), kind.to_owned(), name.to_owned()))
}

/// (f): one name everywhere, so a provider can be found from any of its names.
pub fn provider_naming(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    let mut push = |subject: String, message: String| out.push(Violation { rule: NAMING, subject, message });
    for p in ws.in_area(Area::Providers) {
        let Some((api, kind, name)) = provider_parts(&p.dir) else {
            push(p.describe(), "the folder is not providers/<api>/<inline|remote>-<name>".to_owned());
            continue;
        };
        let expected = format!("lls-{api}-{kind}-{name}");
        if p.name != expected {
            push(p.describe(), format!("the package should be named `{expected}` after its folder"));
        }
        // Upstream types may spell a word break `_` (`remote::trustyai_fms`); folders and
        // packages always spell it `-`.
        if let Some(declared) = ws.read(&p.dir.join("src/lib.rs")).as_deref().and_then(provider_type)
            && declared.replace('_', "-") != format!("{kind}::{name}")
        {
            push(p.describe(), format!("PROVIDER_TYPE is \"{declared}\" but the folder says \"{kind}::{name}\""));
        }
    }
    for folder in provider_folders(ws) {
        if !ws.packages.iter().any(|p| p.dir == folder) {
            push(
                slash(&folder),
                "this provider folder is not a workspace member (add it to `members` in Cargo.toml, or remove it)".to_owned(),
            );
        }
    }
    for dist in ws.in_area(Area::Distributions) {
        distribution_features(ws, dist, &mut push);
    }
    Ok(out)
}

/// Every folder `providers/<api>/<leaf>` on disk.
fn provider_folders(ws: &Workspace) -> Vec<PathBuf> {
    let mut folders = Vec::new();
    let Ok(apis) = std::fs::read_dir(ws.root.join("providers")) else { return folders };
    for api in apis.flatten().filter(|e| e.path().is_dir()) {
        let Ok(leaves) = std::fs::read_dir(api.path()) else { continue };
        for leaf in leaves.flatten().filter(|e| e.path().is_dir()) {
            folders.push(PathBuf::from("providers").join(api.file_name()).join(leaf.file_name()));
        }
    }
    folders.sort();
    folders
}

/// Each provider a distribution depends on sits behind its own feature, and `src/providers.rs`
/// names the crate under that feature (else rustc drops it and its registration).
fn distribution_features(ws: &Workspace, dist: &Package, push: &mut impl FnMut(String, String)) {
    let providers_rs = ws.read(&dist.dir.join("src/providers.rs"));
    for dep in dist.deps.iter().filter(|d| d.kind == DepKind::Normal && d.area() == Some(Area::Providers)) {
        let Some((api, kind, name)) = dep.path.as_deref().and_then(provider_parts) else { continue };
        let feature = format!("{api}-{kind}-{name}");
        if !dep.optional {
            push(dist.describe(), format!("{} should be an optional dependency behind feature `{feature}`", dep.describe()));
        }
        let enables = dist.features.get(&feature).is_some_and(|f| f.iter().any(|x| x == &format!("dep:{}", dep.name) || x == &dep.name));
        if !enables {
            push(dist.describe(), format!("has no feature `{feature}` that enables `dep:{}`", dep.name));
        }
        let ident = dep.name.replace('-', "_");
        let linked = providers_rs
            .as_deref()
            .is_some_and(|t| t.contains(&format!("extern crate {ident} as _")) && t.contains(&format!("feature = \"{feature}\"")));
        if !linked {
            push(
                format!("{}/src/providers.rs", slash(&dist.dir)),
                format!(
                    "lacks `extern crate {ident} as _;` under feature \"{feature}\" (without it the provider's registration is dropped)"
                ),
            );
        }
    }
}

/// (k): a crate outside `members` is neither built, tested nor checked by these rules.
pub fn every_crate_is_a_member(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for top in ["apis", "crates", "providers", "distributions"] {
        for manifest in manifests(&ws.root, &ws.root.join(top)) {
            let dir = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
            if !ws.packages.iter().any(|p| p.dir == dir) {
                out.push(Violation {
                    rule: MEMBERS,
                    subject: slash(&dir),
                    message: "has a Cargo.toml but is not in `members` of the workspace Cargo.toml".to_owned(),
                });
            }
        }
    }
    Ok(out)
}

/// Every `Cargo.toml` below `dir` (relative to `root`), outside build output and hidden folders.
fn manifests(root: &Path, dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() && !name.starts_with('.') && name != "target" {
            found.extend(manifests(root, &path));
        } else if name == "Cargo.toml" {
            found.push(path.strip_prefix(root).map_or_else(|_| path.clone(), Path::to_path_buf));
        }
    }
    found.sort();
    found
}

fn architecture_md(ws: &Workspace) -> Result<String, String> {
    ws.read(Path::new("ARCHITECTURE.md")).ok_or_else(|| "skipped: ARCHITECTURE.md does not exist yet".to_owned())
}

/// (j): the code map lists every crate, so a reader can find each one from it.
pub fn code_map_names_every_member(ws: &Workspace) -> Checked {
    let text = architecture_md(ws)?;
    let mut out = Vec::new();
    for p in &ws.packages {
        let path = slash(&p.dir);
        if !mentions(&text, &path) {
            out.push(Violation {
                rule: CODE_MAP,
                subject: p.describe(),
                message: format!("ARCHITECTURE.md does not mention `{path}`; add it to the code map"),
            });
        }
    }
    Ok(out)
}

/// Whether `text` names `path` as a whole path (not as a prefix of a longer name).
fn mentions(text: &str, path: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(path).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + path.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

/// (j): the code map names only paths that exist (it must not describe crates that moved).
pub fn code_map_paths_exist(ws: &Workspace) -> Checked {
    let text = architecture_md(ws)?;
    let mut out = Vec::new();
    let mut fenced = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        for span in line.split('`').skip(1).step_by(2) {
            let Some(path) = repo_path(span) else { continue };
            if !ws.root.join(path).exists() {
                out.push(Violation {
                    rule: CODE_MAP_TRUE,
                    subject: format!("ARCHITECTURE.md:{}", n + 1),
                    message: format!("`{span}` does not exist; update the code map"),
                });
            }
        }
    }
    Ok(out)
}

/// An inline-code span that is a concrete path into the repository (no placeholders).
fn repo_path(span: &str) -> Option<&str> {
    const TOPS: [&str; 7] = ["apis/", "crates/", "providers/", "distributions/", "xtask/", "tests/", "docs/"];
    let path = span.trim().split([':', '#']).next()?.trim_end_matches('/');
    let concrete = !path.contains(['<', '>', '*', '{', '}', ' ', '|', '$']) && !path.contains("...");
    (concrete && TOPS.iter().any(|t| path.starts_with(t) || format!("{path}/") == *t)).then_some(path)
}
