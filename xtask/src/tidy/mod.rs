//! Architecture checks ("tidy"): the invariants of `ARCHITECTURE.md`, read from `cargo metadata`
//! and the source tree. `cargo test -p xtask` runs each rule as a test; `cargo xtask tidy` runs
//! them all. Every violation names the rule and the crate or file that breaks it.

pub mod deps;
pub mod layout;
pub mod source;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

/// Where a crate lives, by its folder: the top level, and inside `crates/` its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Apis,
    /// `crates/platform/*`: config, storage, registry, layers, http, server, cli.
    Platform,
    /// `crates/services/*`: one per API.
    Services,
    /// `crates/glue/*`: libraries a provider may use.
    Glue,
    /// `crates/testkit/*`: test code, never a normal dependency of shipped code.
    Testkit,
    /// Anything else under `crates/` (not allowed: every crate has a role).
    Crates,
    Providers,
    Distributions,
    Xtask,
    Other,
}

impl Area {
    fn of(rel: &Path) -> Area {
        let mut parts = rel.components().filter_map(|c| c.as_os_str().to_str());
        match parts.next() {
            Some("apis") => Area::Apis,
            Some("crates") => match parts.next() {
                Some("platform") => Area::Platform,
                Some("services") => Area::Services,
                Some("glue") => Area::Glue,
                Some("testkit") => Area::Testkit,
                _ => Area::Crates,
            },
            Some("providers") => Area::Providers,
            Some("distributions") => Area::Distributions,
            Some("xtask") => Area::Xtask,
            _ => Area::Other,
        }
    }
}

/// The kind of a dependency edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

/// One dependency of a workspace package.
#[derive(Debug, Clone)]
pub struct Dep {
    /// The package depended on (not the rename).
    pub name: String,
    pub kind: DepKind,
    pub optional: bool,
    /// For path dependencies: the folder, relative to the workspace root.
    pub path: Option<PathBuf>,
}

impl Dep {
    /// The area of a path dependency inside the workspace; `None` for third-party crates.
    pub fn area(&self) -> Option<Area> {
        self.path.as_deref().map(Area::of)
    }

    /// `lls-config (crates/config)`.
    pub fn describe(&self) -> String {
        let kind = match self.kind {
            DepKind::Normal => "",
            DepKind::Dev => " [dev]",
            DepKind::Build => " [build]",
        };
        match &self.path {
            Some(p) => format!("{} ({}){kind}", self.name, slash(p)),
            None => format!("{}{kind}", self.name),
        }
    }
}

/// One workspace member.
#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    /// Its folder, relative to the workspace root.
    pub dir: PathBuf,
    pub deps: Vec<Dep>,
    pub features: BTreeMap<String, Vec<String>>,
}

impl Package {
    pub fn area(&self) -> Area {
        Area::of(&self.dir)
    }

    /// `lls-server (crates/server)`.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.name, slash(&self.dir))
    }

    /// Dependencies on other crates of this repository.
    pub fn internal_deps(&self) -> impl Iterator<Item = (&Dep, Area)> {
        self.deps.iter().filter_map(|d| d.area().map(|a| (d, a)))
    }
}

/// The workspace as the rules see it.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub packages: Vec<Package>,
}

