//! The policy: run.yaml's rules in order, evaluated as 0.3.5's `is_action_allowed`, the 403
//! text of a refusal, and the database-side filter SQL stores apply for the default policy.

use std::sync::LazyLock;

use lls_api_common::access::{Action, OwnerFilter, ProtectedResource, User};
use lls_api_common::{Error, ErrorKind};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::rule::{AccessRule, Effect, Gate, Scope};

static DEFAULT_POLICY: LazyLock<[AccessRule; 1]> = LazyLock::new(|| [AccessRule::default_rule()]);

/// `server.auth.access_policy`: rules tested in order. Empty means 0.3.5's default policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    rules: Vec<AccessRule>,
}

impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Policy::new(Vec::deserialize(deserializer)?))
    }
}

impl Policy {
    pub fn new(rules: Vec<AccessRule>) -> Self {
        Policy { rules }
    }

    /// The rules as configured (empty: the default policy applies).
    pub fn rules(&self) -> &[AccessRule] {
        &self.rules
    }

    /// The rules evaluated: the configured ones, or the default policy's one rule.
    fn effective(&self) -> &[AccessRule] {
        if self.rules.is_empty() { &*DEFAULT_POLICY } else { &self.rules }
    }

    /// Whether this policy is the default one, written out or left empty; SQL stores filter
    /// in the database only then, as 0.3.5 does.
    pub fn is_default(&self) -> bool {
        match self.rules.as_slice() {
            [] => true,
            [rule] => rule.is_default_form,
            _ => false,
        }
    }

    /// 0.3.5's decision. No user (authentication off) → allowed. Otherwise the rules are tested
    /// in order against `"<type>::<identifier>"`; the first rule whose scope matches and whose
    /// gate lets it decide permits or forbids; a rule whose gate does not let it decide passes
    /// the question on. No rule deciding → denied.
    pub fn is_allowed(&self, action: Action, resource: &ProtectedResource<'_>, user: Option<&User>) -> bool {
        let Some(user) = user else {
            return true;
        };
        let qualified = resource.qualified_id();
        for rule in self.effective() {
            if !scope_matches(&rule.scope, action, &qualified, &user.principal) {
                continue;
            }
            let decides = match &rule.gate {
                Gate::Always => true,
                Gate::When(conditions) => conditions.iter().all(|c| c.matches(resource, user)),
                Gate::Unless(conditions) => !conditions.iter().all(|c| c.matches(resource, user)),
            };
            if decides {
                return rule.effect == Effect::Permit;
            }
        }
        false
    }

    /// [`Policy::is_allowed`] as a result: `Err` carries 0.3.5's refusal text.
    pub fn check(&self, action: Action, resource: &ProtectedResource<'_>, user: Option<&User>) -> Result<(), AccessDenied> {
        match user {
            Some(user) if !self.is_allowed(action, resource, Some(user)) => Err(AccessDenied::new(action, resource, user)),
            _ => Ok(()),
        }
    }

    /// What a SQL store filters in the database before checking each row it read with
    /// [`Policy::is_allowed`] (`Action::Read`, `sql_record::<table>`), as 0.3.5's
    /// `AuthorizedSqlStore` does. `None`: no database filter (a custom policy with a caller:
    /// every row is read and checked). Without a caller the filter is public rows only, for any
    /// policy, though [`Policy::is_allowed`] then allows everything: 0.3.5 hides rows written
    /// by an authenticated user from readers without one.
    pub fn sql_filter(&self, user: Option<&User>) -> Option<OwnerFilter> {
        let Some(user) = user else {
            return Some(OwnerFilter::public_only());
        };
        if !self.is_default() {
            return None;
        }
        let shared = user.attributes.iter().filter(|(_, values)| !values.is_empty()).map(|(k, v)| (k.clone(), v.clone()));
        Some(OwnerFilter { shared: shared.collect() })
    }
}

fn scope_matches(scope: &Scope, action: Action, qualified: &str, principal: &str) -> bool {
    if let Some(resource) = scope.resource.as_deref().filter(|r| !r.is_empty())
        && !resource_matches(resource, qualified)
    {
        return false;
    }
    if let Some(wanted) = scope.principal.as_deref().filter(|p| !p.is_empty())
        && wanted != principal
    {
        return false;
    }
    scope.actions.contains(&action)
}

/// `type::id` matches itself; `type::*` matches every id of the type, by prefix
/// (`sql_record::openai_files::*` matches every row of that table).
fn resource_matches(pattern: &str, qualified: &str) -> bool {
    pattern == qualified
        || pattern.strip_suffix('*').is_some_and(|prefix| prefix.ends_with("::") && qualified.starts_with(prefix))
}

/// A refused action, with 0.3.5's text: `User 'alice' (attributes: roles=['dev']) cannot
/// perform action 'delete' on resource 'model::m'`. As an [`Error`] it is a 403 whose message
/// starts with `Permission denied: `, as 0.3.5's server writes it. Attributes are listed in
/// name order (0.3.5: in the order authentication produced them).
///
/// Where 0.3.5 hides instead of refusing (a read of a registry object the caller may not read
/// is "not found"; listings drop what the caller may not read), services do the same and do
/// not use this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AccessDenied {
    message: String,
}

impl AccessDenied {
    pub fn new(action: Action, resource: &ProtectedResource<'_>, user: &User) -> Self {
        let mut who = format!("'{}'", user.principal);
        if !user.attributes.is_empty() {
            let attributes: Vec<String> = user
                .attributes
                .iter()
                .map(|(name, values)| {
                    let values = Value::from(values.iter().map(|v| Value::from(v.as_str())).collect::<Vec<_>>());
                    format!("{name}={}", lls_pycompat::repr(&values))
                })
                .collect();
            who.push_str(&format!(" (attributes: {})", attributes.join(", ")));
        }
        let message = format!(
            "User {who} cannot perform action '{action}' on resource '{}'",
            resource.qualified_id()
        );
        AccessDenied { message }
    }

    /// The text without the `Permission denied: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<AccessDenied> for Error {
    fn from(denied: AccessDenied) -> Self {
        Error::new(ErrorKind::Forbidden, format!("Permission denied: {}", denied.message))
    }
}

impl lls_api_common::access::AccessPolicy for Policy {
    fn is_allowed(&self, action: Action, resource: &ProtectedResource<'_>, user: &User) -> bool {
        Policy::is_allowed(self, action, resource, Some(user))
    }

    fn denied(&self, action: Action, resource: &ProtectedResource<'_>, user: &User) -> Error {
        AccessDenied::new(action, resource, user).into()
    }

    fn sql_filter(&self, user: &User) -> Option<OwnerFilter> {
        Policy::sql_filter(self, Some(user))
    }
}
