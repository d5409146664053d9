//! The Architecture Invariants of `ARCHITECTURE.md`, checked on every `cargo test`: one test per
//! rule, each failure naming the rule and the crate or file that breaks it.
#![allow(clippy::panic)] // assert_rule reports a test's failure by panicking, with the message

use std::sync::OnceLock;

use xtask::tidy::{Checked, Workspace, deps, layout, source};

fn workspace() -> Result<&'static Workspace, String> {
    static WORKSPACE: OnceLock<Result<Workspace, String>> = OnceLock::new();
    WORKSPACE.get_or_init(|| Workspace::load().map_err(|e| format!("{e:#}"))).as_ref().map_err(Clone::clone)
}

fn assert_rule(rule: &str, check: fn(&Workspace) -> Checked) {
    let ws = match workspace() {
        Ok(ws) => ws,
        Err(e) => panic!("{rule}: cannot read the workspace: {e}"),
    };
    match check(ws) {
        Ok(violations) => assert!(
            violations.is_empty(),
            "{rule}: {} violation(s):\n{}",
            violations.len(),
            violations.iter().map(|v| format!("  - {}: {}", v.subject, v.message)).collect::<Vec<_>>().join("\n")
        ),
        // A rule that cannot run (its input is missing) fails: a silent pass would hide it.
        Err(skip) => panic!("{rule}: could not be checked: {skip}"),
    }
}

#[test]
fn a_apis_depend_only_on_apis() {
    assert_rule(deps::APIS, deps::apis_depend_only_on_apis);
}

#[test]
fn b_providers_depend_on_contracts_only() {
    assert_rule(deps::PROVIDERS, deps::providers_depend_on_contracts_only);
}

#[test]
fn c_only_distributions_depend_on_providers() {
    assert_rule(deps::ONLY_DISTRIBUTIONS, deps::only_distributions_depend_on_providers);
}

#[test]
fn d_platform_never_depends_on_providers() {
    assert_rule(deps::PLATFORM, deps::platform_never_depends_on_providers);
}

#[test]
fn l_glue_depends_on_apis_and_glue() {
    assert_rule(deps::GLUE, deps::glue_depends_on_apis_and_glue);
}

#[test]
fn m_services_stand_alone() {
    assert_rule(deps::SERVICES, deps::services_stand_alone);
}

#[test]
fn n_testkit_is_never_shipped() {
    assert_rule(deps::TESTKIT, deps::testkit_is_never_shipped);
}

#[test]
fn o_every_crate_has_a_role() {
    assert_rule(deps::ROLES, deps::every_crate_has_a_role);
}

#[test]
fn e_provider_file_set() {
    assert_rule(layout::FILE_SET, layout::provider_file_set);
}

#[test]
fn f_provider_naming() {
    assert_rule(layout::NAMING, layout::provider_naming);
}

#[test]
fn g_cfg_feature_only_in_distributions() {
    assert_rule(source::CFG_FEATURE, source::cfg_feature_only_in_distributions);
}

#[test]
fn h_module_docs() {
    assert_rule(source::MODULE_DOCS, source::module_docs);
}

#[test]
fn i_no_todo_in_shipped_code() {
    assert_rule(source::NO_TODO, source::no_todo);
}

#[test]
fn p_background_work_is_supervised() {
    assert_rule(source::SUPERVISED, source::supervised_background_work);
}

#[test]
fn k_every_crate_is_a_member() {
    assert_rule(layout::MEMBERS, layout::every_crate_is_a_member);
}

#[test]
fn j_code_map_names_every_member() {
    assert_rule(layout::CODE_MAP, layout::code_map_names_every_member);
}

#[test]
fn j_code_map_paths_exist() {
    assert_rule(layout::CODE_MAP_TRUE, layout::code_map_paths_exist);
}

#[test]
fn every_rule_has_a_test() {
    // Keeps `cargo xtask tidy` and this file in step.
    assert_eq!(xtask::tidy::RULES.len(), 17, "a rule was added to RULES: add its #[test] here");
}
