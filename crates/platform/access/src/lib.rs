//! The access policy engine: run.yaml's `server.auth.access_policy` rules, checked and parsed
//! once when the config is read, evaluated with Llama Stack 0.3.5's semantics.
//!
//! - [`AccessRule`] deserialises from run.yaml's shape (`permit`/`forbid` with `principal`,
//!   `actions`, `resource`; `when`/`unless`; `description`) and refuses malformed rules.
//! - [`Condition`]: the six condition shapes (`user is owner`, `user in owners teams`, …).
//! - [`Policy::is_allowed`]: no user → allowed; no rules → the default policy; first deciding
//!   rule wins; none → denied. [`Policy::check`] returns [`AccessDenied`] (0.3.5's 403 text).
//! - [`Policy::sql_filter`]: the [`OwnerFilter`](lls_api_common::access::OwnerFilter) a SQL
//!   store applies in the database before checking each row.
//!
//! ```
//! use lls_access::Policy;
//! use lls_api_common::access::{Action, ProtectedResource, User};
//!
//! let policy: Policy = serde_json::from_value(serde_json::json!([
//!     {"permit": {"actions": ["read"], "resource": "model::*"}},
//!     {"permit": {"actions": ["create", "read", "update", "delete"]}, "when": "user is owner"},
//! ])).unwrap();
//! let alice = User::new("alice", Default::default());
//! let bob = User::new("bob", Default::default());
//! let model = ProtectedResource::new("model", "llama", Some(&alice));
//! assert!(policy.is_allowed(Action::Read, &model, Some(&bob)));
//! assert!(!policy.is_allowed(Action::Delete, &model, Some(&bob)));
//! assert!(policy.is_allowed(Action::Delete, &model, Some(&alice)));
//! ```

mod condition;
mod policy;
mod rule;

pub use condition::{Condition, InvalidCondition};
pub use policy::{AccessDenied, Policy};
pub use rule::{AccessRule, Effect, Gate, RuleError, Scope};

#[cfg(test)]
mod tests;