impl Workspace {
    /// Reads `cargo metadata --no-deps` (no network, no build).
    pub fn load() -> anyhow::Result<Workspace> {
        let output =
            crate::cargo_command().args(["metadata", "--format-version", "1", "--no-deps"]).output().context("running cargo metadata")?;
        if !output.status.success() {
            bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let metadata: Value = serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
        Workspace::from_metadata(&metadata)
    }

    /// Builds the model from `cargo metadata --format-version 1` JSON.
    pub fn from_metadata(metadata: &Value) -> anyhow::Result<Workspace> {
        let root = PathBuf::from(metadata["workspace_root"].as_str().context("no workspace_root")?);
        let members: Vec<&str> =
            metadata["workspace_members"].as_array().context("no workspace_members")?.iter().filter_map(Value::as_str).collect();
        let mut packages = Vec::new();
        for p in metadata["packages"].as_array().context("no packages")? {
            if !members.contains(&p["id"].as_str().unwrap_or_default()) {
                continue;
            }
            let manifest = Path::new(p["manifest_path"].as_str().context("package without manifest_path")?);
            let dir = relative(&root, manifest.parent().unwrap_or(manifest));
            let deps = p["dependencies"].as_array().map(Vec::as_slice).unwrap_or_default().iter().map(|d| dep(&root, d)).collect();
            let features = p["features"].as_object().map(|f| f.iter().map(|(k, v)| (k.clone(), strings(v))).collect()).unwrap_or_default();
            packages.push(Package { name: p["name"].as_str().unwrap_or_default().to_owned(), dir, deps, features });
        }
        packages.sort_by(|a, b| a.dir.cmp(&b.dir));
        Ok(Workspace { root, packages })
    }

    pub fn in_area(&self, area: Area) -> impl Iterator<Item = &Package> {
        self.packages.iter().filter(move |p| p.area() == area)
    }

    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// Reads a file relative to the root (`None` if it does not exist).
    pub fn read(&self, rel: &Path) -> Option<String> {
        std::fs::read_to_string(self.root.join(rel)).ok()
    }

    /// Every `.rs` file of the repository (relative paths, sorted), outside build output and
    /// hidden folders.
    pub fn rust_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        walk(&self.root, &self.root, &mut files);
        files.sort();
        files
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if !(name.starts_with('.') || name == "target" || name == "node_modules") {
                walk(root, &entry.path(), out);
            }
        } else if kind.is_file() && name.ends_with(".rs") {
            out.push(relative(root, &entry.path()));
        }
    }
}

fn dep(root: &Path, d: &Value) -> Dep {
    let kind = match d["kind"].as_str() {
        Some("dev") => DepKind::Dev,
        Some("build") => DepKind::Build,
        _ => DepKind::Normal,
    };
    Dep {
        name: d["name"].as_str().unwrap_or_default().to_owned(),
        kind,
        optional: d["optional"].as_bool().unwrap_or(false),
        path: d["path"].as_str().map(|p| relative(root, Path::new(p))),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default()
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

/// A path with `/` separators, as the rules print it.
pub fn slash(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule, as in `ARCHITECTURE.md` ("(a) apis/ depend only on apis/").
    pub rule: &'static str,
    /// The crate or file that breaks it.
    pub subject: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.rule, self.subject, self.message)
    }
}

/// A rule's answer: its violations, or why it could not run (`Err`: skipped, with the reason).
pub type Checked = Result<Vec<Violation>, String>;

/// A named rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub name: &'static str,
    pub check: fn(&Workspace) -> Checked,
}

/// Every rule, in the order `ARCHITECTURE.md` lists them.
pub const RULES: &[Rule] = &[
    Rule { name: deps::APIS, check: deps::apis_depend_only_on_apis },
    Rule { name: deps::PROVIDERS, check: deps::providers_depend_on_contracts_only },
    Rule { name: deps::ONLY_DISTRIBUTIONS, check: deps::only_distributions_depend_on_providers },
    Rule { name: deps::PLATFORM, check: deps::platform_never_depends_on_providers },
    Rule { name: deps::GLUE, check: deps::glue_depends_on_apis_and_glue },
    Rule { name: deps::SERVICES, check: deps::services_stand_alone },
    Rule { name: deps::TESTKIT, check: deps::testkit_is_never_shipped },
    Rule { name: deps::ROLES, check: deps::every_crate_has_a_role },
    Rule { name: layout::FILE_SET, check: layout::provider_file_set },
    Rule { name: layout::NAMING, check: layout::provider_naming },
    Rule { name: source::CFG_FEATURE, check: source::cfg_feature_only_in_distributions },
    Rule { name: source::MODULE_DOCS, check: source::module_docs },
    Rule { name: source::NO_TODO, check: source::no_todo },
    Rule { name: source::SUPERVISED, check: source::supervised_background_work },
    Rule { name: layout::CODE_MAP, check: layout::code_map_names_every_member },
    Rule { name: layout::CODE_MAP_TRUE, check: layout::code_map_paths_exist },
    Rule { name: layout::MEMBERS, check: layout::every_crate_is_a_member },
];
