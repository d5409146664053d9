//! The tidy rules themselves, on a small synthetic workspace that breaks each of them once: a
//! rule that can never fire would pass forever and guard nothing.
#![allow(clippy::panic)] // the helpers report a test's failure by panicking, with the message

use std::path::Path;

use serde_json::{Value, json};
use xtask::tidy::{Checked, RULES, Workspace, deps, layout, source};

/// A feature cfg attribute, spelled in pieces so this file does not break rule (g) itself.
const CFG_FEATURE: &str = concat!("#[c", "fg(feature");
// Spelled in two pieces so this file does not trip rule (p) itself.
const SPAWN: &str = concat!("tokio::", "spawn(");

fn dep(root: &Path, name: &str, dir: &str, kind: Option<&str>, optional: bool) -> Value {
    json!({"name": name, "kind": kind, "optional": optional, "path": root.join(dir).display().to_string()})
}

fn package(root: &Path, name: &str, dir: &str, deps: Vec<Value>, features: Value) -> Value {
    let manifest = root.join(dir).join("Cargo.toml").display().to_string();
    json!({"id": name, "name": name, "manifest_path": manifest, "dependencies": deps, "features": features})
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A workspace with one broken thing per rule.
fn broken_workspace(root: &Path) -> Workspace {
    let r = root;
    let packages = vec![
        package(r, "lls-api-x", "apis/x", vec![dep(r, "lls-config", "crates/platform/config", None, false)], json!({})),
        package(r, "lls-config", "crates/platform/config", vec![dep(r, "lls-x-remote-a", "providers/x/remote-a", None, false)], json!({})),
        package(
            r,
            "lls-x-remote-a",
            "providers/x/remote-a",
            vec![dep(r, "lls-x-inline-b", "providers/x/inline-b", None, false)],
            json!({}),
        ),
        package(r, "lls-x-inline-b-wrong", "providers/x/inline-b", vec![], json!({})),
        package(r, "lls-glue-g", "crates/glue/g", vec![dep(r, "lls-config", "crates/platform/config", None, false)], json!({})),
        package(
            r,
            "lls-service-s",
            "crates/services/s",
            vec![
                dep(r, "lls-server", "crates/platform/server", None, false),
                dep(r, "lls-service-t", "crates/services/t", None, false),
                dep(r, "lls-testkit", "crates/testkit/testkit", None, false),
            ],
            json!({}),
        ),
        package(r, "lls-server", "crates/platform/server", vec![dep(r, "lls-service-s", "crates/services/s", None, false)], json!({})),
        package(r, "lls-misc", "crates/misc", vec![], json!({})),
        package(
            r,
            "lls-distribution-d",
            "distributions/d",
            vec![dep(r, "lls-x-remote-a", "providers/x/remote-a", None, false)],
            json!({"default": []}),
        ),
    ];
    let ids: Vec<&str> = vec![
        "lls-api-x",
        "lls-config",
        "lls-x-remote-a",
        "lls-x-inline-b-wrong",
        "lls-glue-g",
        "lls-service-s",
        "lls-server",
        "lls-misc",
        "lls-distribution-d",
    ];
    for p in &packages {
        if let Some(manifest) = p["manifest_path"].as_str() {
            write(r, &manifest[r.display().to_string().len() + 1..], "[package]\n");
        }
    }
    write(
        r,
        "apis/x/src/lib.rs",
        &format!("//! Contracts.\n{CFG_FEATURE} = \"x\")]\nfn f() {{ todo!() }}\nfn g() {{ {SPAWN}async {{}}); }}\n"),
    );
    write(r, "crates/platform/config/src/lib.rs", "fn undocumented() {}\n#[cfg(test)]\nmod tests { fn t() { todo!() } }\n");
    write(r, "providers/x/remote-a/src/lib.rs", "//! A.\npub const PROVIDER_TYPE: &str = \"remote::other\";\nregister_provider! {}\n");
    write(r, "providers/x/remote-a/README.md", "# a\n");
    write(r, "providers/x/remote-a/src/config.rs", "//! Config.\n");
    write(r, "providers/x/remote-a/tests/conformance.rs", "//! Suite.\nx_conformance!(a);\n");
    write(r, "providers/x/inline-b/src/lib.rs", "//! B.\n");
    write(r, "providers/x/remote-orphan/src/lib.rs", "//! Not a member.\n");
    write(r, "providers/x/remote-orphan/Cargo.toml", "[package]\n");
    write(
        r,
        "distributions/d/src/providers.rs",
        &format!("//! Links.\n{CFG_FEATURE} = \"x-remote-a\")]\nextern crate lls_x_remote_a as _;\n"),
    );
    write(r, "ARCHITECTURE.md", "- `apis/x` contracts\n- `crates/gone` moved away\n");
    let metadata = json!({"workspace_root": r.display().to_string(), "workspace_members": ids, "packages": packages});
    Workspace::from_metadata(&metadata).unwrap_or_else(|e| panic!("metadata: {e:#}"))
}

fn subjects(checked: Checked) -> Vec<String> {
    match checked {
        Ok(violations) => violations.into_iter().map(|v| format!("{} | {}", v.subject, v.message)).collect(),
        Err(skip) => panic!("rule skipped: {skip}"),
    }
}

fn assert_flags(checked: Checked, expected: &[&str]) {
    let found = subjects(checked);
    for e in expected {
        assert!(found.iter().any(|f| f.contains(e)), "expected a violation mentioning {e:?}; got {found:#?}");
    }
}

#[test]
fn every_rule_fires_on_a_broken_workspace() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let ws = broken_workspace(dir.path());
    assert_flags(deps::apis_depend_only_on_apis(&ws), &["lls-api-x (apis/x) | depends on lls-config"]);
    assert_flags(deps::providers_depend_on_contracts_only(&ws), &["lls-x-remote-a (providers/x/remote-a) | depends on lls-x-inline-b"]);
    assert_flags(deps::only_distributions_depend_on_providers(&ws), &["lls-config (crates/platform/config) | depends on the provider crate"]);
    assert_flags(deps::platform_never_depends_on_providers(&ws), &["lls-config (crates/platform/config) | depends on lls-x-remote-a"]);
    assert_flags(
        layout::provider_file_set(&ws),
        &["providers/x/inline-b) | README.md", "inline-b) | src/lib.rs declares no", "inline-b) | tests/conformance.rs"],
    );
    assert_flags(
        layout::provider_naming(&ws),
        &[
            "should be named `lls-x-inline-b`",
            "PROVIDER_TYPE is \"remote::other\"",
            "providers/x/remote-orphan |",
            "optional dependency",
            "no feature `x-remote-a`",
        ],
    );
    assert_flags(source::cfg_feature_only_in_distributions(&ws), &["apis/x/src/lib.rs:2"]);
    assert_flags(source::module_docs(&ws), &["crates/platform/config/src/lib.rs |"]);
    let todo = subjects(source::no_todo(&ws));
    assert!(todo.iter().any(|t| t.starts_with("apis/x/src/lib.rs:3")), "{todo:?}");
    assert!(!todo.iter().any(|t| t.starts_with("crates/platform/config")), "code after #[cfg(test)] is test code: {todo:?}");
    assert_flags(layout::code_map_names_every_member(&ws), &["crates/platform/config) | ARCHITECTURE.md does not mention"]);
    assert_flags(layout::code_map_paths_exist(&ws), &["ARCHITECTURE.md:2 | `crates/gone`"]);
    assert_flags(layout::every_crate_is_a_member(&ws), &["providers/x/remote-orphan | has a Cargo.toml"]);
    assert_flags(deps::platform_never_depends_on_providers(&ws), &["lls-server (crates/platform/server) | depends on lls-service-s"]);
    assert_flags(deps::glue_depends_on_apis_and_glue(&ws), &["lls-glue-g (crates/glue/g) | depends on lls-config"]);
    assert_flags(
        deps::services_stand_alone(&ws),
        &["lls-service-s (crates/services/s) | depends on lls-server", "lls-service-s (crates/services/s) | depends on lls-service-t"],
    );
    assert_flags(deps::testkit_is_never_shipped(&ws), &["lls-service-s (crates/services/s) | depends on lls-testkit"]);
    assert_flags(deps::every_crate_has_a_role(&ws), &["lls-misc (crates/misc) |"]);
    assert_flags(source::supervised_background_work(&ws), &["apis/x/src/lib.rs:4"]);
    assert_eq!(RULES.len(), 17);
}

