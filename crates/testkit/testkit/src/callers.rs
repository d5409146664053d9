//! Request contexts acting for an authenticated caller, for tests of access control: a user
//! with attributes under the default policy or a custom one written as run.yaml's rules.

use std::sync::Arc;

use lls_api_common::access::{AccessAttributes, AccessPolicy, Caller, User};
use lls_api_common::{Error, RequestContext, Result};
use serde_json::{Value, json};

/// A context acting for `principal` with `attributes` (e.g. `&[("roles", &["admin"])]`)
/// under `policy`.
pub fn caller_ctx(
    principal: &str,
    attributes: &[(&str, &[&str])],
    policy: Arc<dyn AccessPolicy>,
) -> RequestContext {
    let attributes: AccessAttributes = attributes
        .iter()
        .map(|(name, values)| {
            (
                (*name).to_owned(),
                values.iter().map(|v| (*v).to_owned()).collect(),
            )
        })
        .collect();
    RequestContext::default().with_caller(Arc::new(Caller {
        user: User::new(principal, attributes),
        policy,
    }))
}

/// 0.3.5's default policy (what an empty `server.auth.access_policy` means).
pub fn default_policy() -> Arc<dyn AccessPolicy> {
    Arc::new(lls_access::Policy::default())
}

/// A custom policy from run.yaml's `access_policy` rules, as JSON.
pub fn policy(rules: Value) -> Result<Arc<dyn AccessPolicy>> {
    let policy: lls_access::Policy = serde_json::from_value(rules)
        .map_err(|e| Error::invalid(format!("bad access policy: {e}")))?;
    Ok(Arc::new(policy))
}

/// A custom policy: users with the `admin` role may do anything; everyone else only what they
/// own (so the database cannot filter for it: every row is checked).
pub fn admin_or_owner_policy() -> Result<Arc<dyn AccessPolicy>> {
    let all = ["create", "read", "update", "delete"];
    policy(json!([
        {"permit": {"actions": all}, "when": "user with admin in roles"},
        {"permit": {"actions": all}, "when": "user is owner"},
    ]))
}
