//! Reading rules from run.yaml, and the policy's decisions, table by table.

#![allow(clippy::unwrap_used, clippy::panic)]

use lls_api_common::access::{AccessAttributes, Action, OwnerFilter, ProtectedResource, User};
use lls_api_common::ErrorKind;

use crate::{AccessRule, Condition, Effect, Gate, Policy};

fn user(principal: &str, pairs: &[(&str, &[&str])]) -> User {
    let attributes: AccessAttributes =
        pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect();
    User::new(principal, attributes)
}

fn policy(yaml: &str) -> Policy {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

fn rule_error(yaml: &str) -> String {
    match serde_yaml::from_str::<AccessRule>(yaml) {
        Ok(rule) => panic!("{yaml} parsed: {rule:?}"),
        Err(e) => e.to_string(),
    }
}

// ---- reading rules -------------------------------------------------------------------------

#[test]
fn reads_every_field_in_both_spellings() {
    let rule: AccessRule = serde_yaml::from_str(
        "permit: {principal: alice, actions: [create, read], resource: 'model::*'}\n\
         when: [user is owner, user with admin in roles]\n\
         description: alice reads models she owns",
    )
    .unwrap();
    assert_eq!(rule.effect, Effect::Permit);
    assert_eq!(rule.scope.principal.as_deref(), Some("alice"));
    assert_eq!(rule.scope.actions, vec![Action::Create, Action::Read]);
    assert_eq!(rule.scope.resource.as_deref(), Some("model::*"));
    assert_eq!(
        rule.gate,
        Gate::When(vec![
            Condition::UserIsOwner,
            Condition::UserWithValueIn { value: "admin".into(), attribute: "roles".into() }
        ])
    );
    assert_eq!(rule.description.as_deref(), Some("alice reads models she owns"));

    let rule: AccessRule = serde_yaml::from_str("forbid: {actions: delete}\nunless: user is owner").unwrap();
    assert_eq!(rule.effect, Effect::Forbid);
    assert_eq!(rule.scope.actions, vec![Action::Delete]);
    assert_eq!(rule.scope.principal, None);
    assert_eq!(rule.gate, Gate::Unless(vec![Condition::UserIsOwner]));
}

#[test]
fn empty_conditions_are_no_conditions() {
    // 0.3.5 tests `when`/`unless` for truth, so "" and [] mean "always", and may sit together
    for yaml in [
        "permit: {actions: read}\nwhen: ''",
        "permit: {actions: read}\nwhen: []",
        "permit: {actions: read}\nunless: []",
        "permit: {actions: read}\nwhen: null",
        "permit: {actions: read}\nwhen: []\nunless: ''",
    ] {
        let rule: AccessRule = serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
        assert_eq!(rule.gate, Gate::Always, "{yaml}");
    }
    let rule: AccessRule = serde_yaml::from_str("permit: {actions: read}\nwhen: []\nunless: user is owner").unwrap();
    assert_eq!(rule.gate, Gate::Unless(vec![Condition::UserIsOwner]));
}

#[test]
fn refuses_malformed_rules() {
    let cases = [
        ("description: nothing", "a rule needs `permit` or `forbid`"),
        ("permit: null", "a rule needs `permit` or `forbid`"),
        ("permit: {actions: read}\nforbid: {actions: read}", "mutually exclusive"),
        ("permit: {actions: read}\nwhen: user is owner\nunless: user is owner", "`when` and `unless` are mutually exclusive"),
        ("permit: {actions: write}", "unknown variant `write`"),
        ("permit: {actions: [read, Write]}", "unknown variant `Write`"),
        ("permit: {actions: READ}", "unknown variant `READ`"),
        ("permit: {resource: 'model::*'}", "missing field `actions`"),
        ("permit: {actions: 3}", "a string or a list of strings"),
        ("permit: {actions: read}\nwhen: user in owner teams", "`when`: invalid condition \"user in owner teams\""),
        ("permit: {actions: read}\nunless: [user is owner, user is boss]", "`unless`: invalid condition \"user is boss\""),
        ("permit: {actions: read}\nwhen: ['']", "`when`: invalid condition \"\""),
        ("permit: {actions: read}\nwhen: {a: b}", "a string or a list of strings"),
        ("permit: {actions: read}\nwen: user is owner", "unknown field `wen`"),
        ("permit: {actions: read, principals: bob}", "unknown field `principals`"),
        ("permit: [read]", "invalid type: sequence, expected a mapping"),
        ("permit: 'read'", "invalid type"),
    ];
    for (yaml, expected) in cases {
        let err = rule_error(yaml);
        assert!(err.contains(expected), "{yaml}: {err}");
    }
}

#[test]
fn principal_must_be_a_string() {
    // the config crate hands rules over as JSON (serde_yaml alone would read 7 as "7")
    let err = serde_json::from_value::<AccessRule>(serde_json::json!({"permit": {"actions": "read", "principal": 7}}));
    assert!(err.unwrap_err().to_string().contains("invalid type: integer `7`, expected a string"));
}

#[test]
fn errors_carry_their_path() {
    let json = serde_json::json!([
        {"permit": {"actions": "read"}},
        {"forbid": {"actions": ["delete"]}, "when": ["user is owner", "user in owner teams"]},
    ]);
    let err = serde_path_to_error::deserialize::<_, Policy>(json).unwrap_err();
    assert_eq!(err.path().to_string(), "[1]");
    assert!(err.to_string().contains("invalid condition \"user in owner teams\""), "{err}");
    let json = serde_json::json!([{"permit": {"actions": ["read", "bogus"]}}]);
    let err = serde_path_to_error::deserialize::<_, Policy>(json).unwrap_err();
    assert_eq!(err.path().to_string(), "[0].permit.actions[1]");
}

#[test]
fn recognises_the_default_policy_written_out() {
    let written = "- permit: {actions: [create, read, update, delete]}\n  \
                   when: [user in owners roles, user in owners teams, user in owners projects, user in owners namespaces]";
    assert!(policy("[]").is_default());
    assert!(policy(written).is_default());
    assert_eq!(policy(written).rules()[0], AccessRule::default_rule());
    // 0.3.5 compares the rule field by field: any difference means a custom policy
    for other in [
        written.replace("[create, read, update, delete]", "[read, create, update, delete]"),
        written.replace("actions: [create", "principal: null, resource: '', actions: [create"),
        format!("{written}\n  description: the default"),
        format!("{written}\n  unless: ''"),
        written.replace("user in owners roles,", "user  in owners roles,"),
        written.replace("permit", "forbid"),
        format!("{written}\n{written}"),
        "- permit: {actions: read}".to_owned(),
    ] {
        assert!(!policy(&other).is_default(), "{other}");
    }
    assert!(policy(&written.replace("actions: [create", "principal: null, actions: [create")).is_default());
}

// ---- decisions -----------------------------------------------------------------------------

#[test]
fn no_user_means_allowed_whatever_the_policy() {
    let deny_all = policy("- forbid: {actions: [create, read, update, delete]}");
    let owner = user("alice", &[("roles", &["admin"])]);
    let resource = ProtectedResource::new("model", "m", Some(&owner));
    for action in Action::ALL {
        assert!(deny_all.is_allowed(action, &resource, None));
        assert!(Policy::default().is_allowed(action, &resource, None));
        assert!(deny_all.check(action, &resource, None).is_ok());
    }
}

#[test]
fn default_policy_shares_roles_teams_projects_and_namespaces() {
    type Attrs<'a> = &'a [(&'a str, &'a [&'a str])];
    let default = Policy::default();
    // (owner: None = unowned, caller attributes, allowed)
    let cases: &[(Option<Attrs>, Attrs, bool)] = &[
        (None, &[], true),                                              // startup resources: everyone
        (None, &[("roles", &["x"])], true),
        (Some(&[]), &[], true),                                         // owner without attributes
        (Some(&[("roles", &["dev"])]), &[("roles", &["dev", "x"])], true),
        (Some(&[("roles", &["dev"])]), &[("roles", &["ops"])], false),
        (Some(&[("roles", &["dev"])]), &[], false),
        (Some(&[("roles", &["dev"]), ("teams", &["ml"])]), &[("roles", &["dev"])], false),
        (Some(&[("roles", &["dev"]), ("teams", &["ml"])]), &[("roles", &["dev"]), ("teams", &["ml"])], true),
        (Some(&[("teams", &["ml"])]), &[("roles", &["dev"]), ("teams", &["ml"])], true), // no roles: vacuous
        (Some(&[("projects", &["p1", "p2"])]), &[("projects", &["p2"])], true),
        (Some(&[("namespaces", &["ns"])]), &[("namespaces", &["other"])], false),
        (Some(&[("namespaces", &[])]), &[], true),                      // empty list: vacuous
        (Some(&[("scopes", &["s"])]), &[], true),                       // other attributes do not count
    ];
    for (owner_attrs, caller_attrs, allowed) in cases {
        let owner = owner_attrs.map(|a| user("owner", a));
        let resource = ProtectedResource::new("vector_store", "vs_1", owner.as_ref());
        let caller = user("caller", caller_attrs);
        for action in Action::ALL {
            assert_eq!(
                default.is_allowed(action, &resource, Some(&caller)),
                *allowed,
                "{action} owner={owner_attrs:?} caller={caller_attrs:?}"
            );
        }
    }
}

#[test]
fn principal_resource_and_action_matching() {
    let p = policy(
        "- permit: {principal: alice, actions: [read, delete], resource: 'model::m1'}\n\
         - permit: {principal: bob, actions: read, resource: 'model::*'}\n\
         - permit: {actions: create, resource: 'sql_record::openai_files::*'}\n\
         - permit: {principal: '', actions: update, resource: ''}",
    );
    let alice = user("alice", &[]);
    let bob = user("bob", &[]);
    let carol = user("carol", &[]);
    let table = lls_api_common::access::sql_record_type("openai_files");
    let cases: &[(&User, Action, &str, &str, bool)] = &[
        (&alice, Action::Read, "model", "m1", true),
        (&alice, Action::Delete, "model", "m1", true),
        (&alice, Action::Create, "model", "m1", false),
        (&alice, Action::Read, "model", "m2", false),
        (&alice, Action::Read, "model", "m1x", false),
        (&bob, Action::Read, "model", "m1", true),
        (&bob, Action::Read, "model", "provider/with::colons", true),
        (&bob, Action::Read, "modelx", "m1", false),
        (&bob, Action::Read, "vector_store", "m1", false),
        (&bob, Action::Delete, "model", "m1", false),
        (&carol, Action::Read, "model", "m1", false),
        (&carol, Action::Create, &table, "file-1", true),
        (&carol, Action::Create, "sql_record", "openai_files", false),
        (&carol, Action::Update, "tool_group", "anything", true), // empty principal/resource: any
    ];
    for (who, action, type_, id, allowed) in cases {
        let resource = ProtectedResource::new(type_, id, None);
        assert_eq!(p.is_allowed(*action, &resource, Some(who)), *allowed, "{} {action} {type_}::{id}", who.principal);
    }
}

#[test]
fn wildcards_are_type_prefixes_only() {
    let bob = user("bob", &[]);
    let allowed = |pattern: &str, type_: &str, id: &str| {
        policy(&format!("- permit: {{actions: read, resource: '{pattern}'}}"))
            .is_allowed(Action::Read, &ProtectedResource::new(type_, id, None), Some(&bob))
    };
    assert!(allowed("model::*", "model", "x"));
    assert!(allowed("model::*", "model", ""));
    assert!(allowed("model::*", "model", "*"));
    assert!(allowed("model::ab*", "model", "ab*")); // exact only: `*` is a wildcard after `::` only
    assert!(!allowed("model::ab*", "model", "abc"));
    assert!(!allowed("model*", "model", "x"));
    assert!(!allowed("*", "model", "x"));
    assert!(!allowed("model::*", "models", "x"));
    assert!(allowed("sql_record::*", "sql_record::openai_files", "f"));
    assert!(allowed("sql_record::openai_files::*", "sql_record::openai_files", "f"));
}

#[test]
fn when_and_unless_decide_or_pass_the_question_on() {
    let admin = user("root", &[("roles", &["admin"])]);
    let dev = user("dev", &[("roles", &["dev"])]);
    let owner_of = |u: &User| u.clone();
    // forbid unless admin, then a permit for all
    let p = policy(
        "- forbid: {actions: [create, delete], resource: 'vector_store::*'}\n  unless: user with admin in roles\n\
         - permit: {actions: [create, read, update, delete]}",
    );
    let vs = ProtectedResource::new("vector_store", "vs", None);
    assert!(p.is_allowed(Action::Create, &vs, Some(&admin)));
    assert!(!p.is_allowed(Action::Create, &vs, Some(&dev)));
    assert!(p.is_allowed(Action::Read, &vs, Some(&dev)));
    assert!(p.is_allowed(Action::Delete, &ProtectedResource::new("model", "m", None), Some(&dev)));

    // when: all conditions must hold for the rule to decide
    let p = policy(
        "- permit: {actions: delete}\n  when: [user is owner, user with admin in roles]\n\
         - forbid: {actions: delete}\n  when: user is not owner\n\
         - permit: {actions: delete}",
    );
    let admin_owned = owner_of(&admin);
    let dev_owned = owner_of(&dev);
    let by_admin = ProtectedResource::new("model", "m", Some(&admin_owned));
    let by_dev = ProtectedResource::new("model", "m", Some(&dev_owned));
    assert!(p.is_allowed(Action::Delete, &by_admin, Some(&admin))); // rule 1
    assert!(!p.is_allowed(Action::Delete, &by_dev, Some(&admin))); // rule 2
    assert!(p.is_allowed(Action::Delete, &by_dev, Some(&dev))); // rule 1 passes, rule 2 passes, rule 3

    // unless: the rule decides when not every condition holds
    let p = policy("- permit: {actions: read}\n  unless: [user is owner, user with admin in roles]");
    assert!(!p.is_allowed(Action::Read, &by_admin, Some(&admin))); // both hold: passes on, denied
    assert!(p.is_allowed(Action::Read, &by_dev, Some(&admin))); // not owner
    assert!(p.is_allowed(Action::Read, &by_dev, Some(&dev))); // owner but not admin
}

#[test]
fn first_deciding_rule_wins_and_nothing_deciding_denies() {
    let u = user("u", &[("teams", &["a"])]);
    let r = ProtectedResource::new("model", "m", None);
    let cases = [
        ("- permit: {actions: read}\n- forbid: {actions: read}", true),
        ("- forbid: {actions: read}\n- permit: {actions: read}", false),
        ("- forbid: {actions: read}\n  when: user with b in teams\n- permit: {actions: read}", true),
        ("- permit: {actions: read}\n  when: user with b in teams\n- forbid: {actions: read}", false),
        ("- permit: {actions: create}", false),
        ("- permit: {principal: other, actions: read}", false),
        ("- permit: {actions: []}", false),
        ("- permit: {actions: read}\n  when: user with b in teams", false),
    ];
    for (yaml, allowed) in cases {
        assert_eq!(policy(yaml).is_allowed(Action::Read, &r, Some(&u)), allowed, "{yaml}");
    }
}

#[test]
fn owner_rules_from_the_upstream_docs() {
    // "any user has read access to any resource created by a member of their team", written
    // the way 0.3.5 parses it (`owners`)
    let p = policy(
        "- permit: {principal: user-1, actions: [create, read, delete], resource: 'model::*'}\n\
         - permit: {principal: user-2, actions: [read], resource: 'model::model-1'}\n\
         - permit: {actions: [read]}\n  when: user in owners teams",
    );
    let creator = user("user-3", &[("teams", &["red"])]);
    let reader = user("user-4", &[("teams", &["red", "blue"])]);
    let outsider = user("user-5", &[("teams", &["green"])]);
    let user2 = user("user-2", &[]);
    let doc = ProtectedResource::new("vector_store", "vs", Some(&creator));
    assert!(p.is_allowed(Action::Read, &doc, Some(&reader)));
    assert!(!p.is_allowed(Action::Read, &doc, Some(&outsider)));
    assert!(!p.is_allowed(Action::Delete, &doc, Some(&reader)));
    let m1 = ProtectedResource::new("model", "model-1", None);
    assert!(p.is_allowed(Action::Read, &m1, Some(&user2)));
    assert!(p.is_allowed(Action::Delete, &m1, Some(&user("user-1", &[]))));
    assert!(!p.is_allowed(Action::Delete, &m1, Some(&user2)));
}

// ---- refusals --------------------------------------------------------------------------------

#[test]
fn refusal_text_is_0_3_5_s() {
    let p = policy("- permit: {actions: read}");
    let resource = ProtectedResource::new("model", "llama", None);
    let u = user("alice", &[("teams", &["it's"]), ("roles", &["admin", "dev"])]);
    let denied = p.check(Action::Delete, &resource, Some(&u)).unwrap_err();
    assert_eq!(
        denied.message(),
        r#"User 'alice' (attributes: roles=['admin', 'dev'], teams=["it's"]) cannot perform action 'delete' on resource 'model::llama'"#
    );
    let error: lls_api_common::Error = denied.into();
    assert_eq!(error.kind(), ErrorKind::Forbidden);
    assert!(error.message().starts_with("Permission denied: User 'alice' (attributes: roles="), "{}", error.message());

    let plain = p.check(Action::Create, &ProtectedResource::new("sql_record::t", "1", None), Some(&user("bob", &[]))).unwrap_err();
    assert_eq!(plain.to_string(), "User 'bob' cannot perform action 'create' on resource 'sql_record::t::1'");
    assert!(p.check(Action::Read, &resource, Some(&u)).is_ok());
}

// ---- database-side filtering -------------------------------------------------------------------

#[test]
fn sql_filter_for_the_default_policy_only() {
    let reader = user("r", &[("roles", &["dev"]), ("teams", &[]), ("scopes", &["s"])]);
    let expected = OwnerFilter { shared: [("roles", "dev"), ("scopes", "s")].iter().map(|(k, v)| (k.to_string(), vec![v.to_string()])).collect() };
    assert_eq!(Policy::default().sql_filter(Some(&reader)), Some(expected));
    assert_eq!(Policy::new(vec![AccessRule::default_rule()]).sql_filter(Some(&reader)).map(|f| f.shared.len()), Some(2));
    assert_eq!(Policy::default().sql_filter(Some(&user("r", &[]))), Some(OwnerFilter::public_only()));
    let custom = policy("- permit: {actions: read}");
    assert_eq!(custom.sql_filter(Some(&reader)), None);
    // without a caller 0.3.5 reads public rows only, whatever the policy
    assert_eq!(custom.sql_filter(None), Some(OwnerFilter::public_only()));
    assert_eq!(Policy::default().sql_filter(None), Some(OwnerFilter::public_only()));
}

#[test]
fn sql_filter_then_policy_check_is_what_a_reader_sees() {
    use serde_json::json;
    // rows: (owner_principal, access_attributes)
    let rows = [
        ("", json!(null)),                                  // written without auth
        ("a", json!({"roles": ["dev"]})),
        ("b", json!({"roles": ["ops"]})),
        ("c", json!({"roles": ["dev"], "teams": ["ml"]})),
        ("d", json!({"roles": ["dev"], "scopes": ["other"]})),
        ("e", json!(null)),                                 // a user without attributes
    ];
    let visible = |policy: &Policy, reader: Option<&User>| -> Vec<&str> {
        let filter = policy.sql_filter(reader);
        rows.iter()
            .filter(|(principal, attrs)| filter.as_ref().is_none_or(|f| f.admits(Some(principal), attrs)))
            .filter(|(principal, attrs)| {
                let owner = User::from_columns(Some(principal), attrs);
                policy.is_allowed(Action::Read, &ProtectedResource::new("sql_record::t", "id", Some(&owner)), reader)
            })
            .map(|(principal, _)| *principal)
            .collect()
    };
    let default = Policy::default();
    let dev = user("x", &[("roles", &["dev"])]);
    assert_eq!(visible(&default, Some(&dev)), ["", "a", "d", "e"]);
    let dev_ml = user("x", &[("roles", &["dev"]), ("teams", &["ml"])]);
    assert_eq!(visible(&default, Some(&dev_ml)), ["", "a", "c", "d", "e"]);
    // 0.3.5's SQL narrows by every attribute the reader has
    let dev_scoped = user("x", &[("roles", &["dev"]), ("scopes", &["mine"])]);
    assert_eq!(visible(&default, Some(&dev_scoped)), ["", "a", "e"]);
    assert_eq!(visible(&default, None), ["", "e"]);
    assert_eq!(visible(&default, Some(&user("x", &[]))), ["", "e"]);
    let owners_only = policy("- permit: {actions: read}\n  when: user is owner");
    assert_eq!(visible(&owners_only, Some(&user("b", &[]))), ["b"]);
}