#[test]
fn a_clean_provider_passes_the_layout_rules() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let r = dir.path();
    let packages = vec![package(r, "lls-x-remote-a", "providers/x/remote-a", vec![], json!({}))];
    write(r, "providers/x/remote-a/Cargo.toml", "[package]\n");
    write(r, "providers/x/remote-a/README.md", "# a\n");
    write(
        r,
        "providers/x/remote-a/src/lib.rs",
        "#![doc = include_str!(\"../README.md\")]\npub const PROVIDER_TYPE: &str = \"remote::a\";\nregister_provider! {}\n",
    );
    write(r, "providers/x/remote-a/src/config.rs", "//! Config.\n");
    write(r, "providers/x/remote-a/tests/conformance.rs", "//! Suite.\nx_conformance!(a);\n");
    let metadata = json!({"workspace_root": r.display().to_string(), "workspace_members": ["lls-x-remote-a"], "packages": packages});
    let ws = Workspace::from_metadata(&metadata).unwrap_or_else(|e| panic!("metadata: {e:#}"));
    for rule in RULES {
        if rule.name.starts_with("(j)") {
            assert!((rule.check)(&ws).is_err(), "without ARCHITECTURE.md the code-map rules skip");
        } else {
            assert_eq!(subjects((rule.check)(&ws)), Vec::<String>::new(), "{}", rule.name);
        }
    }
}
